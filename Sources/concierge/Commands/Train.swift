import ArgumentParser
import Foundation
import Store
import Triage

/// `concierge train`: trains the community model from the data pack.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the model on the community data pack.",
        discussion: """
        Reads intents/ (with staff corrections in intents/corrections/), keeps \
        the pack's held-out split aside, trains the encoder and its n-gram \
        branch from scratch on both cores with a progress bar, stops early on a \
        validation split, tunes the out-of-scope and P1 thresholds, and reports \
        on the held-out split. The model (model.safetensors) and its card \
        (card.json: config, data fingerprint, metrics, training time) go to \
        <home>/models/<key>/, where <key> is a hash of the data, the vocabulary \
        and the recipe: `concierge chat` and `concierge evaluate` use that model, \
        and an unchanged pack is not retrained (use --force).
        """
    )

    @OptionGroup var homeOptions: HomeOptions

    @OptionGroup var packOptions: PackOptions

    @Flag(help: "Train even when a model for this data already exists.")
    var force = false

    @Option(help: "Override the number of epochs (early stopping still applies).")
    var epochs: Int?

    @Option(help: "Override the random seed (same seed and data give the same model).")
    var seed: UInt64?

    @OptionGroup(title: "Experiments") var tuning: RecipeTuning

    @Flag(help: "Print the model card as JSON instead of the summary.")
    var json = false

    func run() throws {
        let files = try ProjectFiles.locate()
        let home = homeOptions.home
        try home.prepare()
        var recipe = TrainingRecipe.communityPack
        if let epochs { recipe.options.epochs = epochs }
        if let seed { recipe.options.seed = seed }
        tuning.apply(to: &recipe)
        let model = try CommunityModel.loadOrTrain(
            intents: packOptions.directory(files),
            vocabulary: files.vocabularyFile, modelsDirectory: home.modelsDirectory, retrain: force, recipe: recipe)
        if json {
            try printJSON(model.card)
            return
        }
        if !model.trainedNow {
            print("The model for this data already exists (use --force to retrain): \(model.directory.url.path)")
        }
        print(ModelSummary.render(model.card))
    }
}

/// The short human summary of a model card.
enum ModelSummary {
    static func render(_ card: ModelCard) -> String {
        var lines = [
            "model       \(card.modelKey)  (\(card.intentLabels.count) intents, priorities \(card.priorityLabels.joined(separator: " ")))",
            "data        \(card.source)  fingerprint \(card.dataFingerprint), vocabulary \(card.vocabHash)",
            "training    \(card.training.trainExamples) examples, \(card.training.validationExamples) validation; "
                + "\(card.training.epochsRun) epochs (best \(card.training.bestEpoch)) in \(ProgressBar.duration(card.training.seconds)), "
                + String(format: "%.0f sequences/s on %d cores", card.training.sequencesPerSecond, card.cores),
            String(format: "thresholds  out-of-scope %.3f, P1 %@", card.training.outOfScopeThreshold,
                   card.training.emergencyThreshold.map { String(format: "%.3f", $0) } ?? "none"),
        ]
        if let heldOut = card.heldOut {
            lines.append("held out    \(heldOut.intent.count) messages: accuracy \(percent(heldOut.intent.accuracy)), "
                + "macro-F1 \(percent(heldOut.intent.macroF1)), category accuracy \(heldOut.categoryAccuracy.map(percent) ?? "n/a"), "
                + "FAQ accuracy \(heldOut.faqAccuracy.map(percent) ?? "n/a")")
            lines.append("            priority accuracy \(heldOut.priority.map { percent($0.accuracy) } ?? "n/a"), "
                + "P1 recall \(heldOut.p1Recall.map(percent) ?? "n/a"), "
                + "out-of-scope recall \(heldOut.intent.outOfScope.map { percent($0.recall) } ?? "n/a")")
        }
        return lines.joined(separator: "\n")
    }
}
