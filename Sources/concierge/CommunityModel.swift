import DataPack
import Foundation
import Tokenizer
import Triage

/// The community's trained model: found in the models directory under the
/// key of (data pack fingerprint, vocabulary, recipe), or trained now.
struct CommunityModel {
    var classifier: TextClassifier
    var card: ModelCard
    var directory: ModelDirectory
    var trainedNow: Bool

    /// Loads the model for the current data, training it first when none exists
    /// (or when `retrain` is set).
    static func loadOrTrain(intents: URL, vocabulary: URL, modelsDirectory: URL, retrain: Bool = false,
                            recipe: TrainingRecipe = .communityPack, announce: Bool = true) throws -> CommunityModel {
        let (pack, _) = try DataPackLoader.load(directory: intents)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary)
        let fingerprint = try DataPackLoader.fingerprint(directory: intents)
        let key = try ModelCard.key(dataFingerprint: fingerprint, vocabHash: tokenizer.vocabulary.hash, recipe: recipe)
        let directory = ModelDirectory(modelsDirectory: modelsDirectory, key: key)
        if directory.isComplete && !retrain {
            let (classifier, card) = try directory.load(tokenizer: tokenizer)
            return CommunityModel(classifier: classifier, card: card, directory: directory, trainedNow: false)
        }

        let data = PackTrainingData(pack: pack)
        if announce {
            FileHandle.standardError.write(Data("""
                Training the model for \(pack.community.name[.en] ?? pack.community.name.values.first ?? "the community"): \(data.train.count) examples, \
                \(data.validation.count) for validation, \(data.heldOut.count) held out \
                (\(ProcessInfo.processInfo.activeProcessorCount) cores).\n
                """.utf8))
        }
        let bar = ProgressBar()
        let (classifier, summary) = try ClassifierTraining.train(
            train: data.train, validation: data.validation, tokenizer: tokenizer, recipe: recipe,
            outOfScopeLabel: DataPack.outOfScopeLabel, progress: { bar.update($0) })
        bar.finish()
        let heldOut = try HeldOutMetrics.evaluate(classifier, on: data.heldOut,
                                                  serviceCategories: Set(pack.categories.map(\.id)))
        let card = ModelCard(modelKey: key, source: intents.path, dataFingerprint: fingerprint,
                             vocabHash: tokenizer.vocabulary.hash, recipe: recipe, classifier: classifier,
                             training: summary, heldOut: heldOut)
        try directory.write(classifier, card: card)
        if announce {
            FileHandle.standardError.write(Data("""
                Trained in \(ProgressBar.duration(summary.seconds)) (best epoch \(summary.bestEpoch) of \(summary.epochsRun)); \
                held-out accuracy \(percent(heldOut.intent.accuracy)), P1 recall \(heldOut.p1Recall.map(percent) ?? "n/a"). \
                Saved to \(directory.url.path)\n
                """.utf8))
        }
        return CommunityModel(classifier: classifier, card: card, directory: directory, trainedNow: true)
    }
}
