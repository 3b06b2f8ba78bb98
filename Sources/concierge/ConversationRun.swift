import DataPack
import Dialogue
import Foundation
import Logging
import Store
import Triage

/// `concierge evaluate --conversations FILE`: plays each scripted
/// conversation on a fresh SQLite store and renders the report.
enum ConversationRun {
    static func run(file: URL, triager: Triager, pack: DataPack) async throws -> ConversationReport {
        let conversations: [ScriptedConversation]
        do { conversations = try ScriptedConversation.load(file: file) } catch let error as ConversationScriptError {
            throw CLIError(error.description)
        }
        var outcomes: [ConversationOutcome] = []
            for conversation in conversations {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-eval-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                var quiet = Logger(label: "concierge.store")
                quiet.logLevel = .warning
                let store = try await StoreLocation.sqlite(directory.appendingPathComponent("concierge.sqlite"))
                    .open(configuration: StoreConfiguration(logger: quiet))
                let engine = ConversationEngine(store: store, triager: triager, pack: pack, modelVersion: "evaluation")
                do {
                    outcomes.append(try await ConversationEvaluation.play(conversation, engine: engine))
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
            }
        return ConversationReport(outcomes: outcomes)
    }

    static func render(_ report: ConversationReport, file: String) -> String {
        func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        var lines = ["\(report.conversations) scripted conversations from \(file)", ""]
        lines.append("  conversations right        \(report.right) of \(report.conversations) (category and priority of the filed ticket)")
        lines.append("  category accuracy          \(percent(report.categoryAccuracy))")
        lines.append("  priority accuracy          \(percent(report.priorityAccuracy)) exact, \(percent(report.priorityWithinOne)) within one level")
        lines.append("  no ticket filed            \(report.noTicket)")
        lines.append("  turns to a filed ticket    \(report.meanTurnsToTicket.map { String(format: "%.1f", $0) } ?? "n/a") (mean resident messages)")
        lines.append("  clarifying question asked  \(percent(report.clarifiedShare)) of conversations")
        lines.append("  safety question asked      \(percent(report.safetyQuestionShare)) of conversations")
        lines.append("")
        let table = TextTable(columns: ["expected \\ filed", "P1", "P2", "P3", "P4", "none"])
        for expected in ["P1", "P2", "P3", "P4"] {
            let row = report.priorityConfusion[expected] ?? [:]
            table.add([expected] + ["P1", "P2", "P3", "P4", "none"].map { String(row[$0] ?? 0) })
        }
        lines.append(table.render())
        let wrong = report.outcomes.filter { !$0.right }
        if !wrong.isEmpty {
            lines.append("not right:")
            for outcome in wrong {
                lines.append("  \(outcome.id): expected \(outcome.expectedCategory) \(outcome.expectedPriority), "
                    + "filed \(outcome.filedCategory ?? "nothing") \(outcome.filedPriority?.rawValue ?? "")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
