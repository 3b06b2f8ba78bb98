import Foundation
import Testing
@testable import Store

/// The shared suite: every test body runs once per engine (SQLite, PostgreSQL).
@Suite("Ticket store (both engines)")
struct TicketStoreTests {
    @Test func postgresIsConfigured() throws {
        if Backend.postgresSkipped { return }
        if Backend.postgresURL == nil { throw MissingPostgres() }
    }

    @Test(arguments: Backend.all)
    func createsTicketsWithNumbersSLAAndAuditEvent(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let start = db.clock.now
            var full = TicketDraft(category: "plumbing", priority: .p1, description: "水从天花板漏下来了 — water through the ceiling, unit #12",
                                   unit: "12", location: "bathroom", accessNotes: "dog in unit, call first", confidence: 0.87,
                                   modelVersion: "enc-2026-11", safetyRule: "flooding")
            let first = try await store.createTicket(full, actor: "alice")
            db.clock.advance(by: 60)
            full.priority = .p4
            let second = try await store.createTicket(full, actor: "alice")
            let third = try await store.createTicket(draft(), actor: "bob")
            let numbers: [Int] = [first.number, second.number, third.number]
            #expect(numbers == [1, 2, 3])

            let stored = try await store.ticket(number: 1)
            #expect(stored == first)
            #expect(stored.status == .new)
            #expect(stored.description == full.description)
            #expect(stored.unit == "12" && stored.location == "bathroom" && stored.accessNotes == "dog in unit, call first")
            #expect(stored.confidence == 0.87 && stored.modelVersion == "enc-2026-11" && stored.safetyRule == "flooding")
            #expect(stored.slaDueAt == start.addingTimeInterval(3600), "P1 is due in 1 hour")
            #expect(try await store.ticket(number: 2).slaDueAt == nil, "P4 has no response target")
            #expect(try await store.ticket(number: 3).slaDueAt == start.addingTimeInterval(60 + 120 * 3600))

            let detail = try await store.ticketDetail(number: 1)
            #expect(detail.events.map(\.kind) == ["created"])
            #expect(detail.events.first?.actor == "alice")
            #expect(detail.resident == nil && detail.transcript.isEmpty)

            await expectStoreError({ try await store.ticket(number: 99) }) { $0 == .ticketNotFound(99) }
            await expectStoreError({ try await store.createTicket(draft(text: "   "), actor: "a") }) {
                if case .invalidInput = $0 { return true } else { return false }
            }
            #expect(try await store.ticketNumbers() == [1, 2, 3], "a refused ticket takes no number")
        }
    }

    @Test(arguments: Backend.all)
    func queueSortsByPriorityThenAgeAndFilters(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            // number: priority, category
            let specs: [(Priority, String)] = [(.p3, "plumbing"), (.p1, "elevator"), (.p3, "noise"), (.p2, "plumbing"),
                                                     (.p1, "safety_hazard"), (.p4, "parking"), (.p2, "heating_cooling")]
            for (priority, category) in specs {
                try await store.createTicket(draft(category, priority), actor: "t")
                db.clock.advance(by: 10)
            }
            #expect(try await store.queue().map(\.number) == [2, 5, 4, 7, 1, 3, 6])
            #expect(try await store.queue(QueueFilter(limit: 3)).map(\.number) == [2, 5, 4])

            try await store.changeStatus(number: 5, to: .resolved, actor: "t")
            try await store.changeStatus(number: 4, to: .inProgress, actor: "t")
            try await store.assign(number: 4, to: "carol", actor: "t")
            try await store.assign(number: 7, to: "dave", actor: "t")
            #expect(try await store.queue().map(\.number) == [2, 4, 7, 1, 3, 6], "resolved tickets leave the queue")
            #expect(try await store.queue(QueueFilter(statuses: [.resolved])).map(\.number) == [5])
            #expect(try await store.queue(QueueFilter(statuses: [.inProgress, .new], categories: ["plumbing"])).map(\.number) == [4, 1])
            #expect(try await store.queue(QueueFilter(priorities: [.p2, .p4])).map(\.number) == [4, 7, 6])
            #expect(try await store.queue(QueueFilter(assignee: "carol")).map(\.number) == [4])
            #expect(try await store.queue(QueueFilter(unassignedOnly: true)).map(\.number) == [2, 1, 3, 6])
            #expect(try await store.queue(QueueFilter(categories: ["nothing"])).isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func openTicketsOfSeveralCategoriesInOneReadNewestFirstAndCapped(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let old = try await store.createTicket(draft("plumbing", .p3), actor: "t")  // #1, before the window
            db.clock.advance(by: 3600)
            let since = db.clock.now
            for category in ["plumbing", "plumbing", "plumbing", "lighting", "noise", "lighting"] {  // #2 … #7
                try await store.createTicket(draft(category, .p3), actor: "t")
                db.clock.advance(by: 10)
            }
            try await store.changeStatus(number: 5, to: .resolved, actor: "t")  // lighting #5 closed
            let open = try await store.openTickets(categories: ["plumbing", "lighting", "elevator"], since: since, limit: 2)
            #expect(open["plumbing"]?.map(\.number) == [4, 3], "newest first, at most two, nothing before the window")
            #expect(open["lighting"]?.map(\.number) == [7], "closed tickets are not candidates")
            #expect(open["elevator"] == nil && open["noise"] == nil, "a category with none, or not asked for, is absent")
            #expect(!(open["plumbing"] ?? []).contains { $0.number == old.number })
            #expect(try await store.openTickets(categories: [], since: since).isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func statusMachineWithAuditLogAndTypedErrors(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let created = try await store.createTicket(draft("plumbing", .p2), actor: "t")
            db.clock.advance(by: 600)
            for status in [TicketStatus.triaged, .inProgress, .resolved] {
                try await store.changeStatus(number: 1, to: status, actor: "erin")
                db.clock.advance(by: 60)
            }
            var ticket = try await store.ticket(number: 1)
            #expect(ticket.firstResponseAt == created.createdAt.addingTimeInterval(660), "moving to in_progress is the first response")
            #expect(ticket.sla(now: db.clock.now) == .met)
            #expect(ticket.closedAt == nil)

            // Illegal: resolved → new; the error is typed, explains, and changes nothing.
            let before = try await store.ticketDetail(number: 1)
            let error = await expectStoreError({ try await store.changeStatus(number: 1, to: .new, actor: "erin") }) {
                $0 == .illegalTransition(ticket: 1, from: .resolved, to: .new)
            }
            #expect(error?.description.contains("from resolved it can go to: closed, in_progress") == true)
            #expect(try await store.ticketDetail(number: 1) == before)

            try await store.changeStatus(number: 1, to: .closed, actor: "erin")
            ticket = try await store.ticket(number: 1)
            #expect(ticket.closedAt == db.clock.now)
            let final = await expectStoreError({ try await store.changeStatus(number: 1, to: .inProgress, actor: "erin") }) {
                $0 == .illegalTransition(ticket: 1, from: .closed, to: .inProgress)
            }
            #expect(final?.description.contains("closed is final") == true)
            await expectStoreError({ try await store.changeStatus(number: 1, to: .duplicate, actor: "erin") }) {
                $0 == .illegalTransition(ticket: 1, from: .closed, to: .duplicate)
            }

            let events = try await store.ticketDetail(number: 1).events
            #expect(events.map(\.kind) == ["created", "status", "status", "status", "status"])
            #expect(events.dropFirst().map { "\($0.from ?? "")>\($0.to ?? "")" }
                    == ["new>triaged", "triaged>in_progress", "in_progress>resolved", "resolved>closed"])
            #expect(events.dropFirst().allSatisfy { $0.actor == "erin" })

            // Same status again: nothing happens, no event.
            try await store.createTicket(draft(), actor: "t")
            try await store.changeStatus(number: 2, to: .new, actor: "erin")
            #expect(try await store.ticketDetail(number: 2).events.count == 1)
            // Reopening a resolved ticket clears closedAt only for final statuses; rejected → triaged reopens.
            try await store.changeStatus(number: 2, to: .rejected, actor: "erin")
            #expect(try await store.ticket(number: 2).closedAt != nil)
            try await store.changeStatus(number: 2, to: .triaged, actor: "erin")
            #expect(try await store.ticket(number: 2).closedAt == nil)
        }
    }

    @Test(arguments: Backend.all)
    func reprioritisingAndRecategorisingRecordCorrections(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ticket = try await store.createTicket(draft("noise", .p3, "the radiator in 4B is banging all night"), actor: "t")
            db.clock.advance(by: 30)
            let reprioritised = try await store.changePriority(number: 1, to: .p2, actor: "frank")
            #expect(reprioritised.slaDueAt == ticket.createdAt.addingTimeInterval(24 * 3600), "SLA recomputed from creation")
            try await store.changeCategory(number: 1, to: "heating_cooling", actor: "frank")
            // No-ops record nothing.
            try await store.changeCategory(number: 1, to: "heating_cooling", actor: "frank")
            try await store.changePriority(number: 1, to: .p2, actor: "frank")

            let corrections = try await store.corrections()
            #expect(corrections.map(\.field) == ["priority", "category"])
            #expect(corrections.allSatisfy { $0.text == "the radiator in 4B is banging all night" && $0.actor == "frank" })
            #expect(corrections[0].from == "P3" && corrections[0].to == "P2" && corrections[0].category == "noise")
            #expect(corrections[1].from == "noise" && corrections[1].to == "heating_cooling" && corrections[1].priority == .p2)
            #expect(try await store.ticketDetail(number: 1).events.map(\.kind) == ["created", "priority", "category"])

            try await store.markCorrectionsExported(ids: corrections.map(\.id))
            #expect(try await store.corrections().isEmpty)
            #expect(try await store.corrections(includeExported: true).count == 2)
            await expectStoreError({ try await store.changeCategory(number: 1, to: " ", actor: "f") }) {
                if case .invalidInput = $0 { return true } else { return false }
            }
        }
    }

    @Test(arguments: Backend.all)
    func notesMergesAndDuplicates(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            let resident = ResidentInfo(channel: "telegram", externalID: "u-77", displayName: "Gao", language: "zh", unit: "7C")
            try await store.createTicket(draft("elevator", .p2, "电梯坏了", resident: resident), actor: "t")
            try await store.createTicket(draft("elevator", .p2, "elevator broken again"), actor: "t")
            try await store.createTicket(draft("elevator", .p3, "elevator noisy"), actor: "t")

            try await store.addNote(number: 1, text: "called the elevator company", visibility: .internal, actor: "gina")
            #expect(try await store.dueOutbox(now: Date.distantFuture).isEmpty, "internal notes are not sent")
            try await store.addNote(number: 1, text: "技术员明天上午来", visibility: .public, actor: "gina")
            let outbox = try await store.dueOutbox(now: Date.distantFuture)
            #expect(outbox.count == 1)
            #expect(outbox.first?.text == "#1: 技术员明天上午来" && outbox.first?.recipient == "u-77" && outbox.first?.channel == "telegram")
            let detail = try await store.ticketDetail(number: 1)
            #expect(detail.notes.map(\.visibility) == [.internal, .public])
            #expect(detail.ticket.firstResponseAt != nil, "a public note is a response")
            #expect(detail.transcript.map(\.direction) == [.inbound, .outbound])
            #expect(detail.resident?.displayName == "Gao")

            let merged = try await store.merge(number: 2, into: 1, actor: "gina")
            #expect(merged.status == .duplicate && merged.duplicateOf == 1)
            #expect(try await store.ticket(number: 2).duplicateOf == 1)
            #expect(try await store.ticketDetail(number: 2).events.last.map { "\($0.kind) \($0.to ?? "")" } == "merged_into #1")
            #expect(try await store.ticketDetail(number: 1).events.last.map { "\($0.kind) \($0.to ?? "")" } == "merged #2")
            #expect(!(try await store.queue()).map(\.number).contains(2))

            await expectStoreError({ try await store.merge(number: 3, into: 3, actor: "g") }) {
                if case .invalidMerge = $0 { return true } else { return false }
            }
            await expectStoreError({ try await store.merge(number: 3, into: 2, actor: "g") }) {
                if case .invalidMerge(3, 2, let reason) = $0 { return reason.contains("merge into that one") } else { return false }
            }
            await expectStoreError({ try await store.merge(number: 2, into: 3, actor: "g") }) {
                if case .invalidMerge(2, 3, let reason) = $0 { return reason.contains("only open tickets") } else { return false }
            }
            await expectStoreError({ try await store.merge(number: 3, into: 42, actor: "g") }) { $0 == .ticketNotFound(42) }
            // Un-merge.
            let reopened = try await store.changeStatus(number: 2, to: .triaged, actor: "gina")
            #expect(reopened.duplicateOf == nil)
            #expect(try await store.ticket(number: 2).duplicateOf == nil)
        }
    }

    @Test(arguments: Backend.all)
    func conversationTurnsAreIdempotentAndVersioned(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let resident = ResidentInfo(channel: "telegram", externalID: "42", displayName: "Ana", language: "en", unit: "4B")
            #expect(try await store.conversation(channel: "telegram", externalID: "42") == nil)
            let state = Data("{\"step\":\"ask_location\",\"slots\":{\"category\":\"plumbing\"}}".utf8)
            let turn = ConversationTurn(resident: resident, deliveryID: "m-1", inboundText: "my sink leaks", expectedVersion: 0,
                                        newState: state, tickets: [draft("plumbing", .p3, "my sink leaks")],
                                        reply: "Filed #1. Where exactly is the leak?")
            let first = try await store.commitTurn(turn)
            #expect(first.committed && first.ticketNumbers == [1] && first.version == 1)

            // A redelivery: same reply and ticket, nothing new written.
            db.clock.advance(by: 5)
            let again = try await store.commitTurn(turn)
            #expect(!again.committed)
            #expect(again.reply == first.reply && again.ticketNumbers == [1] && again.version == 1)
            #expect(try await store.storedOutcome(channel: "telegram", externalID: "42", deliveryID: "m-1")?.reply == first.reply)
            #expect(try await store.ticketNumbers() == [1])
            #expect(try await store.statistics().messages == 2)
            #expect(try await store.dueOutbox(now: db.clock.now).count == 1)

            let snapshot = try #require(try await store.conversation(channel: "telegram", externalID: "42"))
            #expect(snapshot.state == state && snapshot.version == 1 && !snapshot.handoff)
            #expect(snapshot.resident.displayName == "Ana" && snapshot.resident.unit == "4B")

            // A turn computed from a stale version is refused, and writes nothing.
            var stale = turn
            stale.deliveryID = "m-2"
            stale.inboundText = "hello?"
            await expectStoreError({ try await store.commitTurn(stale) }) {
                $0 == .conversationChanged(conversationID: snapshot.conversationID, expected: 0, found: 1)
            }
            #expect(try await store.storedOutcome(channel: "telegram", externalID: "42", deliveryID: "m-2") == nil)
            #expect(try await store.statistics().messages == 2)

            // The next turn, with handoff and no reply and no ticket.
            let next = ConversationTurn(resident: resident, deliveryID: "m-2", inboundText: "can I talk to a person", expectedVersion: 1,
                                        newState: nil, handoff: true, reply: nil)
            let outcome = try await store.commitTurn(next)
            #expect(outcome.committed && outcome.version == 2 && outcome.ticketNumbers.isEmpty && outcome.reply == nil)
            let handedOff = try #require(try await store.conversation(channel: "telegram", externalID: "42"))
            #expect(handedOff.handoff && handedOff.state == nil)
            // Same delivery id on another channel is a different message.
            let otherChannel = ResidentInfo(channel: "terminal", externalID: "42")
            #expect(try await store.commitTurn(ConversationTurn(resident: otherChannel, deliveryID: "m-1", inboundText: "hi",
                                                                 expectedVersion: 0, newState: nil, reply: "Hello!")).committed)

            // The ticket shows the conversation.
            let detail = try await store.ticketDetail(number: 1)
            #expect(detail.transcript.map(\.text) == ["my sink leaks", "Filed #1. Where exactly is the leak?", "can I talk to a person"])
            #expect(detail.transcript.first?.deliveryID == "m-1")
            #expect(detail.events.first?.actor == "concierge")
        }
    }

    @Test(arguments: Backend.all)
    func oneDeliveryIDFromTwoResidentsIsTwoMessages(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            // REST integrators number each resident's messages: alice's "m1" and bob's "m1" are different messages.
            let alice = ResidentInfo(channel: "rest", externalID: "alice")
            let bob = ResidentInfo(channel: "rest", externalID: "bob")
            let first = try await store.commitTurn(ConversationTurn(
                resident: alice, deliveryID: "coll-1", inboundText: "I smell gas in unit 1234", expectedVersion: 0,
                newState: nil, tickets: [draft("gas", .p1, "I smell gas in unit 1234")], reply: "Filed #\(ConversationTurn.ticketNumberPlaceholder)"))
            #expect(first.committed && first.ticketNumbers == [1])
            let start = try await store.turnStart(channel: "rest", externalID: "bob", deliveryID: "coll-1")
            #expect(start.storedOutcome == nil, "bob's message is not alice's redelivery")
            let second = try await store.commitTurn(ConversationTurn(
                resident: bob, deliveryID: "coll-1", inboundText: "hello", expectedVersion: 0, newState: nil, reply: "Hello!"))
            #expect(second.committed && second.reply == "Hello!" && second.ticketNumbers.isEmpty)
            #expect(try await store.statistics().messages == 4)
            // Each resident's redelivery gets their own reply back.
            #expect(try await store.storedOutcome(channel: "rest", externalID: "alice", deliveryID: "coll-1")?.reply == first.reply)
            #expect(try await store.storedOutcome(channel: "rest", externalID: "bob", deliveryID: "coll-1")?.reply == "Hello!")

            // Should a key ever point at another resident's conversation (tampering, a digest collision),
            // the store refuses rather than answer with that resident's reply.
            let carolKey = ConversationTurn.idempotencyKey(externalID: "carol", deliveryID: "coll-1")
            _ = try await rawSQL(store, """
                INSERT INTO idempotency_keys (channel, delivery_id, conversation_id, reply, ticket_numbers, state_version, created_at)
                SELECT 'rest', '\(carolKey)', conversation_id, reply, ticket_numbers, state_version, created_at
                FROM idempotency_keys WHERE reply = 'Hello!'
                """)
            await expectStoreError({ try await store.storedOutcome(channel: "rest", externalID: "carol", deliveryID: "coll-1") }) {
                $0 == .deliveryIDConflict(channel: "rest")
            }
            let carol = ResidentInfo(channel: "rest", externalID: "carol")
            await expectStoreError({
                try await store.commitTurn(ConversationTurn(resident: carol, deliveryID: "coll-1", inboundText: "hi",
                                                            expectedVersion: 0, newState: nil, reply: "Hi"))
            }) { $0 == .deliveryIDConflict(channel: "rest") }
        }
    }

    @Test(arguments: Backend.all)
    func aPossibleEmergencyIsConfirmedSettledAndCompletedByItsResident(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let resident = ResidentInfo(channel: "sms", externalID: "+16045550142")
            var possible = draft("plumbing", .p2, "water under the dishwasher")
            possible.emergency = .unconfirmed
            let filed = try await store.commitTurn(ConversationTurn(resident: resident, deliveryID: "d-1", inboundText: "water",
                                                                    expectedVersion: 0, newState: nil, tickets: [possible, possible],
                                                                    reply: "Is anyone in danger?"))
            #expect(try await store.ticket(number: 1).emergency == .unconfirmed)
            db.clock.advance(by: 60)
            _ = try await store.commitTurn(ConversationTurn(
                resident: resident, deliveryID: "d-2", inboundText: "yes", expectedVersion: filed.version, newState: nil,
                actions: [.confirmEmergency(ticket: 1), .settleEmergency(ticket: 2, priority: .p3),
                          .completeRequest(ticket: 2, unit: "4B", location: "kitchen", accessNotes: "access: yes")],
                reply: "P1 now"))
            let confirmed = try await store.ticket(number: 1)
            #expect(confirmed.priority == .p1 && confirmed.emergency == .residentConfirmed)
            #expect(confirmed.slaDueAt == ResponseTargets.standard.dueDate(for: .p1, createdAt: confirmed.createdAt))
            let settled = try await store.ticket(number: 2)
            #expect(settled.priority == .p3 && settled.emergency == nil)
            #expect(settled.unit == "4B" && settled.location == "kitchen" && settled.accessNotes == "access: yes")
            #expect(try await store.ticketDetail(number: 1).events.map(\.kind).contains("emergency"))
            #expect(try await store.corrections().isEmpty, "a resident's answer is not a staff correction")
            // Another resident cannot touch them.
            let other = ResidentInfo(channel: "sms", externalID: "+16045550199")
            await expectStoreError({
                try await store.commitTurn(ConversationTurn(resident: other, deliveryID: "d-3", inboundText: "yes", expectedVersion: 0,
                                                            newState: nil, actions: [.confirmEmergency(ticket: 2)], reply: nil))
            }) { $0 == .ticketNotFound(2) }
        }
    }

    @Test(arguments: Backend.all)
    func aFailedTurnLeavesNoTrace(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            let resident = ResidentInfo(channel: "sms", externalID: "+16045550142")
            let turn = ConversationTurn(resident: resident, deliveryID: "d-1", inboundText: "two things", expectedVersion: 0,
                                        newState: nil, tickets: [draft(), draft(text: "")], reply: "ok")
            await expectStoreError({ try await store.commitTurn(turn) }) {
                if case .invalidInput = $0 { return true } else { return false }
            }
            let stats = try await store.statistics()
            #expect(stats.tickets == 0 && stats.messages == 0 && stats.residents == 0 && stats.outboxPending == 0)
            #expect(try await store.storedOutcome(channel: "sms", externalID: "+16045550142", deliveryID: "d-1") == nil)
            // The counter rolled back too: the next ticket is #1.
            #expect(try await store.createTicket(draft(), actor: "t").number == 1)
        }
    }

    @Test(arguments: Backend.all)
    func outboxRetriesAndSends(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let resident = ResidentInfo(channel: "telegram", externalID: "9")
            _ = try await store.commitTurn(ConversationTurn(resident: resident, deliveryID: "a", inboundText: "hi", expectedVersion: 0,
                                                            newState: nil, reply: "Hello"))
            let item = try #require(try await store.dueOutbox(now: db.clock.now).first)
            #expect(item.text == "Hello" && item.attempts == 0)
            let retryAt = db.clock.now.addingTimeInterval(30)
            try await store.markOutboxFailed(id: item.id, error: "HTTP 502 for +1 604 555 0142", retryAt: retryAt)
            #expect(try await store.dueOutbox(now: db.clock.now).isEmpty)
            let retried = try #require(try await store.dueOutbox(now: retryAt).first)
            #expect(retried.attempts == 1 && retried.lastError == "HTTP 502 for [phone …42]", "errors are stored masked")
            try await store.markOutboxSent(id: item.id, deliveryID: "tg-555")
            #expect(try await store.dueOutbox(now: Date.distantFuture).isEmpty)
            let transcript = try await store.run(StoreOperation(.read) { session, _ in
                try session.query("SELECT delivery_id FROM messages WHERE direction = 'out'", []).compactMap { $0.string("delivery_id") }
            })
            #expect(transcript == ["tg-555"])
        }
    }

    /// Queues one reply for each of `count` residents of `channel`; returns the outbox ids, oldest first.
    private func queueReplies(_ store: any TicketStore, _ clock: ManualClock, channel: String, count: Int,
                              from first: Int = 0) async throws -> [Int64] {
        for index in first..<(first + count) {
            _ = try await store.commitTurn(ConversationTurn(resident: ResidentInfo(channel: channel, externalID: "r\(index)"),
                                                            deliveryID: "\(channel)-\(index)", inboundText: "hi", expectedVersion: 0,
                                                            newState: nil, reply: "Reply \(index)"))
            clock.advance(by: 1)
        }
        return try await store.dueOutbox(now: Date.distantFuture, limit: 1_000, channel: channel).map(\.id)
    }

    @Test(arguments: Backend.all)
    func concurrentClaimsNeverShareAnItemAndLeasesRunOut(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let telegram = try await queueReplies(store, db.clock, channel: "telegram", count: 7)
            let slack = try await queueReplies(store, db.clock, channel: "slack", count: 1, from: 100)
            let now = db.clock.now
            // Four workers claim at the same time, two items each.
            async let a = store.claimOutbox(now: now, lease: 60, limit: 2, channels: ["telegram"])
            async let b = store.claimOutbox(now: now, lease: 60, limit: 2, channels: ["telegram"])
            async let c = store.claimOutbox(now: now, lease: 60, limit: 2, channels: ["telegram"])
            async let d = store.claimOutbox(now: now, lease: 60, limit: 2, channels: ["telegram"])
            let claims = try await [a, b, c, d]
            let claimed = claims.flatMap { $0 }.map(\.id)
            #expect(claims.allSatisfy { $0.count <= 2 })
            #expect(claimed.count == Set(claimed).count, "an item was claimed twice: \(claims.map { $0.map(\.id) })")
            #expect(Set(claimed) == Set(telegram), "every due item is claimed by someone")
            let leaseEnd = Date(millisecondsSince1970: now.addingTimeInterval(60).millisecondsSince1970)
            #expect(claims.flatMap { $0 }.allSatisfy { $0.nextAttemptAt == leaseEnd && $0.channel == "telegram" })
            #expect(claims.flatMap { $0 }.allSatisfy { $0.text.hasPrefix("Reply ") && $0.recipient.hasPrefix("r") })

            // Leased items are not due for anyone else; other channels are untouched.
            #expect(try await store.claimOutbox(now: now, lease: 60, limit: 10, channels: ["telegram"]).isEmpty)
            #expect(try await store.dueOutbox(now: now, channel: "telegram").isEmpty)
            #expect(try await store.dueOutbox(now: now, channel: "slack").map(\.id) == slack)
            #expect(try await store.claimOutbox(now: now, lease: 60, limit: 10, channels: []).isEmpty)

            // The workers died: once the lease runs out the items are due again, oldest first.
            db.clock.advance(by: 59)
            #expect(try await store.claimOutbox(now: db.clock.now, lease: 60, limit: 10, channels: ["telegram"]).isEmpty)
            db.clock.advance(by: 1)
            let again = try await store.claimOutbox(now: db.clock.now, lease: 30, limit: 10, channels: ["telegram", "slack"])
            #expect(again.map(\.id) == slack + telegram, "the Slack reply has waited longest")
            #expect(again.allSatisfy { $0.attempts == 0 }, "a claim is not an attempt")

            // Releasing checks the lease: a stale one releases nothing.
            let stale = try await store.releaseOutbox(ids: telegram, leasedUntil: leaseEnd, dueAt: db.clock.now)
            #expect(stale == 0)
            let released = try await store.releaseOutbox(ids: Array(telegram.prefix(3)), leasedUntil: again[0].nextAttemptAt,
                                                         dueAt: db.clock.now)
            #expect(released == 3)
            #expect(try await store.dueOutbox(now: db.clock.now).map(\.id) == Array(telegram.prefix(3)))
            await expectStoreError({ try await store.claimOutbox(now: now, lease: 0, limit: 1, channels: ["slack"]) }) {
                if case .invalidInput = $0 { return true } else { return false }
            }
        }
    }

    @Test(arguments: Backend.all)
    func anAbandonedReplyIsNeverDueAgain(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ids = try await queueReplies(store, db.clock, channel: "sms", count: 2)
            let claimed = try await store.claimOutbox(now: db.clock.now, lease: 60, limit: 1, channels: ["sms"])
            #expect(claimed.map(\.id) == [ids[0]])
            try await store.abandonOutbox(id: ids[0], error: "twilio: HTTP 400, code 21211: 'To' +1 604 555 0142 is not a valid phone number")
            #expect(try await store.statistics().outboxPending == 1)
            #expect(try await store.claimOutbox(now: Date.distantFuture, lease: 60, limit: 10, channels: ["sms"]).map(\.id) == [ids[1]])
            #expect(try await store.dueOutbox(now: Date.distantFuture).isEmpty)
            let row = try #require(try await store.run(StoreOperation(.read) { session, _ in
                try session.queryOne("SELECT attempts, last_error, sent_at, cancelled_at FROM outbox WHERE id = ?", [.integer(ids[0])])
            }))
            #expect(row.int("attempts") == 1 && row.date("sent_at") == nil && row.date("cancelled_at") == db.clock.now)
            #expect(row.string("last_error") == "twilio: HTTP 400, code 21211: 'To' [phone …42] is not a valid phone number")
            // Abandoning twice changes nothing.
            try await store.abandonOutbox(id: ids[0], error: "again")
            #expect(try await rawInt(store, "SELECT attempts FROM outbox WHERE id = \(ids[0])") == 1)
        }
    }

    @Test(arguments: Backend.all)
    func forgettingAResidentErasesPersonalDataButKeepsStatistics(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            let resident = ResidentInfo(channel: "telegram", externalID: "555", displayName: "Li Wei", unit: "9A")
            _ = try await store.commitTurn(ConversationTurn(resident: resident, deliveryID: "1", inboundText: "no hot water, call me 604-555-0101",
                                                            expectedVersion: 0, newState: Data("{\"name\":\"Li\"}".utf8),
                                                            tickets: [TicketDraft(category: "plumbing", priority: .p2, description: "no hot water",
                                                                                  unit: "9A", accessNotes: "code 1234")],
                                                            reply: "Filed #1"))
            try await store.createTicket(draft("noise", .p3, "someone else's ticket"), actor: "t")
            try await store.addNote(number: 1, text: "spoke to Li Wei", visibility: .internal, actor: "h")
            try await store.changePriority(number: 1, to: .p1, actor: "h")

            let report = try await store.forgetResident("telegram:555", actor: "privacy-officer")
            #expect(report.messagesRedacted == 2 && report.ticketsAnonymised == 1 && report.notesRedacted == 1)
            #expect(report.correctionsRedacted == 1 && report.outboxCancelled == 1)

            let detail = try await store.ticketDetail(number: 1)
            #expect(detail.ticket.description == nil && detail.ticket.unit == nil && detail.ticket.accessNotes == nil)
            #expect(detail.ticket.category == "plumbing" && detail.ticket.priority == .p1 && detail.ticket.status == .new)
            #expect(detail.transcript.allSatisfy { $0.text == nil })
            #expect(detail.notes.allSatisfy { $0.text == nil })
            #expect(detail.events.last?.kind == "redacted")
            #expect(detail.resident?.displayName == nil && detail.resident?.externalID == "forgotten-\(report.residentID)")
            #expect(detail.resident?.forgottenAt != nil)
            #expect(try await store.corrections().allSatisfy { $0.text == nil })
            #expect(try await store.dueOutbox(now: Date.distantFuture).isEmpty)
            #expect(try await store.storedOutcome(channel: "telegram", externalID: "555", deliveryID: "1")?.reply == nil)
            #expect(try await store.conversation(channel: "telegram", externalID: "555") == nil)
            #expect(try await store.ticket(number: 2).description == "someone else's ticket", "other residents untouched")

            await expectStoreError({ try await store.forgetResident("telegram:nobody", actor: "p") }) { $0 == .residentNotFound("telegram:nobody") }
            // Writing again makes a new resident.
            let again = try await store.commitTurn(ConversationTurn(resident: resident, deliveryID: "2", inboundText: "hi", expectedVersion: 0,
                                                                    newState: nil, reply: nil))
            #expect(again.committed)
            #expect(try await store.resident("telegram:555").id != report.residentID)
        }
    }

    @Test(arguments: Backend.all)
    func retentionPurgesOldClosedTicketsOnly(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let alice = ResidentInfo(channel: "t", externalID: "alice")
            let bob = ResidentInfo(channel: "t", externalID: "bob")
            var leak = draft(text: "old leak")
            leak.triage = #"{"text":"old leak","kind":"service_request"}"#
            _ = try await store.commitTurn(ConversationTurn(resident: alice, deliveryID: "1", inboundText: "old leak", expectedVersion: 0,
                                                            newState: nil, tickets: [leak], reply: "Filed"))
            try await store.changeCategory(number: 1, to: "heating", actor: "t")
            _ = try await store.commitTurn(ConversationTurn(resident: bob, deliveryID: "2", inboundText: "old noise", expectedVersion: 0,
                                                            newState: nil, tickets: [draft("noise", .p3, "old noise")], reply: "Filed"))
            try await store.changeStatus(number: 1, to: .resolved, actor: "t")
            try await store.changeStatus(number: 1, to: .closed, actor: "t")
            db.clock.advance(by: 40 * 86_400)
            try await store.createTicket(draft(text: "closed recently"), actor: "t")
            try await store.changeStatus(number: 3, to: .rejected, actor: "t")

            let report = try await store.purge(olderThanDays: 30, actor: "retention")
            #expect(report.ticketsPurged == 1, "only #1 was closed more than 30 days ago")
            #expect(report.messagesPurged == 2, "alice's messages; bob's ticket is still open")
            #expect(try await store.ticket(number: 1).description == nil)
            #expect(try await store.ticket(number: 1).triage == nil, "the triage record holds the resident's words too")
            #expect(try await store.corrections(includeExported: true).allSatisfy { $0.text == nil }, "and so do staff re-labels")
            #expect(try await store.ticket(number: 1).category == "heating")
            #expect(try await store.ticket(number: 2).description == "old noise")
            #expect(try await store.ticket(number: 3).description == "closed recently")
            #expect(try await store.ticketDetail(number: 2).transcript.allSatisfy { $0.text != nil })
            #expect(try await store.purge(olderThanDays: 30, actor: "retention") == PurgeReport(ticketsPurged: 0, messagesPurged: 0))
            await expectStoreError({ try await store.purge(olderThanDays: -1, actor: "r") }) {
                if case .invalidInput = $0 { return true } else { return false }
            }
        }
    }

    @Test(arguments: Backend.all)
    func auditLogIsAppendOnly(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.createTicket(draft(), actor: "t")
            await #expect(throws: (any Error).self) { try await rawSQL(store, "UPDATE ticket_events SET actor = 'mallory'") }
            await #expect(throws: (any Error).self) { try await rawSQL(store, "DELETE FROM ticket_events") }
            #expect(try await store.ticketDetail(number: 1).events.map(\.actor) == ["t"])
        }
    }

    @Test(arguments: Backend.all)
    func concurrentWritersGetUniqueGaplessNumbers(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            // Several tasks on one store, and (PostgreSQL: a second server; SQLite: a second pool on the same file).
            let second = try await db.open()
            let writers = 4
            let each = 25
            let numbers = try await withThrowingTaskGroup(of: [Int].self) { group in
                for writer in 0..<writers {
                    let target = writer.isMultiple(of: 2) ? store : second
                    group.addTask {
                        var mine: [Int] = []
                        for index in 0..<each {
                            let resident = index % 5 == 0 ? ResidentInfo(channel: "c", externalID: "w\(writer)") : nil
                            mine.append(try await target.createTicket(draft("plumbing", .p3, "writer \(writer) #\(index)", resident: resident),
                                                                      actor: "w\(writer)").number)
                            if index % 7 == 0 { try await target.changeStatus(number: mine.last!, to: .triaged, actor: "w\(writer)") }
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            await second.close()
            #expect(numbers.count == writers * each)
            #expect(Set(numbers) == Set(1...(writers * each)), "unique and without gaps")
            let report = try await store.check()
            #expect(report.isOK, "\(report.problems)")
            #expect(report.tickets == writers * each)
        }
    }

    @Test(arguments: Backend.all)
    func schemaIsVersionedAndReopeningKeepsData(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            #expect(try await store.schemaVersion() == Migrations.latestVersion)
            try await store.createTicket(draft(), actor: "t")
            let reopened = try await db.open()
            #expect(try await reopened.ticket(number: 1).description == "the kitchen tap drips")
            #expect(try await rawInt(reopened, "SELECT COUNT(*) AS n FROM schema_migrations") == Migrations.all.count)
            await reopened.close()
        }
    }

    @Test(arguments: Backend.all)
    func newerSchemaIsRefusedWithoutTouchingData(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            try await store.createTicket(draft(), actor: "t")
            _ = try await rawSQL(store, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(Migrations.latestVersion + 1), 'from the future', 0)")
            await store.close()
            let before = try await snapshot(db)
            await expectStoreError({ try await db.open() }) { $0 == .schemaTooNew(found: Migrations.latestVersion + 1, supported: Migrations.latestVersion) }
            #expect(try await snapshot(db) == before, "nothing changed")
        }
    }

    @Test(arguments: Backend.all)
    func anotherProgramsDatabaseIsRefused(_ backend: Backend) async throws {
        let database = try await TestDatabase(backend, clock: ManualClock())
        switch database.location {
        case .sqlite(let url):
            try SQLiteTicketStoreTests.makeForeignSQLite(at: url)
        case .postgres(let url):
            try await PostgresAdmin.execute(url, "CREATE TABLE invoices (id INT PRIMARY KEY, amount INT)")
        }
        let before = try await snapshot(database)
        let error = await expectStoreError({ try await database.open() }) {
            if case .notAConciergeDatabase = $0 { return true } else { return false }
        }
        #expect(error?.description.contains("Nothing was changed") == true)
        #expect(try await snapshot(database) == before)
        await database.destroy()
    }
}

/// What a database holds, to compare before and after a refused open:
/// SQLite: the file's bytes (and that no -wal appeared); PostgreSQL: the list of tables and migration rows.
func snapshot(_ database: TestDatabase) async throws -> [String] {
    switch database.location {
    case .sqlite(let url):
        let data = try Data(contentsOf: url)
        let wal = FileManager.default.fileExists(atPath: url.path + "-wal") ? (try Data(contentsOf: URL(fileURLWithPath: url.path + "-wal"))).count : -1
        return [data.base64EncodedString(), "wal \(wal)"]
    case .postgres(let url):
        let connection = try await PostgresAdminQuery.rows(url, """
            SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name
            """)
        let migrations = (try? await PostgresAdminQuery.rows(url, "SELECT version::text FROM schema_migrations ORDER BY version")) ?? []
        return connection + ["--"] + migrations
    }
}
