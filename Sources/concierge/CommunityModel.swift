import DataPack
import Foundation
import Tokenizer
import Triage

extension CommunityModel {
    /// Loads the community's model, training it first (with a progress bar on
    /// stderr) when none exists for the current data.
    static func loadOrTrain(intents: URL, pack: DataPack? = nil, vocabulary: URL, modelsDirectory: URL, retrain: Bool = false,
                            recipe: TrainingRecipe = .communityPack, announce: Bool = true) throws -> CommunityModel {
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary)
        let bar = ProgressBar()
        return try loadOrTrain(intents: intents, pack: pack, tokenizer: tokenizer, modelsDirectory: modelsDirectory,
                               retrain: retrain, recipe: recipe) { event in
            switch event {
            case let .starting(train, validation, heldOut):
                if announce {
                    FileHandle.standardError.write(Data("""
                        Training the model for this community's data: \(train) examples, \(validation) for validation, \
                        \(heldOut) held out (\(ProcessInfo.processInfo.activeProcessorCount) cores).\n
                        """.utf8))
                }
            case .progress(let progress):
                bar.update(progress)
            case let .finished(card, directory):
                bar.finish()
                if announce {
                    let summary = card.training
                    FileHandle.standardError.write(Data("""
                        Trained in \(ProgressBar.duration(summary.seconds)) (best epoch \(summary.bestEpoch) of \(summary.epochsRun)); \
                        held-out accuracy \(card.heldOut.map { percent($0.intent.accuracy) } ?? "n/a"), \
                        P1 recall \(card.heldOut?.p1Recall.map(percent) ?? "n/a"). Saved to \(directory.url.path)\n
                        """.utf8))
                }
            }
        }
    }
}
