import ArgumentParser
import DataPack
import Foundation
import Tokenizer
import Store
import Triage

/// `concierge evaluate`: how well the community model does.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate the community model on the held-out split (or a file).",
        discussion: """
        Uses the model trained for the current data pack (training it first if \
        there is none) and reports, on the pack's held-out split: accuracy, \
        macro-F1, per-class precision/recall/F1, the top confusions, \
        out-of-scope recall and precision, category and FAQ accuracy, priority \
        accuracy and P1 recall (missing an emergency is the worst error), and the \
        expected calibration error. --file evaluates JSON Lines instead, one \
        {"text": …, "intent": …, "priority": "P2"} object per line (priority optional).
        """
    )

    @OptionGroup var homeOptions: HomeOptions

    @OptionGroup var packOptions: PackOptions

    @Option(help: "A JSON Lines file of labeled messages to evaluate on instead of the held-out split.")
    var file: String?

    @OptionGroup(title: "Experiments") var tuning: RecipeTuning

    @Option(help: ArgumentHelp("The model trained with this epochs override (see train).", visibility: .hidden))
    var epochs: Int?

    @Option(help: ArgumentHelp("The model trained with this seed override (see train).", visibility: .hidden))
    var seed: UInt64?

    @Flag(help: "Print the metrics as JSON.")
    var json = false

    @Flag(help: "Also print per-class precision, recall and F1.")
    var perClass = false

    @Option(help: "The pack split to evaluate on: held-out (the report), validation (the split training tunes on, for choosing settings) or training (what the model learned from).")
    var split: PackSplit = .heldOut

    @Flag(help: "Also list the P1 messages that were not given P1, with p(P1) (look at validation, not held-out, when choosing settings).")
    var p1Misses = false

    @Flag(help: "Also compare FAQ retrieval (nearest known question; k and threshold chosen on validation) with the intent head.")
    var faqRetrieval = false

    @Flag(help: "Also list the P1 messages no safety rule fires on, and the non-P1 messages one fires on (for reviewing safety.yaml; use the training or validation split).")
    var ruleCoverage = false

    @Option(name: .customLong("cross-validate"), help: ArgumentHelp(
        "Instead of evaluating the saved model: k-fold cross-validation of the recipe on the pack's training side (K models, each tested on the fold it did not see; the held-out split is not read). For choosing settings on ~150 P1 messages instead of validation's 16.",
        valueName: "K"))
    var crossValidationFolds: Int?

    enum PackSplit: String, ExpressibleByArgument {
        case heldOut = "held-out", validation, training
    }

    func run() throws {
        let files = try ProjectFiles.locate()
        let home = homeOptions.home
        try home.prepare()
        let intentsDirectory = packOptions.directory(files)
        var recipe = TrainingRecipe.communityPack
        if let epochs { recipe.options.epochs = epochs }
        if let seed { recipe.options.seed = seed }
        tuning.apply(to: &recipe)
        let (pack, _) = try DataPackLoader.load(directory: intentsDirectory)
        if let crossValidationFolds {
            guard crossValidationFolds >= 2 else { throw ValidationError("--cross-validate needs at least 2 folds") }
            guard file == nil, split == .heldOut else {
                throw ValidationError("--cross-validate tests on folds of the training side; it takes no --file or --split")
            }
            let tokenizer = try WordPieceTokenizer(vocabularyFile: files.vocabularyFile)
            let bar = ProgressBar()
            let report = try CrossValidation.run(pack: pack, tokenizer: tokenizer, recipe: recipe, folds: crossValidationFolds) {
                fold, folds, progress in
                guard !json else { return }
                if let progress { bar.update(progress) } else {
                    if fold > 0 { bar.finish() }
                    FileHandle.standardError.write(Data("fold \(fold + 1) of \(folds)\n".utf8))
                }
            }
            if !json { bar.finish() }
            if json { try printJSON(report) } else { print(Self.render(report, source: intentsDirectory.path)) }
            return
        }
        let model = try CommunityModel.loadOrTrain(intents: intentsDirectory, pack: pack, vocabulary: files.vocabularyFile,
                                                   modelsDirectory: home.modelsDirectory, recipe: recipe)
        let examples: [TextExample]
        let source: String
        if let file {
            examples = try Self.readJSONLines(URL(fileURLWithPath: file))
            source = file
        } else {
            let data = PackTrainingData(pack: pack)
            switch split {
            case .heldOut: examples = data.heldOut
            case .validation: examples = data.validation
            case .training: examples = data.train
            }
            source = "\(split.rawValue) split of \(intentsDirectory.path) (\(examples.count) messages)"
        }
        let metrics = try HeldOutMetrics.evaluate(model.classifier, on: examples,
                                                  serviceCategories: Set(pack.categories.map(\.id)))
        if json {
            try printJSON(metrics)
            return
        }
        print("model \(model.card.modelKey), evaluated on the \(source)\n")
        print(ReportRendering.summary("intent", metrics.intent))
        print("  category accuracy        \(metrics.categoryAccuracy.map(percent) ?? "n/a")")
        print("  FAQ accuracy             \(metrics.faqAccuracy.map(percent) ?? "n/a")\n")
        if let priority = metrics.priority {
            print(ReportRendering.summary("priority (service requests)", priority))
            print("  P1 recall                \(metrics.p1Recall.map(percent) ?? "n/a")\n")
            print(ReportRendering.perClass(priority))
        }
        // What residents meet: the model plus the safety rules and the
        // clarification threshold.
        let triager = try Triager(model: model, pack: pack, safety: SafetyRules(pack: pack))
        let triage = try TriageMetrics.evaluate(triager, on: examples)
        print("triage (model + safety rules; what residents meet)")
        print("  category accuracy        \(triage.categoryAccuracy.map(percent) ?? "n/a")")
        print("  P1 recall                \(triage.p1Recall.map(percent) ?? "n/a")  (safety rules fired on \(triage.p1CaughtByRules) of \(triage.p1Total) P1 messages)")
        print("  P1 precision             \(triage.p1Precision.map(percent) ?? "n/a")  (rules fired on \(triage.rulesFiredOnNonP1) non-P1 messages)")
        print("  priority accuracy        \(triage.priorityAccuracy.map(percent) ?? "n/a")")
        print("  FAQ accuracy             \(triage.faqAccuracy.map(percent) ?? "n/a")")
        print("  out-of-scope recall      \(triage.outOfScopeRecall.map(percent) ?? "n/a")")
        print("  asks to clarify          \(percent(triage.clarificationRate)) of messages (threshold \(String(format: "%.2f", triager.thresholds.clarify)) on intent confidence)\n")
        print("top confusions (intent)")
        print(ReportRendering.confusions(metrics.intent))
        if perClass {
            print(ReportRendering.perClass(metrics.intent))
        }
        if faqRetrieval {
            let data = PackTrainingData(pack: pack)
            let candidates = try FAQRetrieval.compare(
                classifier: model.classifier, train: data.train, validation: data.validation, examples: examples,
                serviceCategories: Set(pack.categories.map(\.id)))
            print("\nFAQ: intent head vs retrieval over the training FAQ questions (k, τ chosen on validation)")
            let table = TextTable(columns: ["space", "rule", "k", "τ", "validation", "FAQ acc.", "accuracy", "category acc.", "OOS recall"])
            func row(_ space: String, _ rule: String, _ k: String, _ tau: String, _ validation: String, _ m: HeldOutMetrics) {
                table.add([space, rule, k, tau, validation, m.faqAccuracy.map(percent) ?? "n/a", percent(m.intent.accuracy),
                           m.categoryAccuracy.map(percent) ?? "n/a", m.intent.outOfScope.map { percent($0.recall) } ?? "n/a"])
            }
            row("-", "intent head (faq.<id> labels)", "-", "-", "-", metrics)
            for c in candidates {
                let tau = c.threshold.map { (τ: Float) in τ.isFinite ? String(format: "%.3f", Double(τ)) : "∞ (head only)" } ?? "-"
                row(c.space.rawValue, c.rule.rawValue, "\(c.k)", tau, "FAQ \(c.validationFAQAccuracy.map(percent) ?? "n/a")", c.metrics)
            }
            print(table.render())
        }
        if ruleCoverage {
            print(Self.ruleCoverageReport(SafetyRules(pack: pack), on: examples))
        }
        if p1Misses {
            let emergencies = examples.filter { $0.priority == ClassifierSettings.emergencyPriority }
            let predictions = try model.classifier.classify(emergencies.map(\.text))
            print("\nP1 messages not given P1 (P1 threshold \(model.classifier.settings.emergencyThreshold.map { String(format: "%.3f", $0) } ?? "none"))")
            for (example, prediction) in zip(emergencies, predictions) where prediction.priority?.label != ClassifierSettings.emergencyPriority {
                let p1 = prediction.priorityProbabilities.first { $0.label == ClassifierSettings.emergencyPriority }?.probability ?? 0
                print("  p(P1) \(String(format: "%.3f", p1))  \(example.intent) → \(prediction.intent) "
                    + "\(prediction.priority?.label ?? "-")  \(example.text)")
            }
        }
    }

    /// The pooled cross-validation report, for people.
    static func render(_ report: CrossValidation.Report, source: String) -> String {
        let tested = report.folds.map(\.testMessages).reduce(0, +)
        var lines = ["\(report.folds.count)-fold cross-validation on the training side of \(source) "
            + "(\(tested) messages, each tested once; \(ProgressBar.duration(report.seconds)))\n"]
        func p1(_ metrics: HeldOutMetrics) -> String {
            let support = metrics.priority?.metrics(of: "P1")?.support ?? 0
            return (metrics.p1Recall.map(percent) ?? "n/a") + " of \(support)"
        }
        func p1Precision(_ metrics: HeldOutMetrics) -> String {
            metrics.priority?.metrics(of: "P1").map { percent($0.precision) } ?? "n/a"
        }
        let table = TextTable(columns: ["", "category acc.", "P1 recall", "P1 precision", "priority acc.", "FAQ acc.", "OOS recall", "accuracy"])
        func row(_ name: String, _ m: HeldOutMetrics) {
            table.add([name, m.categoryAccuracy.map(percent) ?? "n/a", p1(m), p1Precision(m), m.priority.map { percent($0.accuracy) } ?? "n/a",
                       m.faqAccuracy.map(percent) ?? "n/a", m.intent.outOfScope.map { percent($0.recall) } ?? "n/a",
                       percent(m.intent.accuracy)])
        }
        row("model", report.model)
        if let wordsOnly = report.wordsOnly { row("model, no rule features", wordsOnly) }
        let t = report.triage
        table.add(["triage (model + rules)", t.categoryAccuracy.map(percent) ?? "n/a",
                   (t.p1Recall.map(percent) ?? "n/a") + " of \(t.p1Total)", t.p1Precision.map(percent) ?? "n/a", t.priorityAccuracy.map(percent) ?? "n/a",
                   t.faqAccuracy.map(percent) ?? "n/a", t.outOfScopeRecall.map(percent) ?? "n/a", "-"])
        lines.append(table.render())
        lines.append("triage: the rules fired on \(t.p1CaughtByRules) of \(t.p1Total) "
            + "P1 messages and on \(t.rulesFiredOnNonP1) others; asks to clarify on \(percent(t.clarificationRate)) of messages\n")
        let folds = TextTable(columns: ["fold", "messages", "model P1 recall", "triage P1 recall", "category acc.", "P1 threshold",
                                        "clarify", "best epoch", "training"])
        for (index, fold) in report.folds.enumerated() {
            folds.add(["\(index + 1)", "\(fold.testMessages)", fold.modelP1Recall.map(percent) ?? "n/a",
                       fold.triageP1Recall.map(percent) ?? "n/a", fold.categoryAccuracy.map(percent) ?? "n/a",
                       fold.emergencyThreshold.map { String(format: "%.3f", $0) } ?? "-", String(format: "%.2f", fold.clarifyThreshold),
                       "\(fold.bestEpoch)", ProgressBar.duration(fold.trainingSeconds)])
        }
        lines.append(folds.render())
        return lines.joined(separator: "\n")
    }

    /// The P1 messages no safety rule fires on, grouped by category, and the
    /// messages below P1 that a rule fires on, with the rule.
    static func ruleCoverageReport(_ rules: SafetyRules, on examples: [TextExample]) -> String {
        let emergencies = examples.filter { $0.priority == ClassifierSettings.emergencyPriority }
        let uncovered = emergencies.filter { rules.matches($0.text).isEmpty }
        var lines = ["\nsafety rules: fire on \(emergencies.count - uncovered.count) of \(emergencies.count) P1 messages; not on these:"]
        for example in uncovered.sorted(by: { ($0.intent, $0.text) < ($1.intent, $1.text) }) {
            lines.append("  \(example.intent)  \(example.text)")
        }
        let falseAlarms = examples.compactMap { example -> (TextExample, SafetyMatch)? in
            guard example.priority != ClassifierSettings.emergencyPriority, let match = rules.matches(example.text).first else { return nil }
            return (example, match)
        }
        lines.append("\nsafety rules fire on \(falseAlarms.count) of \(examples.count - emergencies.count) other messages:")
        for (example, match) in falseAlarms {
            lines.append("  \(match.ruleID) «\(match.text)»  \(example.intent) \(example.priority ?? "-")  \(example.text)")
        }
        return lines.joined(separator: "\n")
    }

    /// Reads `{"text", "intent", "priority"?}` objects, one per line; names the
    /// line of any bad one.
    static func readJSONLines(_ url: URL) throws -> [TextExample] {
        let contents: String
        do {
            contents = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CLIError("\(url.path): cannot read the file (\(error.localizedDescription))")
        }
        var examples: [TextExample] = []
        for (index, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                examples.append(try JSONDecoder().decode(TextExample.self, from: Data(trimmed.utf8)))
            } catch {
                throw CLIError("\(url.path):\(index + 1): expected {\"text\": …, \"intent\": …, \"priority\": …} (\(error))")
            }
        }
        guard !examples.isEmpty else { throw CLIError("\(url.path): no examples") }
        return examples
    }
}
