import Foundation
import Store
import Testing
import TestSupport
@testable import concierge

/// `concierge report --json` and `--csv` over a real SQLite store.
@Suite struct ReportOutputTests {
    func report() async throws -> InsightsReport {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await StoreLocation.sqlite(directory.url.appendingPathComponent("concierge.sqlite")).open()
        for unit in ["4B", "4B", "4B"] {
            try await store.createTicket(TicketDraft(category: "plumbing", priority: .p2, description: "the tap drips, again", unit: unit),
                                         actor: "gina")
        }
        let period = try InsightsPeriod(since: nil, until: nil, timeZone: TimeZone(identifier: "UTC")!, now: Date())
        let report = try await store.insights(since: period.since, until: period.until,
                                              weekStart: InsightsReport.weekStart(onOrBefore: period.since))
        await store.close()
        return report
    }

    /// Every key of a JSON value, recursively.
    func keys(_ value: Any) -> [String] {
        if let object = value as? [String: Any] { return object.keys + object.values.flatMap(keys) }
        if let array = value as? [Any] { return array.flatMap(keys) }
        return []
    }

    @Test func theJSONKeysAreSnakeCaseAndTheCSVHasOneFigurePerLine() async throws {
        let report = try await report()
        let json = try JSONSerialization.jsonObject(with: Data(try InsightsText.json(report).utf8))
        let all = Set(keys(json))
        #expect(all.isSuperset(of: ["tickets_by_week", "by_language", "first_response_hours", "backlog_by_age", "recurring",
                                    "model_health", "unanswered_late", "days_between"]), "\(all.sorted())")
        #expect(all.allSatisfy { $0 == $0.lowercased() }, "\(all.filter { $0 != $0.lowercased() })")
        let csv = InsightsText.csv(report, timeZone: TimeZone(identifier: "UTC")!).split(separator: "\n")
        #expect(csv.first == "section,label,week,measure,value")
        #expect(csv.contains("recurring,plumbing at unit 4B,,tickets,1 2 3"))
        #expect(csv.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 5 })
        #expect(InsightsText.csvField("a, \"b\"") == "\"a, \"\"b\"\"\"")
    }
}
