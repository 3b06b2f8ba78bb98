import Foundation
import Testing
import TestSupport
@testable import Store

/// The insights report against a hand-built history with known answers, on every backend.
@Suite("Insights (both engines)")
struct InsightsStoreTests {
    /// Monday 2026-11-02 00:00 UTC.
    static let monday = Date(timeIntervalSince1970: 1_793_577_600)
    static let hour: TimeInterval = 3_600
    static let day: TimeInterval = 86_400

    /// Files a ticket at `monday + offset`.
    @discardableResult
    func file(_ store: any TicketStore, _ clock: ManualClock, at offset: TimeInterval, _ category: String, _ priority: Priority,
              unit: String?, place: String? = nil, model: Bool = false, clarified: Bool? = nil) async throws -> Int {
        clock.set(Self.monday.addingTimeInterval(offset))
        var ticket = TicketDraft(category: category, priority: priority, description: "\(category) trouble", unit: unit,
                                 modelVersion: model ? "m1" : nil, place: place, clarified: clarified)
        ticket.resident = ResidentInfo(channel: "rest", externalID: "r-\(unit ?? "none")", language: unit == "5C" ? "zh" : "en")
        return try await store.createTicket(ticket, actor: "concierge").number
    }

    func respond(_ store: any TicketStore, _ clock: ManualClock, _ number: Int, at offset: TimeInterval,
                 _ status: TicketStatus = .inProgress) async throws {
        clock.set(Self.monday.addingTimeInterval(offset))
        try await store.changeStatus(number: number, to: status, actor: "gina")
    }

    /// The history: a plumbing leak at 4B three times, an elevator in building 2
    /// three times from three units, plumbing at 5C twice in the window (and
    /// once long before), and three noise tickets the assistant filed.
    func history(_ store: any TicketStore, _ clock: ManualClock) async throws {
        let old = try await file(store, clock, at: -80 * Self.day, "plumbing", .p3, unit: "5C")
        try await respond(store, clock, old, at: -80 * Self.day + Self.hour)
        let first = try await file(store, clock, at: Self.hour, "plumbing", .p2, unit: "4B")
        try await respond(store, clock, first, at: 3 * Self.hour)                   // 2 h: in time
        try await respond(store, clock, first, at: 27 * Self.hour, .resolved)       // 26 h to resolution
        let second = try await file(store, clock, at: 2 * Self.day, "plumbing", .p2, unit: "4B")
        try await respond(store, clock, second, at: 2 * Self.day + 30 * Self.hour)  // 30 h: late
        let lift = try await file(store, clock, at: 3 * Self.day, "elevator", .p3, unit: "7A", place: "building 2 · elevator")
        try await respond(store, clock, lift, at: 3 * Self.day + 10 * Self.hour)    // 10 h: in time
        try await file(store, clock, at: 4 * Self.day, "plumbing", .p3, unit: "5C")
        let alarm = try await file(store, clock, at: 5 * Self.day, "noise", .p1, unit: "3A", model: true)
        let relabelled = try await file(store, clock, at: 6 * Self.day, "noise", .p3, unit: "3B", model: true, clarified: true)
        try await file(store, clock, at: 6 * Self.day + Self.hour, "noise", .p3, unit: "3C", model: true, clarified: false)
        try await file(store, clock, at: 9 * Self.day, "plumbing", .p3, unit: "4b")  // never answered: late by day 20
        try await file(store, clock, at: 10 * Self.day, "elevator", .p3, unit: "9C", place: "building 2 · elevator")
        try await file(store, clock, at: 12 * Self.day, "plumbing", .p3, unit: "5C")
        try await file(store, clock, at: 15 * Self.day, "elevator", .p3, unit: nil, place: "building 2 · elevator")
        clock.set(Self.monday.addingTimeInterval(16 * Self.day))
        try await store.changePriority(number: alarm, to: .p3, actor: "gina")
        try await store.changeCategory(number: relabelled, to: "neighbor_issue", actor: "gina")
        _ = try await rawSQL(store, "UPDATE tickets SET rating = 5 WHERE number = \(first)")
        _ = try await rawSQL(store, "UPDATE tickets SET rating = 3 WHERE number = \(lift)")
        clock.set(Self.monday.addingTimeInterval(20 * Self.day))
    }

    @Test(arguments: Backend.all)
    func theReportHasTheHistorysKnownAnswers(_ backend: Backend) async throws {
        let clock = ManualClock(Self.monday)
        try await withTestStore(backend, clock: clock) { store, _ in
            try await history(store, clock)
            let since = Self.monday.addingTimeInterval(-120 * Self.day), until = Self.monday.addingTimeInterval(20 * Self.day)
            let report = try await store.insights(since: since, until: until,
                                                  weekStart: InsightsReport.weekStart(onOrBefore: since))
            #expect(report.ticketsByWeek.reduce(0) { $0 + $1.count } == 12)
            #expect(report.ticketsByWeek.filter { $0.week == Self.monday }.reduce(0) { $0 + $1.count } == 7)
            #expect(report.weeks.contains(Self.monday) && report.weeks.count == 21, "from the Monday before the start")

            // Recurring: 4B's plumbing (4B and 4b are one unit) and building 2's elevator; 5C has
            // only two in the 90 days before the end (the third is 100 days before it).
            #expect(report.recurring.map { "\($0.category) at \($0.place)" } == ["elevator at building 2 · elevator", "plumbing at unit 4B"])
            let plumbing = try #require(report.recurring.last)
            #expect(plumbing.tickets == [2, 3, 9])
            #expect(plumbing.daysBetween.map { ($0 * 24).rounded() } == [47, 168])

            let p2 = try #require(report.sla.byPriority.first { $0.label == "P2" })
            #expect(p2.met == 1 && p2.breached == 1 && p2.metShare == 0.5)
            let p3 = try #require(report.sla.byPriority.first { $0.label == "P3" })
            #expect(p3.unansweredLate >= 1, "the unanswered plumbing ticket is past its 120 h target")
            #expect(report.sla.firstResponseHours.count == 4, "the old one, 2 h, 30 h, 10 h")
            #expect(report.sla.firstResponseHours.median == 2 && report.sla.firstResponseHours.p90 == 30)
            #expect(report.sla.resolutionHours.count == 1 && report.sla.resolutionHours.median == 26)

            #expect(report.satisfaction.ratings == 2 && report.satisfaction.meanRating == 4)
            #expect(report.satisfaction.distribution == [0, 0, 1, 0, 1])
            #expect(report.satisfaction.resolved == 1 && report.satisfaction.reopened == 0)

            let noise = try #require(report.modelHealth.first { $0.category == "noise" })
            #expect(noise.filed == 3 && noise.corrected == 2 && noise.p1Lowered == 1 && noise.raisedToP1 == 0)
            #expect(noise.clarified == 1 && noise.clarifyRecorded == 2)
            #expect(report.modelHealth.count == 1, "only tickets the assistant filed count")
            #expect(report.byLanguage.first { $0.label == "zh" }?.count == 3)
        }
    }

    @Test(arguments: Backend.all)
    func aRecurrenceNeedsThreeInNinetyDaysAndAPeriodMustBeValid(_ backend: Backend) async throws {
        let clock = ManualClock(Self.monday)
        try await withTestStore(backend, clock: clock) { store, _ in
            try await file(store, clock, at: 0, "pests", .p3, unit: "2A")
            try await file(store, clock, at: 45 * Self.day, "pests", .p3, unit: "2A")
            try await file(store, clock, at: 89 * Self.day, "pests", .p3, unit: "2A")
            try await file(store, clock, at: 89 * Self.day, "pests", .p3, unit: "2B")
            func recurring(until days: Double) async throws -> [RecurringProblem] {
                let until = Self.monday.addingTimeInterval(days * Self.day)
                return try await store.insights(since: Self.monday, until: until, weekStart: Self.monday).recurring
            }
            #expect(try await recurring(until: 90).map(\.tickets) == [[1, 2, 3]], "day 0 is inside a window ending on day 90")
            #expect(try await recurring(until: 90.01).isEmpty, "day 0 has left the window")
            let queue = try await store.queue()
            #expect(queue.first { $0.number == 3 }?.recurrenceCount == 3 && queue.first { $0.number == 3 }?.isRecurring == true)
            #expect(queue.first { $0.number == 2 }?.isRecurring == false && queue.first { $0.number == 4 }?.recurrenceCount == 1)
            await expectStoreError({ try await store.insights(since: Self.monday, until: Self.monday, weekStart: Self.monday) }) {
                if case .invalidInput = $0 { true } else { false }
            }
            #expect(throws: StoreError.self) {
                try InsightsPeriod(since: "2026-13-01", until: nil, timeZone: TimeZone(identifier: "UTC")!, now: Self.monday)
            }
            let period = try InsightsPeriod(since: "2026-11-01", until: "2026-11-30", timeZone: TimeZone(identifier: "Asia/Shanghai")!,
                                            now: Self.monday)
            #expect(period.until.timeIntervalSince(period.since) == 30 * Self.day, "both days included")
        }
    }
}

/// `store seed --demo`'s history shows what the insights are for.
@Suite("Demo history (both engines)")
struct DemoHistoryTests {
    @Test(arguments: Backend.all)
    func theDemoHistoryHasSeasonsAFailingElevatorRelabelsAndRatings(_ backend: Backend) async throws {
        let end = Date(timeIntervalSince1970: 1_799_971_200)  // 2027-01-15, winter
        let clock = ManualClock(end)
        try await withTestStore(backend, clock: clock) { store, _ in
            let filed = try await DemoSeeder(seed: 7, months: 2).run(store: store, clock: clock)
            #expect(filed > 200)
            let since = end.addingTimeInterval(-60 * 86_400)
            let report = try await store.insights(since: since, until: end, weekStart: InsightsReport.weekStart(onOrBefore: since))
            #expect(report.ticketsByWeek.reduce(0) { $0 + $1.count } == filed)
            #expect(report.recurring.contains { $0.place == "building 2 · elevator" && $0.tickets.count >= 4 }, "\(report.recurring.prefix(5))")
            #expect(report.recurring.contains { $0.category == "noise" && $0.place == "unit 12C" })
            let heating = report.ticketsByWeek.filter { $0.label == "heating_cooling" }.reduce(0) { $0 + $1.count }
            #expect(heating * 10 > filed, "heating is a tenth or more of a winter's tickets (\(heating) of \(filed))")
            #expect(report.satisfaction.ratings > 20 && report.satisfaction.reopened > 0)
            let elevator = try #require(report.satisfaction.byCategory.first { $0.category == "elevator" })
            #expect(elevator.meanRating < (report.satisfaction.meanRating ?? 0), "the failing elevator rates worst")
            #expect(report.modelHealth.reduce(0) { $0 + $1.p1Lowered } > 0 && report.modelHealth.reduce(0) { $0 + $1.corrected } > 10)
            let p2 = try #require(report.sla.byPriority.first { $0.label == "P2" })
            #expect(p2.breached > 0 && p2.met > p2.breached, "weekend requests wait for Monday")
            #expect(Set(report.byChannel.map(\.label)).isSuperset(of: ["telegram", "sms", "slack", "rest"]))
            #expect(report.byLanguage.contains { $0.label == "zh" })
        }
    }
}
