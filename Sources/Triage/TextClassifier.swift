import DataPack
import Foundation
import Model
import Tokenizer

/// A label and the probability the model gave it.
public struct ScoredLabel: Codable, Equatable, Sendable {
    public var label: String
    public var probability: Double

    public init(label: String, probability: Double) {
        self.label = label
        self.probability = probability
    }
}

/// What the classifier says about one message.
public struct TextPrediction: Codable, Equatable, Sendable {
    /// The decided intent: the top-scoring label, or the out-of-scope label
    /// when the model chose it or when the best in-scope probability is below
    /// the out-of-scope threshold.
    public var intent: String
    /// The probability of the top-scoring label (the model's confidence).
    public var confidence: Double
    /// True when the message was judged out of scope (trained class or threshold).
    public var outOfScope: Bool
    /// The best labels, most probable first (the out-of-scope label included).
    public var ranked: [ScoredLabel]
    /// The priority head's decision (meaningful for service requests), with
    /// every priority's probability, P1 first.
    public var priority: ScoredLabel?
    public var priorityProbabilities: [ScoredLabel]
}

/// The text-level intent classifier: tokenizer + n-gram featurizer +
/// ``IntentClassifier`` + the out-of-scope decision rule.
///
/// Heads: `intent` (service categories, conversational intents, `faq.<id>`,
/// and the out-of-scope label) and, when present, `priority` (P1–P4).
public final class TextClassifier: @unchecked Sendable {
    /// Head names.
    public static let intentHead = "intent"
    public static let priorityHead = "priority"

    /// The first (or only) member of the ensemble.
    public var model: IntentClassifier { members[0] }
    /// The ensemble: models of the same config trained with different seeds;
    /// their probabilities are averaged.
    public let members: [IntentClassifier]
    public let tokenizer: WordPieceTokenizer
    public let featurizer: NGramFeaturizer?
    /// The lexicon whose entries are features beside the n-grams (when
    /// `settings.lexicon` says the model was trained with one).
    public let lexicon: (any FeatureLexicon)?
    public let settings: ClassifierSettings

    public convenience init(model: IntentClassifier, tokenizer: WordPieceTokenizer, settings: ClassifierSettings,
                            lexicon: (any FeatureLexicon)? = nil) {
        self.init(members: [model], tokenizer: tokenizer, settings: settings, lexicon: lexicon)
    }

    /// - Precondition: `members` is not empty and all share one config and
    ///   label set; `lexicon` is given, with the fingerprint in
    ///   `settings.lexicon`, when the settings name one.
    public init(members: [IntentClassifier], tokenizer: WordPieceTokenizer, settings: ClassifierSettings,
                lexicon: (any FeatureLexicon)? = nil) {
        precondition(!members.isEmpty, "an ensemble needs at least one model")
        precondition(settings.lexicon == nil || settings.lexicon?.fingerprint == lexicon?.fingerprint,
                     "a classifier trained with lexicon features needs the same lexicon")
        self.members = members
        self.tokenizer = tokenizer
        self.settings = settings
        self.lexicon = settings.lexicon == nil ? nil : lexicon
        self.featurizer = settings.featurizer.map { NGramFeaturizer(config: $0, tokenizer: tokenizer) }
    }

    /// The labels of the intent head, in class order.
    public var intentLabels: [String] { model.labels[Self.intentHead] ?? [] }
    /// The labels of the priority head, in class order (empty without one).
    public var priorityLabels: [String] { model.labels[Self.priorityHead] ?? [] }

    /// The model's inputs for `texts`: token ids (with [CLS]/[SEP], truncated
    /// to the configured length; only those two when the encoder reads no
    /// words) and sparse features.
    public func inputs(_ texts: [String]) -> (tokenIDs: [[Int32]], sparse: [SparseVector]?) {
        let tokenIDs = settings.encoderReadsWords == false
            ? Array(repeating: tokenizer.encode("", maxLength: settings.maxLength).ids, count: texts.count)
            : texts.map { tokenizer.encode($0, maxLength: settings.maxLength).ids }
        let sparse = featurizer.map { featurizer in
            texts.map { text -> SparseVector in
                var features = featurizer.features(text)
                if let lexicon, let lexiconSettings = settings.lexicon {
                    features = Self.adding(lexicon.features(of: text), weight: lexiconSettings.weight,
                                           buckets: featurizer.config.buckets, to: features)
                }
                return SparseVector(indices: features.indices, values: features.values)
            }
        }
        return (tokenIDs, sparse)
    }

    /// Seed of the lexicon block's hash (the n-gram blocks have their own).
    static let lexiconHashSeed: UInt64 = 0x1E_C5_1C_0F

    /// `features` with each lexicon entry name hashed into a bucket of its own
    /// block, at `weight` (summed where buckets collide; indices stay sorted).
    static func adding(_ names: [String], weight: Float, buckets: Int, to features: SparseFeatures) -> SparseFeatures {
        guard !names.isEmpty else { return features }
        var merged: [Int32: Float] = [:]
        for (index, value) in zip(features.indices, features.values) { merged[index, default: 0] += value }
        for name in names {
            merged[Int32(StableHash.hash(name, seed: lexiconHashSeed) % UInt64(buckets)), default: 0] += weight
        }
        let indices = merged.keys.sorted()
        return SparseFeatures(indices: indices, values: indices.map { merged[$0]! })
    }

    /// Raw head probabilities for `texts`, head name → one row per text.
    public func probabilities(_ texts: [String], threads: Int = 2) throws -> [String: [[Float]]] {
        guard !texts.isEmpty else { return [:] }
        let (tokenIDs, sparse) = inputs(texts)
        var average = try members[0].predict(tokenIDs: tokenIDs, sparse: sparse, threads: threads)
        guard members.count > 1 else { return average }
        for member in members.dropFirst() {
            let heads = try member.predict(tokenIDs: tokenIDs, sparse: sparse, threads: threads)
            for (head, rows) in heads {
                guard var sum = average[head] else { continue }
                for row in rows.indices { for column in rows[row].indices { sum[row][column] += rows[row][column] } }
                average[head] = sum
            }
        }
        let scale = 1 / Float(members.count)
        for head in average.keys { average[head] = average[head]!.map { $0.map { $0 * scale } } }
        return average
    }

    /// Classifies `texts` (batched; order kept).
    public func classify(_ texts: [String], threshold: Double? = nil, threads: Int = 2, keep: Int = 5) throws -> [TextPrediction] {
        let heads = try probabilities(texts, threads: threads)
        let intentRows = heads[Self.intentHead] ?? []
        let priorityRows = heads[Self.priorityHead]
        return intentRows.indices.map { index in
            decide(intentRow: intentRows[index], priorityRow: priorityRows?[index],
                   threshold: threshold ?? settings.outOfScopeThreshold, keep: keep)
        }
    }

    /// Classifies one message.
    public func classify(_ text: String, threshold: Double? = nil) throws -> TextPrediction {
        try classify([text], threshold: threshold, threads: 1)[0]
    }

    /// The decision rule on one row of probabilities.
    public func decide(intentRow: [Float], priorityRow: [Float]?, threshold: Double, keep: Int = 5) -> TextPrediction {
        let labels = intentLabels
        let order = intentRow.indices.sorted { intentRow[$0] != intentRow[$1] ? intentRow[$0] > intentRow[$1] : $0 < $1 }
        let ranked = order.prefix(keep).map { ScoredLabel(label: labels[$0], probability: Double(intentRow[$0])) }
        let top = order[0]
        let outOfScopeLabel = settings.outOfScopeLabel
        var intent = labels[top]
        var outOfScope = intent == outOfScopeLabel
        if !outOfScope && Double(intentRow[top]) < threshold, let outOfScopeLabel {
            intent = outOfScopeLabel
            outOfScope = true
        }
        var priority: ScoredLabel?
        var priorityProbabilities: [ScoredLabel] = []
        if let priorityRow, !priorityLabels.isEmpty {
            priorityProbabilities = zip(priorityLabels, priorityRow).map { ScoredLabel(label: $0, probability: Double($1)) }
            priority = priorityProbabilities.max { $0.probability < $1.probability }
            // Missing an emergency is the worst error: P1 wins whenever its
            // probability reaches the (recall-tuned) P1 threshold.
            if let threshold = settings.emergencyThreshold,
               let emergency = priorityProbabilities.first(where: { $0.label == ClassifierSettings.emergencyPriority.rawValue }),
               emergency.probability >= threshold {
                priority = emergency
            }
        }
        return TextPrediction(intent: intent, confidence: Double(intentRow[top]), outOfScope: outOfScope,
                              ranked: ranked, priority: priority, priorityProbabilities: priorityProbabilities)
    }
}

/// How a ``TextClassifier`` turns text into model inputs and decisions.
/// Stored in the checkpoint (`extra["concierge.settings"]`), so a saved model
/// always runs with the featurizer and threshold it was trained and tuned with.
public struct ClassifierSettings: Codable, Equatable, Sendable {
    /// Tokens per message, [CLS] and [SEP] included.
    public var maxLength: Int
    /// The sparse n-gram features, or nil when the model has no sparse branch.
    public var featurizer: NGramFeaturizerConfig?
    /// The out-of-scope label of the intent head (nil when the task has none).
    public var outOfScopeLabel: String?
    /// A message whose best in-scope probability is below this is out of scope
    /// (0 = only the trained out-of-scope class decides).
    public var outOfScopeThreshold: Double
    /// The priority is P1 whenever P1's probability reaches this, even when
    /// another priority is more probable (nil = plain arg-max). Tuned on the
    /// validation split for P1 recall.
    public var emergencyThreshold: Double?
    /// Number of ensemble members (files `model.safetensors`, `model.2.safetensors`, …).
    public var ensembleSize: Int = 1
    /// The lexicon the model reads as features (nil = n-grams only).
    public var lexicon: LexiconFeatureSettings? = nil
    /// False when the encoder is shown no words (the n-grams-only ablation,
    /// ``TrainingRecipe/encoderReadsWords``); nil means true.
    public var encoderReadsWords: Bool? = nil

    /// The priority label an ``emergencyThreshold`` applies to.
    public static let emergencyPriority = Priority.p1

    public init(maxLength: Int = 48, featurizer: NGramFeaturizerConfig? = .standard,
                outOfScopeLabel: String?, outOfScopeThreshold: Double = 0, emergencyThreshold: Double? = nil) {
        self.maxLength = maxLength
        self.featurizer = featurizer
        self.outOfScopeLabel = outOfScopeLabel
        self.outOfScopeThreshold = outOfScopeThreshold
        self.emergencyThreshold = emergencyThreshold
    }

    static let metadataKey = "concierge.settings"
}

/// Named features of a message beside its n-grams, as Rasa's regex and
/// lookup-table features: the model sees which reviewed phrases a message
/// contains (the community model: which safety rules fire on it).
public protocol FeatureLexicon: Sendable {
    /// Changes whenever `features(of:)` could. A model trained with a lexicon
    /// is only used with a lexicon of the same fingerprint.
    var fingerprint: String { get }
    /// The names of the entries `text` contains.
    func features(of text: String) -> [String]
}

/// How a model reads its ``FeatureLexicon``: stored in its settings.
public struct LexiconFeatureSettings: Codable, Equatable, Sendable {
    /// The lexicon's ``FeatureLexicon/fingerprint`` at training time.
    public var fingerprint: String
    /// The value of an entry's feature (the word and character n-gram blocks
    /// each have unit L2 norm).
    public var weight: Float

    public init(fingerprint: String, weight: Float) {
        self.fingerprint = fingerprint
        self.weight = weight
    }
}

/// A classifier that cannot be loaded.
public struct ClassifierLoadError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension TextClassifier {
    /// The file of ensemble member `index` for a checkpoint at `url`
    /// (`model.safetensors`, `model.2.safetensors`, …).
    public static func memberURL(_ url: URL, index: Int) -> URL {
        guard index > 0 else { return url }
        let base = url.deletingPathExtension()
        return base.appendingPathExtension("\(index + 1)").appendingPathExtension(url.pathExtension)
    }

    /// Writes the checkpoint (safetensors, settings in its metadata), one file
    /// per ensemble member beside it.
    public func save(to url: URL, extraMetadata: [String: String] = [:]) throws {
        var stored = settings
        stored.ensembleSize = members.count
        // Sorted keys: the same model is the same file, whichever process wrote it.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let storedJSON = String(decoding: try encoder.encode(stored), as: UTF8.self)
        for (index, member) in members.enumerated().reversed() {
            var extra = member.extra.merging(extraMetadata) { $1 }
            extra[ClassifierSettings.metadataKey] = storedJSON
            let checkpoint = ClassifierCheckpoint(weights: member.weights, labels: member.labels,
                                                  vocabHash: tokenizer.vocabulary.hash, extra: extra)
            try checkpoint.save(to: Self.memberURL(url, index: index))
        }
    }

    /// Loads a checkpoint written by ``save(to:extraMetadata:)`` for
    /// `tokenizer`'s vocabulary (and `lexicon`, when it was trained with one).
    public convenience init(checkpoint url: URL, tokenizer: WordPieceTokenizer, lexicon: (any FeatureLexicon)? = nil) throws {
        let checkpoint = try ClassifierCheckpoint.load(from: url, expectedVocabHash: tokenizer.vocabulary.hash)
        guard let json = checkpoint.extra[ClassifierSettings.metadataKey] else {
            throw ClassifierLoadError(message: "\(url.path): not a Concierge text classifier (no \(ClassifierSettings.metadataKey) in its metadata)")
        }
        let settings: ClassifierSettings
        do {
            settings = try JSONDecoder().decode(ClassifierSettings.self, from: Data(json.utf8))
        } catch {
            throw ClassifierLoadError(message: "\(url.path): unreadable \(ClassifierSettings.metadataKey) metadata (\(error))")
        }
        guard checkpoint.labels[Self.intentHead] != nil else {
            throw ClassifierLoadError(message: "\(url.path): the checkpoint has no '\(Self.intentHead)' head")
        }
        if let featurizer = settings.featurizer, featurizer.buckets != checkpoint.config.sparse?.buckets {
            throw ClassifierLoadError(message: "\(url.path): featurizer has \(featurizer.buckets) buckets but the sparse branch \(checkpoint.config.sparse?.buckets ?? 0)")
        }
        if let expected = settings.lexicon, expected.fingerprint != lexicon?.fingerprint {
            throw ClassifierLoadError(message: "\(url.path): trained with lexicon features \(expected.fingerprint) "
                + "but given \(lexicon.map { "lexicon \($0.fingerprint)" } ?? "no lexicon"): retrain it")
        }
        var members = [IntentClassifier(checkpoint: checkpoint)]
        for index in 1..<max(1, settings.ensembleSize) {
            let memberURL = Self.memberURL(url, index: index)
            let member = try ClassifierCheckpoint.load(from: memberURL, expectedVocabHash: tokenizer.vocabulary.hash)
            guard member.config == checkpoint.config, member.labels == checkpoint.labels else {
                throw ClassifierLoadError(message: "\(memberURL.path): ensemble member differs in config or labels from \(url.lastPathComponent)")
            }
            members.append(IntentClassifier(checkpoint: member))
        }
        self.init(members: members, tokenizer: tokenizer, settings: settings, lexicon: lexicon)
    }
}
