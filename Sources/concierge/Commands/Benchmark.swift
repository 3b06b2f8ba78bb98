import ArgumentParser
import Evaluation
import Foundation
import Tokenizer
import Triage

/// `concierge benchmark`: the public intent benchmarks, trained from scratch.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate on a public intent benchmark (CLINC150 or BANKING77).",
        discussion: """
        Trains from scratch on the official train split (a WordPiece vocabulary \
        learned from it, the encoder and its n-gram branch), stops early and \
        tunes the out-of-scope threshold on the validation split only, then \
        reports on the test split the metrics the papers report: CLINC150 \
        (Larson et al., 2019) in-scope accuracy and out-of-scope recall; \
        BANKING77 (Casanueva et al., 2020) accuracy. Also macro-F1 and the \
        training time. The datasets are read where they are (never copied): \
        --data ../shared/datasets/clinc150. Build with -c release.
        """
    )

    enum Dataset: String, ExpressibleByArgument, CaseIterable {
        case clinc150, banking77
    }

    @Argument(help: "Which benchmark: clinc150 or banking77.")
    var dataset: Dataset

    @Option(help: "The dataset folder (default: ../shared/datasets/<name> beside the checkout).")
    var data: String?

    @Option(help: "CLINC150 variant: full, small, imbalanced or oos_plus.")
    var variant = "full"

    @Option(help: "Override the number of epochs (early stopping still applies).")
    var epochs: Int?

    @Option(help: "Random seed.")
    var seed: UInt64?

    /// Which parts of the model read the text (an ablation).
    enum Branches: String, ExpressibleByArgument, CaseIterable {
        /// The token encoder and the n-gram branch.
        case both
        /// The token encoder alone (no n-gram branch).
        case encoder
        /// The n-gram branch alone (the encoder is shown no words).
        case ngrams
    }

    @Option(help: "Which branches read the text: both, encoder (the token encoder; no n-gram branch) or ngrams (the n-gram branch; the encoder is shown no words).")
    var branches = Branches.both

    @OptionGroup(title: "Experiments") var tuning: RecipeTuning

    @Flag(help: "Print the results as JSON.")
    var json = false

    func run() throws {
        let files = try? ProjectFiles.locate()
        let location = data.map { URL(fileURLWithPath: $0) }
            ?? (files?.root ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                .deletingLastPathComponent().appendingPathComponent("shared/datasets/\(dataset.rawValue)")
        let benchmark: BenchmarkDataset
        do {
            switch dataset {
            case .clinc150: benchmark = try BenchmarkDatasets.clinc150(at: location, variant: variant)
            case .banking77: benchmark = try BenchmarkDatasets.banking77(at: location)
            }
        } catch let error as DatasetError {
            throw CLIError(error.description)
        }

        var recipe = TrainingRecipe.benchmark
        if let epochs { recipe.options.epochs = epochs }
        if let seed { recipe.options.seed = seed }
        tuning.apply(to: &recipe)
        switch branches {
        case .both: break
        case .encoder: recipe.sparseWidth = 0
        case .ngrams: recipe.encoderReadsWords = false
        }

        let log = { (text: String) in if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        log("\(benchmark.name): \(benchmark.train.count) train, \(benchmark.validation.count) validation (\(benchmark.validationSource)), \(benchmark.test.count) test, \(benchmark.labelCount) labels")

        let started = Date()
        let vocabularyTokens = VocabularyBuilder(targetSize: 8000, minimumFrequency: 2).build(texts: benchmark.train.map(\.text))
        let tokenizer = WordPieceTokenizer(vocabulary: try Vocabulary(tokens: vocabularyTokens))
        let vocabularySeconds = Date().timeIntervalSince(started)
        log("vocabulary: \(tokenizer.vocabulary.count) tokens learned from the train split in \(String(format: "%.1f", vocabularySeconds)) s")

        let bar = ProgressBar()
        let examples = { (rows: [LabeledText]) in rows.map { TextExample(text: $0.text, intent: $0.label) } }
        let (classifier, summary) = try ClassifierTraining.train(
            train: examples(benchmark.train), validation: examples(benchmark.validation), tokenizer: tokenizer,
            recipe: recipe, outOfScopeLabel: benchmark.outOfScopeLabel,
            progress: { progress in if !json { bar.update(progress) } })
        if !json { bar.finish() }
        let trainingSeconds = Date().timeIntervalSince(started)

        let testTexts = benchmark.test.map(\.text)
        let gold = benchmark.test.map(\.label)
        let predicted = try classifier.classify(testTexts)
        let report = try ClassificationReport(gold: gold, predicted: predicted.map(\.intent),
                                              confidence: predicted.map(\.confidence), outOfScopeLabel: benchmark.outOfScopeLabel)
        var classOnly: ClassificationReport?
        if benchmark.outOfScopeLabel != nil {
            let plain = try classifier.classify(testTexts, threshold: 0)
            classOnly = try ClassificationReport(gold: gold, predicted: plain.map(\.intent),
                                                 confidence: plain.map(\.confidence), outOfScopeLabel: benchmark.outOfScopeLabel)
        }
        let result = BenchmarkResult(
            benchmark: benchmark.name, trainingSeconds: trainingSeconds, cores: ProcessInfo.processInfo.activeProcessorCount,
            recipe: recipe, branches: branches.rawValue, training: summary, test: report, testWithoutThreshold: classOnly)
        if json {
            try printJSON(result)
        } else {
            print(result.rendered())
        }
    }
}

/// What `concierge benchmark` measured.
struct BenchmarkResult: Codable {
    var benchmark: String
    /// Wall time from the vocabulary to the tuned thresholds.
    var trainingSeconds: Double
    var cores: Int
    var recipe: TrainingRecipe
    var branches: String
    var training: TrainingSummary
    /// Test metrics of the model as shipped (trained class + tuned threshold).
    var test: ClassificationReport
    /// Test metrics with the out-of-scope threshold off (trained class only).
    var testWithoutThreshold: ClassificationReport?

    func rendered() -> String {
        var lines = ["\(benchmark) — test split, trained from scratch in \(ProgressBar.duration(trainingSeconds)) on \(cores) cores "
            + "(\(training.epochsRun) epochs, best \(training.bestEpoch), \(String(format: "%.0f", training.sequencesPerSecond)) sequences/s)"]
        if let oos = test.outOfScope {
            lines.append("  in-scope accuracy     \(percent(oos.inScopeAccuracy))")
            lines.append("  out-of-scope recall   \(percent(oos.recall))   (precision \(percent(oos.precision)); threshold \(String(format: "%.3f", training.outOfScopeThreshold)) tuned on val)")
            if let plain = testWithoutThreshold?.outOfScope {
                lines.append("  without the threshold: in-scope accuracy \(percent(plain.inScopeAccuracy)), out-of-scope recall \(percent(plain.recall))")
            }
        }
        lines.append("  accuracy              \(percent(test.accuracy))")
        lines.append("  macro-F1              \(percent(test.macroF1))")
        lines.append("  calibration (ECE)     \(String(format: "%.3f", test.expectedCalibrationError))")
        return lines.joined(separator: "\n")
    }
}
