import Foundation
@testable import Server
import Store
import Testing
import TestSupport
import Triage

/// What the staff page shows and does, over a real socket with the real model.
@Suite struct StaffPageTests {
    static let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"

    @Test func residentsTextIsEscapedOnEveryPage() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let reply = try await server.rest(Self.hostile + " I smell gas in the hallway \"quoted\" & 'single'", sender: "mallory")
            let tickets = ((reply.json as? [[String: Any]])?.first?["custom"] as? [String: Any])?["tickets"] as? [Int]
            let number = try #require(tickets?.first, "the emergency was filed: \(reply.text)")
            let staff = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .staff), store: server.store,
                                                      server: server)
            let escaped = "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
            for path in ["/staff", "/staff/queue/rows", "/staff/tickets/\(number)"] {
                let page = try await staff.get(path)
                #expect(page.status == 200, "\(path)")
                #expect(!page.text.contains("<img"), "\(path) has no resident markup")
                #expect(!page.text.contains("<script>alert"), "\(path)")
                #expect(!page.text.contains("onerror=alert(1)>"), "\(path)")
                #expect(page.text.contains("&lt;img src=x onerror=alert(1)&gt;"), "\(path) shows it as text")
            }
            let ticket = try await staff.get("/staff/tickets/\(number)")
            #expect(ticket.text.contains(escaped), "the description, whole")
            #expect(ticket.text.contains("&quot;quoted&quot; &amp; &#39;single&#39;"), "quotes and ampersands too")
            #expect(ticket.headers["cache-control"] == "no-store", "a page with residents' data is not stored")
            #expect(ticket.text.contains("<mark class=\""), "the explanation highlights words")
        }
    }

    @Test func theQueueIsMostUrgentFirstWithFiltersAndTheRowsFragment() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let store = server.store
            let routine = try await store.createTicket(TicketDraft(category: "noise", priority: .p3, description: "loud music"), actor: "t")
            let urgent = try await store.createTicket(TicketDraft(category: "plumbing", priority: .p1, description: "burst pipe",
                                                                  unit: "4B", confidence: 0.87,
                                                                  resident: ResidentInfo(channel: "rest", externalID: "li", language: "zh")),
                                                      actor: "t")
            let mine = try await store.createTicket(TicketDraft(category: "lighting", priority: .p2, description: "hall light"), actor: "t")
            try await store.assign(number: mine.number, to: "ivy", actor: "t")
            let staff = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .staff), store: store,
                                                      server: server)
            let page = try await staff.get("/staff")
            #expect(Self.rowNumbers(page.text) == [urgent.number, mine.number, routine.number])
            #expect(page.text.contains("87 %") && page.text.contains("4B"), "confidence and location")
            #expect(page.text.contains("<td data-label=\"Language\">zh</td>"), "the resident's language")
            #expect(page.text.contains("data-src=\"/staff/queue/rows\""))
            #expect(Self.rowNumbers(try await staff.get("/staff?mine=1").text) == [mine.number])
            #expect(Self.rowNumbers(try await staff.get("/staff?priority=P3").text) == [routine.number])
            #expect(Self.rowNumbers(try await staff.get("/staff?assignee=-").text) == [urgent.number, routine.number])
            #expect(Self.rowNumbers(try await staff.get("/staff?category=plumbing").text) == [urgent.number])
            let rows = try await staff.get("/staff/queue/rows?priority=P1")
            #expect(rows.status == 200 && !rows.text.contains("<html"), "a fragment")
            #expect(Self.rowNumbers(rows.text) == [urgent.number])
            let filtered = try await staff.get("/staff?priority=P1&mine=1")
            #expect(filtered.text.contains("data-src=\"/staff/queue/rows?priority=P1&amp;mine=1\""), "the refresh keeps the filters")
        }
    }

    @Test func ticketActionsGoThroughTheStore() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let store = server.store
            let first = try await StaffAccessTests.fileTicket(store)
            let second = try await StaffAccessTests.fileTicket(store)
            let ivy = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .staff), store: store,
                                                    server: server)
            let path = "/staff/tickets/\(first.number)"
            #expect(try await ivy.post(path + "/assign", [("assignee", "ivy")]).status == 303)
            #expect(try await ivy.post(path + "/status", [("status", "in_progress")]).status == 303)
            #expect(try await ivy.post(path + "/priority", [("priority", "P2")]).status == 303)
            #expect(try await ivy.post(path + "/category", [("category", "electrical")]).status == 303)
            #expect(try await ivy.post(path + "/notes", [("text", "on my way"), ("visibility", "public")]).status == 303)
            let ticket = try await store.ticket(number: first.number)
            #expect(ticket.assignee == "ivy" && ticket.status == .inProgress && ticket.priority == .p2 && ticket.category == "electrical")
            let corrections = try await store.corrections()
            #expect(Set(corrections.map(\.field)) == ["priority", "category"] && corrections.allSatisfy { $0.actor == "ivy" })
            let detail = try await store.ticketDetail(number: first.number)
            #expect(detail.notes.map(\.visibility) == [.public] && detail.notes.first?.author == "ivy")
            let page = try await ivy.get(path + "?done=public")
            #expect(page.text.contains("queued to the resident"), "the notice")
            #expect(page.text.contains("on my way") && page.text.contains("electrical"))

            // Refusals show the ticket again with the reason and change nothing.
            let unknown = try await ivy.post(path + "/category", [("category", "<b>nope</b>")])
            #expect(unknown.status == 422 && !unknown.text.contains("<b>nope"))
            let illegal = try await ivy.post(path + "/status", [("status", "new")])
            #expect(illegal.status == 409 && illegal.text.contains("cannot go from in_progress to new"), "\(illegal.status)")
            let selfMerge = try await ivy.post(path + "/merge", [("into", "\(first.number)")])
            #expect(selfMerge.status == 409)
            #expect(try await store.ticket(number: first.number).status == .inProgress)
            #expect(try await ivy.post("/staff/tickets/999/notes", [("text", "x")]).status == 404)
            #expect(try await ivy.get("/staff/tickets/999").status == 404)
            #expect(try await ivy.get("/staff/tickets/abc").status == 404)

            #expect(try await ivy.post("/staff/tickets/\(second.number)/merge", [("into", "#\(first.number)")]).status == 303)
            let merged = try await store.ticket(number: second.number)
            #expect(merged.status == .duplicate && merged.duplicateOf == first.number)
        }
    }

    /// The ticket numbers of the queue rows in a page, in order.
    static func rowNumbers(_ html: String) -> [Int] {
        html.matches(of: /data-ticket="(\d+)"/).compactMap { Int($0.1) }
    }
}

/// The pieces of the staff page that need no server.
@Suite struct StaffRenderingTests {
    @Test func highlightsSplitAtUTF16OffsetsOfTheOriginalText() {
        // "暖气" is 2 UTF-16 units, the emoji 2 (a surrogate pair).
        let text = "😡 暖气 broken, water leaking"
        let units = Array(text.utf16)
        func range(_ word: String) -> (Int, Int) {
            let r = text.range(of: word)!
            return (r.lowerBound.utf16Offset(in: text), r.upperBound.utf16Offset(in: text))
        }
        let heating = range("暖气"), leaking = range("leaking"), water = range("water")
        let explanation = Explanation(
            intentWords: [WordInfluence(word: "暖气", start: heating.0, end: heating.1, influence: 0.4),
                          WordInfluence(word: "bogus", start: 5, end: units.count + 3, influence: 0.1),
                          WordInfluence(word: "reversed", start: 4, end: 2, influence: 0.1)],
            priorityWords: [WordInfluence(word: "leaking", start: leaking.0, end: leaking.1, influence: 0.3),
                            WordInfluence(word: "water", start: water.0, end: water.1, influence: 0.2)])
        let segments = ExplanationHighlight.segments(text: text, explanation: explanation,
                                                     safety: SafetyFinding(rule: "flooding", guidance: "flooding",
                                                                           matchedText: "water leaking", start: water.0, end: leaking.1))
        #expect(segments.map(\.text).joined() == text, "nothing lost or repeated")
        #expect(segments.filter(\.intent).map(\.text) == ["暖气"])
        #expect(segments.filter(\.priority).map(\.text) == ["water", "leaking"])
        #expect(segments.filter(\.safety).map(\.text) == ["water", " ", "leaking"])
        #expect(segments.first { $0.text == "water" }?.classes == "priority safety")
        #expect(ExplanationHighlight.segments(text: "", explanation: explanation, safety: nil).isEmpty)
    }

    @Test func templatesParseAndNeverPrintUnescaped() throws {
        _ = try StaffTemplates.library()
        for (name, source) in StaffTemplates.sources {
            #expect(!source.contains("{{{") && !source.contains("{{&"), "\(name) prints something unescaped")
            #expect(!source.contains("<script>") && !source.contains("style=\"") && !source.contains(/\son[a-z]+=/),
                    "\(name) has inline script or style (the CSP forbids them)")
        }
    }

    @Test func returnPathsStayOnTheStaffPage() {
        #expect(StaffReturnPath.validated("/staff/tickets/4") == "/staff/tickets/4")
        #expect(StaffReturnPath.validated("/staff?mine=1") == "/staff?mine=1")
        for bad in ["//evil.example", "/staff//evil.example", "https://evil.example/staff", "/\\evil", "/staffing", "/staff/\u{0}x",
                    "/staff/ x", nil] {
            #expect(StaffReturnPath.validated(bad) == nil, "\(bad ?? "nil")")
        }
    }
}
