import ArgumentParser
import DataPack
import Foundation

/// `concierge check`: the data-pack lint.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the community data pack and print what it contains.",
        discussion: """
        Reads every YAML file of the pack and reports problems as \
        file:line:column: unknown keys, wrong types, missing translations, \
        categories without examples, priorities outside P1–P4, duplicate \
        examples (after normalization) within or across intents, and \
        near-duplicates that differ by one word. Then prints a table of \
        examples per intent and language (with the held-out test split), the \
        priority balance per category and language, and the quality bars. \
        Exits non-zero on errors, and with --strict also on warnings \
        (near-duplicates, examples that rely on their category's default \
        priority instead of their own) or a missed quality bar.
        """
    )

    @Option(help: "The data pack folder (default: intents/ of the checkout).")
    var intents: String?

    @Flag(help: "Also fail on warnings (near-duplicates) and missed quality bars (counts, priorities, emergencies).")
    var strict = false

    @Flag(help: "Also list warnings one per line (near-duplicates, examples relying on the default priority).")
    var warnings = false

    func run() throws {
        let directory = try intents.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ProjectFiles.locate().intentsDirectory
        let report = DataPackLinter().check(directory: directory)
        for diagnostic in report.errors { print(diagnostic) }
        if warnings || strict { for diagnostic in report.warnings { print(diagnostic) } }

        if !report.intents.isEmpty {
            print("")
            let table = TextTable(columns: ["intent", "kind", "en", "zh", "held out en", "held out zh"])
            for count in report.intents {
                table.add([count.intent, count.kind.rawValue, String(count.total[.en] ?? 0), String(count.total[.zh] ?? 0),
                           String(count.heldOut[.en] ?? 0), String(count.heldOut[.zh] ?? 0)])
            }
            let en = report.intents.reduce(0) { $0 + ($1.total[.en] ?? 0) }
            let zh = report.intents.reduce(0) { $0 + ($1.total[.zh] ?? 0) }
            let heldEN = report.intents.reduce(0) { $0 + ($1.heldOut[.en] ?? 0) }
            let heldZH = report.intents.reduce(0) { $0 + ($1.heldOut[.zh] ?? 0) }
            table.add(["total (\(report.intents.count) intents)", "", String(en), String(zh), String(heldEN), String(heldZH)])
            print(table.render(), terminator: "")

            print("")
            let priorities = TextTable(columns: ["category", "default"] + Language.allCases.flatMap { language in
                Priority.allCases.map { "\($0.rawValue) \(language.rawValue)" } } + ["own priority", "default only"])
            for row in report.priorities {
                let counts = Language.allCases.flatMap { language in
                    Priority.allCases.map { String(row.counts[language]?[$0] ?? 0) }
                }
                priorities.add([row.category, row.defaultPriority.rawValue] + counts + [String(row.explicit), String(row.relyingOnDefault)])
            }
            print(priorities.render(), terminator: "")

            print("")
            let quality = TextTable(columns: ["quality bar", "measured", "required", ""])
            for result in report.quality {
                quality.add([result.name, result.measured, result.required, result.passed ? "ok" : "MISSED"])
            }
            print(quality.render(), terminator: "")
        }
        let missed = report.quality.filter { !$0.passed }.count
        print("\n\(report.errors.count) error(s), \(report.warnings.count) warning(s), \(missed) quality bar(s) missed"
              + (report.warnings.isEmpty || warnings ? "" : " (--warnings lists the warnings)"))
        if !report.errors.isEmpty || (strict && (missed > 0 || !report.warnings.isEmpty)) {
            throw ExitCode.failure
        }
    }
}
