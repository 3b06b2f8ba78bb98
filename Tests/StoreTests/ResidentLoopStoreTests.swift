import Foundation
import Store
import Testing
import TestSupport

/// Status updates to the resident, "is it fixed?" and the rating, on every backend.
@Suite("Resident loop (both engines)")
struct ResidentLoopStoreTests {
    /// Words a test can recognise: the status, ticket, language and question.
    static let wording = StatusNotice(wording: { update in
        update.status == .triaged ? nil
            : "\(update.language ?? "-") #\(update.ticket) \(update.status.rawValue)\(update.question.map { " " + $0 } ?? "")"
                + (update.duplicateOf.map { " into #\($0)" } ?? "")
    })

    @Test(arguments: Backend.all)
    func staffChangesReachTheResidentInTheirLanguageUnlessQuiet(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            let li = ResidentInfo(channel: "telegram", externalID: "li", language: "zh")
            try await store.createTicket(draft(resident: li), actor: "t")                 // #1
            try await store.createTicket(draft(resident: li), actor: "t")                 // #2
            try await store.createTicket(draft(), actor: "t")                             // #3, filed by staff

            try await store.changeStatus(number: 1, to: .inProgress, actor: "gina", notice: Self.wording)
            var question = Self.wording
            question.question = "Which window?"
            try await store.changeStatus(number: 1, to: .pendingResident, actor: "gina", notice: question)
            var quiet = Self.wording
            quiet.quiet = true
            try await store.changeStatus(number: 1, to: .triaged, actor: "gina", notice: Self.wording)   // not worded
            try await store.changeStatus(number: 1, to: .inProgress, actor: "gina", notice: quiet)
            try await store.changeStatus(number: 1, to: .inProgress, actor: "gina", notice: Self.wording) // no change: nothing
            try await store.merge(number: 2, into: 1, actor: "gina", notice: Self.wording)
            try await store.changeStatus(number: 3, to: .resolved, actor: "gina", notice: Self.wording)  // no resident

            let sent = try await store.dueOutbox(now: Date.distantFuture)
            #expect(sent.map(\.text) == ["zh #1 in_progress", "zh #1 pending_resident Which window?", "zh #2 duplicate into #1"])
            #expect(Set(sent.map(\.recipient)) == ["li"] && Set(sent.map(\.channel)) == ["telegram"])
            let detail = try await store.ticketDetail(number: 1)
            #expect(detail.notes.map(\.text) == ["Which window?"] && detail.notes.first?.visibility == .public)
            #expect(detail.events.map(\.kind).filter { $0.hasPrefix("resident_") }
                    == ["resident_told", "resident_told", "resident_not_told"])
        }
    }

    @Test(arguments: Backend.all)
    func fixedClosesNotFixedReopensWithANewClockAndARatingIsKept(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ana = ResidentInfo(channel: "rest", externalID: "ana", language: "en")
            try await store.createTicket(draft("plumbing", .p2, resident: ana), actor: "t")   // #1
            try await store.createTicket(draft("lighting", .p3, resident: ana), actor: "t")   // #2
            for number in [1, 2] { try await store.changeStatus(number: number, to: .resolved, actor: "gina") }
            #expect(try await store.ticket(number: 1).resolvedAt == db.clock.now)
            db.clock.advance(by: 3_600)

            let first = try await store.commitTurn(ConversationTurn(
                resident: ana, deliveryID: "d-1", inboundText: "yes", expectedVersion: 0, newState: nil,
                actions: [.confirmFixed(ticket: 1)], reply: "Glad it's fixed"))
            _ = try await store.commitTurn(ConversationTurn(
                resident: ana, deliveryID: "d-2", inboundText: "5 quick work", expectedVersion: first.version, newState: nil,
                actions: [.rate(ticket: 1, rating: 5, comment: "quick work"), .reportNotFixed(ticket: 2, text: "still dark")],
                reply: "Thanks"))
            let fixed = try await store.ticket(number: 1)
            #expect(fixed.status == .closed && fixed.residentConfirmation == .fixed)
            #expect(fixed.rating == 5 && fixed.ratingComment == "quick work")
            let reopened = try await store.ticket(number: 2)
            #expect(reopened.status == .inProgress && reopened.residentConfirmation == .notFixed && reopened.resolvedAt == nil)
            #expect(reopened.firstResponseAt == nil && reopened.slaDueAt == ResponseTargets.standard.dueDate(for: .p3, createdAt: db.clock.now),
                    "the response clock starts again")
            #expect(try await store.ticketDetail(number: 2).notes.map(\.text) == ["Not fixed: still dark"])

            // Not resolved any more, out of range, or someone else's: refused.
            let outcome = try await store.storedOutcome(channel: "rest", externalID: "ana", deliveryID: "d-2")
            await expectStoreError({
                try await store.commitTurn(ConversationTurn(resident: ana, deliveryID: "d-3", inboundText: "yes",
                                                            expectedVersion: outcome?.version ?? 0, newState: nil,
                                                            actions: [.confirmFixed(ticket: 2)], reply: nil))
            }) { if case .illegalTransition = $0 { true } else { false } }
            await expectStoreError({
                try await store.commitTurn(ConversationTurn(resident: ana, deliveryID: "d-4", inboundText: "9",
                                                            expectedVersion: outcome?.version ?? 0, newState: nil,
                                                            actions: [.rate(ticket: 1, rating: 9, comment: nil)], reply: nil))
            }) { if case .invalidInput = $0 { true } else { false } }
            let other = ResidentInfo(channel: "rest", externalID: "bo")
            await expectStoreError({
                try await store.commitTurn(ConversationTurn(resident: other, deliveryID: "d-5", inboundText: "1", expectedVersion: 0,
                                                            newState: nil, actions: [.rate(ticket: 1, rating: 1, comment: nil)],
                                                            reply: nil))
            }) { $0 == .ticketNotFound(1) }
            #expect(try await store.ticket(number: 1).rating == 5)
        }
    }

    @Test(arguments: Backend.all)
    func aReopenedTicketLeadsItsPriorityAndUpdatesShowTheirDelivery(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ana = ResidentInfo(channel: "rest", externalID: "ana", language: "en")
            try await store.createTicket(draft("plumbing", .p3), actor: "t")                    // #1, older
            db.clock.advance(by: 60)
            try await store.createTicket(draft("lighting", .p3, resident: ana), actor: "t")     // #2
            try await store.createTicket(draft("noise", .p2), actor: "t")                       // #3
            try await store.changeStatus(number: 2, to: .resolved, actor: "gina", notice: Self.wording)
            #expect(try await store.ticketDetail(number: 2).transcript.map(\.delivery) == [nil, .pending])
            let queued = try #require(try await store.dueOutbox(now: .distantFuture).first)
            try await store.markOutboxSent(id: queued.id, deliveryID: "m-1")
            #expect(try await store.ticketDetail(number: 2).transcript.last?.delivery == .sent)
            _ = try await store.commitTurn(ConversationTurn(resident: ana, deliveryID: "d-1", inboundText: "no", expectedVersion: 0,
                                                            newState: nil, actions: [.reportNotFixed(ticket: 2, text: "no")],
                                                            reply: nil))
            #expect(try await store.queue().map(\.number) == [3, 2, 1], "P2 first, then the reopened P3 before the older one")
            #expect(try await store.queue().first { $0.number == 2 }?.residentConfirmation == .notFixed)
        }
    }

    @Test(arguments: Backend.all)
    func resolutionsNobodyConfirmsAreClosedOnceAfterTheWait(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            for _ in 0..<3 { try await store.createTicket(draft(), actor: "t") }
            try await store.changeStatus(number: 1, to: .resolved, actor: "gina")
            db.clock.advance(by: 86_400)
            try await store.changeStatus(number: 2, to: .resolved, actor: "gina")
            try await store.changeStatus(number: 3, to: .inProgress, actor: "gina")
            let cutoff = db.clock.now.addingTimeInterval(-3_600)
            #expect(try await store.closeUnconfirmedResolutions(resolvedBefore: cutoff, actor: "auto") == [1])
            #expect(try await store.closeUnconfirmedResolutions(resolvedBefore: cutoff, actor: "auto").isEmpty, "closed once")
            let closed = try await store.ticket(number: 1)
            #expect(closed.status == .closed && closed.residentConfirmation == .autoClosed)
            #expect(try await store.ticketDetail(number: 1).events.last.map { "\($0.actor) \($0.kind) \($0.to ?? "")" }
                    == "auto status closed")
            let (second, third) = (try await store.ticket(number: 2), try await store.ticket(number: 3))
            #expect(second.status == .resolved && third.status == .inProgress)
        }
    }
}
