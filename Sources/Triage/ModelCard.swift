import Evaluation
import Foundation
import Model
import Tokenizer

/// Metrics of a trained model on the held-out split of its data pack.
public struct HeldOutMetrics: Codable, Equatable, Sendable {
    /// The intent head (categories, conversation, FAQs, out-of-scope).
    public var intent: ClassificationReport
    /// Service requests only: category accuracy among the category examples.
    public var categoryAccuracy: Double?
    /// Service requests only: the priority head.
    public var priority: ClassificationReport?
    /// Recall of P1 emergencies (missing one is the worst error).
    public var p1Recall: Double?
    /// FAQ questions only: accuracy of the FAQ answered.
    public var faqAccuracy: Double?
}

/// The JSON card written beside every trained model (`card.json`): what it
/// was trained on, how, how long it took, and how well it does.
public struct ModelCard: Codable, Equatable, Sendable {
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// The cache key: data fingerprint + vocabulary + recipe + format.
    public var modelKey: String
    public var createdAt: Date
    /// What the model learned from (a pack folder or a benchmark name).
    public var source: String
    public var dataFingerprint: String
    public var vocabHash: String
    public var recipe: TrainingRecipe
    public var config: ClassifierConfig
    public var intentLabels: [String]
    public var priorityLabels: [String]
    public var training: TrainingSummary
    public var heldOut: HeldOutMetrics?
    /// Processor cores seen by the trainer.
    public var cores: Int

    public init(modelKey: String, source: String, dataFingerprint: String, vocabHash: String, recipe: TrainingRecipe,
                classifier: TextClassifier, training: TrainingSummary, heldOut: HeldOutMetrics?) {
        formatVersion = Self.currentFormatVersion
        self.modelKey = modelKey
        createdAt = Date()
        self.source = source
        self.dataFingerprint = dataFingerprint
        self.vocabHash = vocabHash
        self.recipe = recipe
        config = classifier.model.config
        intentLabels = classifier.intentLabels
        priorityLabels = classifier.priorityLabels
        self.training = training
        self.heldOut = heldOut
        cores = ProcessInfo.processInfo.activeProcessorCount
    }

    /// The cache key of a model trained with `recipe` on data with
    /// `dataFingerprint` and the vocabulary `vocabHash`.
    public static func key(dataFingerprint: String, vocabHash: String, recipe: TrainingRecipe) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let recipeJSON = try encoder.encode(recipe)
        var state = StableHash.fnv1a("card-\(currentFormatVersion)|\(dataFingerprint)|\(vocabHash)|".utf8)
        state = StableHash.fnv1a(recipeJSON, state: state)
        return StableHash.hex(StableHash.mix(state))
    }
}

/// Trained models on disk: `<models>/<key>/model.safetensors` + `card.json`.
public struct ModelDirectory: Sendable {
    public static let checkpointName = "model.safetensors"
    public static let cardName = "card.json"

    public let url: URL

    public init(url: URL) { self.url = url }

    /// The model with `key` under `modelsDirectory`.
    public init(modelsDirectory: URL, key: String) {
        url = modelsDirectory.appendingPathComponent(key, isDirectory: true)
    }

    public var checkpointURL: URL { url.appendingPathComponent(Self.checkpointName) }
    public var cardURL: URL { url.appendingPathComponent(Self.cardName) }

    /// True when both files exist.
    public var isComplete: Bool {
        FileManager.default.fileExists(atPath: checkpointURL.path) && FileManager.default.fileExists(atPath: cardURL.path)
    }

    /// Writes the model and its card. The checkpoint is written first and the
    /// card last, each atomically, so a half-written model is never complete.
    public func write(_ classifier: TextClassifier, card: ModelCard) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try classifier.save(to: checkpointURL, extraMetadata: ["concierge.model_key": card.modelKey])
        try Self.encoder.encode(card).write(to: cardURL, options: .atomic)
    }

    /// Reads the card.
    public func card() throws -> ModelCard {
        do {
            return try Self.decoder.decode(ModelCard.self, from: Data(contentsOf: cardURL))
        } catch {
            throw ClassifierLoadError(message: "\(cardURL.path): cannot read the model card (\(error))")
        }
    }

    /// Loads the model for `tokenizer` (and `lexicon`, when it reads one).
    public func load(tokenizer: WordPieceTokenizer, lexicon: (any FeatureLexicon)? = nil) throws -> (classifier: TextClassifier, card: ModelCard) {
        let card = try card()
        return (try TextClassifier(checkpoint: checkpointURL, tokenizer: tokenizer, lexicon: lexicon), card)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
