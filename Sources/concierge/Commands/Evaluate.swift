import ArgumentParser
import DataPack
import Foundation
import Tokenizer
import Store
import Triage

/// `concierge evaluate`: how well the community model does.
struct Evaluate: AsyncParsableCommand {
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

    @Flag(help: "Instead of evaluating the model: list the P1 messages no safety rule fires on and the others one fires on, and the P2 messages no urgent rule fires on and the P3/P4 ones one raises (for reviewing safety.yaml and urgent.yaml; use the training split). Needs no model.")
    var ruleCoverage = false

    @Option(help: ArgumentHelp(
        "Play the scripted resident conversations in FILE (evaluation/conversations.yaml) through the real engine, "
            + "each on a fresh store, and report conversations right, turns to a filed ticket, clarifying and safety "
            + "questions, and the priority confusion of the filed tickets.", valueName: "FILE"))
    var conversations: String?

    @Option(name: .customLong("export-split"), help: ArgumentHelp(
        "Write the pack's split to DIR as JSON Lines for baselines in other tools (scripts/priority_baseline.py): "
            + "every message with its labels, its split (training or held-out), its cross-validation fold, and its "
            + "hashed n-gram features exactly as the model reads them. Trains nothing.", valueName: "DIR"))
    var exportSplit: String?

    @Option(name: .customLong("cross-validate"), help: ArgumentHelp(
        "Instead of evaluating the saved model: k-fold cross-validation of the recipe on the pack's training side (K models, each tested on the fold it did not see; the held-out split is not read). For choosing settings on ~150 P1 messages instead of validation's 16.",
        valueName: "K"))
    var crossValidationFolds: Int?

    enum PackSplit: String, ExpressibleByArgument {
        case heldOut = "held-out", validation, training
    }

    func run() async throws {
        let files = try ProjectFiles.locate()
        let home = homeOptions.home
        try home.prepare()
        let intentsDirectory = packOptions.directory(files)
        var recipe = TrainingRecipe.communityPack
        if let epochs { recipe.options.epochs = epochs }
        if let seed { recipe.options.seed = seed }
        tuning.apply(to: &recipe)
        let (pack, _) = try DataPackLoader.load(directory: intentsDirectory)
        if let exportSplit {
            let tokenizer = try WordPieceTokenizer(vocabularyFile: files.vocabularyFile)
            let count = try SplitExport.write(pack: pack, tokenizer: tokenizer, featurizer: recipe.featurizer,
                                              folds: crossValidationFolds ?? 5, to: URL(fileURLWithPath: exportSplit))
            FileHandle.standardError.write(Data("wrote \(count) messages to \(exportSplit)/split.jsonl\n".utf8))
            return
        }
        if let crossValidationFolds {
            try crossValidate(pack: pack, recipe: recipe, folds: crossValidationFolds, vocabulary: files.vocabularyFile,
                              source: intentsDirectory.path)
            return
        }
        let (examples, source) = try examplesToEvaluate(pack: pack, directory: intentsDirectory)
        if ruleCoverage {
            // The rules alone: no model is needed.
            print(Self.ruleCoverageReport(SafetyRules(pack: pack), on: examples))
            if !pack.urgentRules.isEmpty { print(Self.urgentCoverageReport(SafetyRules(rules: pack.urgentRules), on: examples)) }
            return
        }
        let model = try CommunityModel.loadOrTrain(intents: intentsDirectory, pack: pack, vocabulary: files.vocabularyFile,
                                                   modelsDirectory: home.modelsDirectory, recipe: recipe)
        if let conversations {
            let triager = try Triager(model: model, pack: pack, safety: SafetyRules(pack: pack))
            let report = try await ConversationRun.run(file: URL(fileURLWithPath: conversations), triager: triager, pack: pack)
            if json { try printJSON(report) } else { print(ConversationRun.render(report, file: conversations)) }
            return
        }
        let metrics = try HeldOutMetrics.evaluate(model.classifier, on: examples,
                                                  serviceCategories: Set(pack.categories.map(\.id)))
        if json {
            try printJSON(metrics)
            return
        }
        try printReport(metrics, model: model, pack: pack, examples: examples, source: source)
    }

    /// `--cross-validate K`: the recipe on K folds of the training side, pooled.
    private func crossValidate(pack: DataPack, recipe: TrainingRecipe, folds: Int, vocabulary: URL, source: String) throws {
        guard folds >= 2 else { throw ValidationError("--cross-validate needs at least 2 folds") }
        guard file == nil, split == .heldOut else {
            throw ValidationError("--cross-validate tests on folds of the training side; it takes no --file or --split")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary)
        let bar = ProgressBar()
        let report = try CrossValidation.run(pack: pack, tokenizer: tokenizer, recipe: recipe, folds: folds) {
            fold, folds, progress in
            guard !json else { return }
            if let progress { bar.update(progress) } else {
                if fold > 0 { bar.finish() }
                FileHandle.standardError.write(Data("fold \(fold + 1) of \(folds)\n".utf8))
            }
        }
        if !json { bar.finish() }
        if json { try printJSON(report) } else { print(Self.render(report, source: source)) }
    }

    /// The messages to evaluate on: `--file`, or a split of the pack; and how to name them.
    private func examplesToEvaluate(pack: DataPack, directory: URL) throws -> (examples: [TextExample], source: String) {
        if let file { return (try Self.readJSONLines(URL(fileURLWithPath: file)), file) }
        let data = PackTrainingData(pack: pack)
        let examples: [TextExample] = switch split {
        case .heldOut: data.heldOut
        case .validation: data.validation
        case .training: data.train
        }
        return (examples, "\(split.rawValue) split of \(directory.path) (\(examples.count) messages)")
    }

    /// The report for people: the model's metrics, the triage's (what
    /// residents meet), confusions, and the optional sections.
    private func printReport(_ metrics: HeldOutMetrics, model: CommunityModel, pack: DataPack,
                             examples: [TextExample], source: String) throws {
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
        print("  P1 precision (filed)     \(triage.p1Precision.map(percent) ?? "n/a")  (rules fired on \(triage.rulesFiredOnNonP1) non-P1 messages)")
        print("  priority accuracy        \(triage.priorityAccuracy.map(percent) ?? "n/a")  (before any safety question)")
        print(Self.filedPriorityLines(triage))
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
        if p1Misses {
            let emergencies = examples.filter { $0.priority == ClassifierSettings.emergencyPriority.rawValue }
            let predictions = try model.classifier.classify(emergencies.map(\.text))
            print("\nP1 messages not given P1 (P1 threshold \(model.classifier.settings.emergencyThreshold.map { String(format: "%.3f", $0) } ?? "none"))")
            for (example, prediction) in zip(emergencies, predictions) where prediction.priority?.label != ClassifierSettings.emergencyPriority.rawValue {
                let p1 = prediction.priorityProbabilities.first { $0.label == ClassifierSettings.emergencyPriority.rawValue }?.probability ?? 0
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
            + "P1 messages and on \(t.rulesFiredOnNonP1) others; asks to clarify on \(percent(t.clarificationRate)) of messages")
        lines.append(Self.filedPriorityLines(t) + "\n")
        let sweep = TextTable(columns: ["possible-emergency threshold", "P1 recall", "safety question", "P1 precision (filed)",
                                        "filed exact", "within one", "P2 recall"])
        for point in report.possibleEmergencySweep {
            let m = point.metrics
            sweep.add([String(format: "%.2f", point.threshold), m.p1Recall.map(percent) ?? "n/a", m.safetyQuestionRate.map(percent) ?? "n/a",
                       m.p1Precision.map(percent) ?? "n/a", m.filedPriorityAccuracy.map(percent) ?? "n/a",
                       m.filedWithinOne.map(percent) ?? "n/a", m.filedP2Recall.map(percent) ?? "n/a"])
        }
        lines.append(sweep.render())
        let urgent = TextTable(columns: ["model's own P2 needs", "filed exact", "within one", "P2 recall", "P1 precision (filed)"])
        for point in report.urgentSweep {
            let m = point.metrics
            urgent.add([point.threshold > 1 ? "never (rules only)" : String(format: "p ≥ %.2f", point.threshold),
                        m.filedPriorityAccuracy.map(percent) ?? "n/a", m.filedWithinOne.map(percent) ?? "n/a",
                        m.filedP2Recall.map(percent) ?? "n/a", m.p1Precision.map(percent) ?? "n/a"])
        }
        lines.append(urgent.render())
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

    /// The priorities filed when residents answer the safety question truthfully.
    static func filedPriorityLines(_ t: TriageMetrics) -> String {
        let confusion = TextTable(columns: ["gold \\ filed", "P1", "P2", "P3", "P4", "none"])
        for gold in ["P1", "P2", "P3", "P4"] {
            let row = t.filedPriorityConfusion[gold] ?? [:]
            confusion.add([gold] + ["P1", "P2", "P3", "P4", "none"].map { String(row[$0] ?? 0) })
        }
        return ["  filed priority           \(t.filedPriorityAccuracy.map(percent) ?? "n/a") exact, \(t.filedWithinOne.map(percent) ?? "n/a") within one level, P2 recall \(t.filedP2Recall.map(percent) ?? "n/a")",
                "  safety question asked    \(t.safetyQuestionRate.map(percent) ?? "n/a") of service requests (possible emergencies)",
                "  (filed: what the ticket gets when residents answer the safety question truthfully)", "",
                confusion.render()].joined(separator: "\n")
    }

    /// The P1 messages no safety rule fires on, grouped by category, and the
    /// messages below P1 that a rule fires on, with the rule.
    static func ruleCoverageReport(_ rules: SafetyRules, on examples: [TextExample]) -> String {
        let emergencies = examples.filter { $0.priority == ClassifierSettings.emergencyPriority.rawValue }
        let uncovered = emergencies.filter { rules.matches($0.text).isEmpty }
        var lines = ["\nsafety rules: fire on \(emergencies.count - uncovered.count) of \(emergencies.count) P1 messages; not on these:"]
        for example in uncovered.sorted(by: { ($0.intent, $0.text) < ($1.intent, $1.text) }) {
            lines.append("  \(example.intent)  \(example.text)")
        }
        let falseAlarms = examples.compactMap { example -> (TextExample, SafetyMatch)? in
            guard example.priority != ClassifierSettings.emergencyPriority.rawValue, let match = rules.matches(example.text).first else { return nil }
            return (example, match)
        }
        lines.append("\nsafety rules fire on \(falseAlarms.count) of \(examples.count - emergencies.count) other messages:")
        for (example, match) in falseAlarms {
            lines.append("  \(match.ruleID) «\(match.text)»  \(example.intent) \(example.priority ?? "-")  \(example.text)")
        }
        return lines.joined(separator: "\n")
    }

    /// The P2 messages no urgent rule fires on, and the P3/P4 ones a rule
    /// raises to P2, with the rule and the words.
    static func urgentCoverageReport(_ rules: SafetyRules, on examples: [TextExample]) -> String {
        let urgent = examples.filter { $0.priority == "P2" }
        let uncovered = urgent.filter { rules.matches($0.text).isEmpty }
        var lines = ["\nurgent rules: fire on \(urgent.count - uncovered.count) of \(urgent.count) P2 messages; not on these:"]
        for example in uncovered.sorted(by: { ($0.intent, $0.text) < ($1.intent, $1.text) }) {
            lines.append("  \(example.intent)  \(example.text)")
        }
        let raised = examples.compactMap { example -> (TextExample, SafetyMatch)? in
            guard ["P3", "P4"].contains(example.priority ?? ""), let match = rules.matches(example.text).first else { return nil }
            return (example, match)
        }
        let lower = examples.filter { ["P3", "P4"].contains($0.priority ?? "") }.count
        lines.append("\nurgent rules raise \(raised.count) of \(lower) P3/P4 messages to P2:")
        for (example, match) in raised {
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
