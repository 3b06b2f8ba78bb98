import ArgumentParser
import Foundation
import Store

/// `concierge corrections …`: staff re-labels as training data.
struct Corrections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn staff corrections into training examples.",
        subcommands: [Export.self, List.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write corrections not yet exported to intents/corrections/staff-YYYYMMDD.yaml.",
            discussion: """
            One example per corrected ticket: the resident's text with the \
            category and priority staff gave it. The file is separate so it can \
            be reviewed (and edited) before `concierge check` and training. \
            Exported corrections are marked and not written again; corrections \
            whose text was erased (resident forgotten) are skipped.
            """)

        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "The data pack folder (default: intents/ of the checkout).") var intents: String?
        @Flag(help: "Print the file instead of writing it (nothing is marked exported).") var dryRun = false

        func run() async throws {
            let intentsURL = try intents.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ProjectFiles.locate().intentsDirectory
            try await withStore(storeOptions) { store in
                let corrections = try await store.corrections()
                let examples = CorrectionsExport.examples(from: corrections)
                let now = Date()
                let yaml = CorrectionsExport.yaml(examples, exportedAt: now)
                if dryRun {
                    print(yaml, terminator: "")
                    return
                }
                guard !corrections.isEmpty else {
                    print("No new corrections to export.")
                    return
                }
                var written: URL?
                if !examples.isEmpty {
                    let url = CorrectionsExport.fileURL(intents: intentsURL, date: now)
                    do {
                        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                        try yaml.write(to: url, atomically: true, encoding: .utf8)
                    } catch {
                        throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
                    }
                    written = url
                }
                // Marked only after the file is safely written.
                try await store.markCorrectionsExported(ids: corrections.map(\.id))
                if let written {
                    print("Wrote \(examples.count) example(s) from \(corrections.count) correction(s) to \(written.path).")
                    print("Review it, run `concierge check`, then train.")
                } else {
                    print("\(corrections.count) correction(s) had no text left (erased); nothing written.")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List staff corrections.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Include corrections already exported.") var all = false
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let corrections = try await withStore(storeOptions) { store in try await store.corrections(includeExported: all) }
            if json {
                print(try jsonText(corrections))
                return
            }
            if corrections.isEmpty {
                print(all ? "No corrections." : "No corrections waiting for export.")
                return
            }
            let table = TextTable(columns: ["when", "ticket", "who", "change", "text"])
            for correction in corrections {
                table.add([Terminal.time(correction.createdAt), "#\(correction.ticketNumber)", correction.actor,
                           "\(correction.field): \(correction.from) → \(correction.to)",
                           Terminal.truncate(correction.text ?? "[erased]", width: 50)])
            }
            print(table.render(), terminator: "")
        }
    }
}
