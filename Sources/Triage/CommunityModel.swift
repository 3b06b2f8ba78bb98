import DataPack
import Foundation
import Tokenizer
import Training

/// The community's trained model: found in the models directory under the key
/// of (data pack fingerprint, vocabulary, recipe), or trained now and saved
/// there. The first `concierge chat`, `concierge train` and the conversation
/// tests all get their model this way.
public struct CommunityModel: Sendable {
    public var classifier: TextClassifier
    public var card: ModelCard
    public var directory: ModelDirectory
    /// True when no saved model matched and this one was trained now.
    public var trainedNow: Bool

    /// What happens while training, for a progress display.
    public enum Event: Sendable {
        /// Training is about to start (train, validation and held-out sizes).
        case starting(train: Int, validation: Int, heldOut: Int)
        case progress(TrainingProgress)
        /// Trained and saved (where); the held-out metrics are in the card.
        case finished(ModelCard, ModelDirectory)
    }

    /// Loads the model for the pack in `intents`, training it first when none
    /// exists for the current data (or when `retrain` is set). `pack` is that
    /// pack when the caller has already loaded it (it is read otherwise).
    public static func loadOrTrain(intents: URL, pack preloaded: DataPack? = nil, tokenizer: WordPieceTokenizer,
                                   modelsDirectory: URL, retrain: Bool = false, recipe: TrainingRecipe = .communityPack,
                                   events: (@Sendable (Event) -> Void)? = nil) throws -> CommunityModel {
        let pack = try preloaded ?? DataPackLoader.load(directory: intents).pack
        // A model that reads the safety rules as features depends on them too.
        let lexicon: SafetyRules? = recipe.lexiconFeatureWeight == nil ? nil : SafetyRules(pack: pack)
        var fingerprint = try DataPackLoader.fingerprint(directory: intents)
        if let lexicon { fingerprint += "+" + lexicon.fingerprint }
        let key = try ModelCard.key(dataFingerprint: fingerprint, vocabHash: tokenizer.vocabulary.hash, recipe: recipe)
        let directory = ModelDirectory(modelsDirectory: modelsDirectory, key: key)
        if directory.isComplete && !retrain {
            let (classifier, card) = try directory.load(tokenizer: tokenizer, lexicon: lexicon)
            return CommunityModel(classifier: classifier, card: card, directory: directory, trainedNow: false)
        }

        let data = PackTrainingData(pack: pack)
        events?(.starting(train: data.train.count, validation: data.validation.count, heldOut: data.heldOut.count))
        let (classifier, summary) = try ClassifierTraining.train(
            train: data.train, validation: data.validation, tokenizer: tokenizer, recipe: recipe,
            outOfScopeLabel: DataPack.outOfScopeLabel, lexicon: lexicon, progress: { events?(.progress($0)) })
        let heldOut = try HeldOutMetrics.evaluate(classifier, on: data.heldOut,
                                                  serviceCategories: Set(pack.categories.map(\.id)))
        let card = ModelCard(modelKey: key, source: intents.path, dataFingerprint: fingerprint,
                             vocabHash: tokenizer.vocabulary.hash, recipe: recipe, classifier: classifier,
                             training: summary, heldOut: heldOut)
        try directory.write(classifier, card: card)
        events?(.finished(card, directory))
        return CommunityModel(classifier: classifier, card: card, directory: directory, trainedNow: true)
    }
}

extension Triager {
    /// The triage for a community: its model, its pack's categories and safety
    /// rules, and the confidence thresholds tuned on the pack's validation split.
    public convenience init(model: CommunityModel, pack: DataPack, safety: (any SafetyScreen)?) throws {
        let validation = PackTrainingData(pack: pack).validation
        let thresholds = try DecisionThresholds.tune(model.classifier, validation: validation)
        self.init(classifier: model.classifier, pack: pack, thresholds: thresholds, safety: safety)
    }
}
