import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport

/// `/staff/insights`, in process: signed-in staff only, charts drawn as SVG
/// within the page's CSP, a bad day refused.
@Suite struct StaffInsightsTests {
    @Test func staffSeeChartsTablesAndRecurringProblemsAndABadDayIsRefused() async throws {
        try await RunningServer.with(transport: .inProcess, triager: ScriptedTriager([])) { server in
            for unit in ["7A", "9C", "12B"] {
                try await server.store.createTicket(TicketDraft(category: "elevator", priority: .p3, description: "the elevator is stuck",
                                                                unit: unit, place: "building 2 · elevator"), actor: "concierge")
            }
            #expect(try await server.get(path: "/staff/insights").status == 303, "signed out: to the login page")
            let staff = try await StaffClient.session(for: try await server.staffAccount("gina", role: .staff),
                                                      store: server.store, server: server)
            let page = try await staff.get("/staff/insights")
            #expect(page.status == 200)
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            let html = page.text
            #expect(html.components(separatedBy: "role=\"img\"").count - 1 == 4, "four charts")
            #expect(html.contains("<title id=\"chart-volume-title\">Tickets per week, by category</title>"))
            #expect(html.components(separatedBy: "<rect class=\"bar\"").count - 1 >= 1, "the week's bar is drawn")
            #expect(!html.contains("style=") && !html.contains("<script>"), "no inline style or script")
            #expect(html.contains("building 2 · elevator") && html.contains("href=\"/staff/tickets/3\""), "the recurring elevator")
            #expect(html.contains("3 tickets created"))
            // The queue marks the third elevator ticket (not the first two).
            let queue = try await staff.get("/staff").text
            #expect(queue.components(separatedBy: "recurring ×").count - 1 == 1 && queue.contains("recurring ×3"))

            let bad = try await staff.get("/staff/insights?since=2026-02-30")
            #expect(bad.status == 400 && bad.text.lowercased().contains("since must be a date"), "\(bad.text)")
            let narrow = try await staff.get("/staff/insights?since=2020-01-01&until=2020-01-31")
            #expect(narrow.status == 200 && narrow.text.contains("0 tickets created") && narrow.text.contains("None in this period."))
        }
    }
}
