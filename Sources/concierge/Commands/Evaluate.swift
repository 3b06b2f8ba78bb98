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

    @Option(help: "The data pack folder (default: intents/ of the checkout).")
    var intents: String?

    @Option(help: "A JSON Lines file of labeled messages to evaluate on instead of the held-out split.")
    var file: String?

    @Flag(help: "Print the metrics as JSON.")
    var json = false

    @Flag(help: "Also print per-class precision, recall and F1.")
    var perClass = false

    func run() throws {
        let files = try ProjectFiles.locate()
        let home = homeOptions.home
        try home.prepare()
        let intentsDirectory = intents.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? files.intentsDirectory
        let model = try CommunityModel.loadOrTrain(intents: intentsDirectory, vocabulary: files.vocabularyFile,
                                                   modelsDirectory: home.modelsDirectory)
        let (pack, _) = try DataPackLoader.load(directory: intentsDirectory)
        let examples: [TextExample]
        let source: String
        if let file {
            examples = try Self.readJSONLines(URL(fileURLWithPath: file))
            source = file
        } else {
            examples = PackTrainingData(pack: pack).heldOut
            source = "held-out split of \(intentsDirectory.path)"
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
        print("top confusions (intent)")
        print(ReportRendering.confusions(metrics.intent))
        if perClass {
            print(ReportRendering.perClass(metrics.intent))
        }
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
