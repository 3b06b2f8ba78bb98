import AssistantTestSupport
import DataPack
import Dialogue
import Foundation
import Store
import Testing
import Triage

/// Status updates, staff's question, "is it fixed?" and the rating, through
/// the conversation (scripted triage: no model), in both languages, on SQLite
/// and PostgreSQL.
@Suite struct ResidentLoopTests {
    static let wording = StatusUpdateWording(pack: CommunityFixture.pack)

    /// A ticket of `name`'s filed through the store as the conversation would.
    func ticket(of name: String, language: Language, store: any TicketStore) async throws -> Int {
        let resident = ResidentInfo(channel: "terminal", externalID: name, displayName: name, language: language.rawValue)
        return try await store.createTicket(TicketDraft(category: "plumbing", priority: .p3, description: "the tap drips",
                                                        unit: "4B", resident: resident), actor: "concierge").number
    }

    /// A ticket of `name`'s that staff resolved, the resident told.
    func resolvedTicket(of name: String, language: Language, store: any TicketStore) async throws -> Int {
        let number = try await ticket(of: name, language: language, store: store)
        try await store.changeStatus(number: number, to: .resolved, actor: "gina", notice: Self.wording.notice())
        return number
    }

    @Test(arguments: Backend.all, [Language.en, .zh])
    func resolvedAsksIsItFixedAndYesClosesThenARatingIsKept(_ backend: Backend, _ language: Language) async throws {
        let test = try await TestStore(backend: backend)
        defer { Task { await test.close() } }
        let number = try await resolvedTicket(of: "ana", language: language, store: test.store)
        let update = try #require(try await test.store.dueOutbox(now: .distantFuture).last?.text)
        #expect(update.contains("#\(number)") && update.contains(language == .zh ? "解决了吗" : "Is it fixed?"), "\(update)")

        // Across a restart: what waits on the resident is read from the store.
        try await test.reopen()
        let resident = Resident("ana", engine: makeEngine(test.store, triager: ScriptedTriager([])))
        let yes = try await resident.say(language == .zh ? "是的" : "yes")
        #expect(yes.text?.contains(language == .zh ? "打个分" : "How did we do") == true, "\(yes.text ?? "")")
        guard case .rating(let rated) = yes.pending else { Issue.record("expected the rating question: \(String(describing: yes.pending))"); return }
        #expect(rated == number)
        let thanks = try await resident.say(language == .zh ? "5分，修得很快" : "5 - quick work")
        #expect(thanks.pending == nil && thanks.text == CommunityFixture.pack.community.statusUpdates["rated"]?[language])
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.status == .closed && ticket.residentConfirmation == .fixed && ticket.rating == 5)
        #expect(ticket.ratingComment == (language == .zh ? "修得很快" : "quick work"))
    }

    @Test(arguments: Backend.all, [Language.en, .zh])
    func notFixedReopensWithTheResidentsWords(_ backend: Backend, _ language: Language) async throws {
        let test = try await TestStore(backend: backend)
        defer { Task { await test.close() } }
        let number = try await resolvedTicket(of: "bo", language: language, store: test.store)
        let resident = Resident("bo", engine: makeEngine(test.store, triager: ScriptedTriager([])))
        let words = language == .zh ? "没有，还在滴水" : "no, it still drips"
        let reply = try await resident.say(words)
        #expect(reply.text?.contains("#\(number)") == true && reply.pending == nil)
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.status == .inProgress && ticket.residentConfirmation == .notFixed)
        #expect(try await test.store.ticketDetail(number: number).notes.last?.text == "Not fixed: \(words)")
        // Asked once: a later "no" is something new, not another reopening.
        let later = try await resident.say("no")
        #expect(later.text?.contains("#\(number)") != true)
    }

    @Test(arguments: Backend.all, [Language.en, .zh])
    func theAnswerToStaffsQuestionGoesOnTheTicket(_ backend: Backend, _ language: Language) async throws {
        let test = try await TestStore(backend: backend)
        defer { Task { await test.close() } }
        let number = try await ticket(of: "cy", language: language, store: test.store)
        try await test.store.changeStatus(number: number, to: .pendingResident, actor: "gina",
                                          notice: Self.wording.notice(question: "Which tap, kitchen or bathroom?"))
        let update = try #require(try await test.store.dueOutbox(now: .distantFuture).last?.text)
        #expect(update.contains("Which tap, kitchen or bathroom?") && update.contains("#\(number)"))
        let resident = Resident("cy", engine: makeEngine(test.store, triager: ScriptedTriager([])))
        let answer = language == .zh ? "厨房的" : "the kitchen one"
        let reply = try await resident.say(answer)
        #expect(reply.text == CommunityFixture.pack.community.statusUpdates["reply_added"]?[language]?
            .replacingOccurrences(of: "{ticket}", with: String(number)))
        let detail = try await test.store.ticketDetail(number: number)
        #expect(detail.ticket.status == .triaged && detail.notes.last?.text == answer && detail.notes.last?.author == "resident")
    }

    @Test(arguments: Backend.all)
    func aQuietChangeTellsNobody(_ backend: Backend) async throws {
        let test = try await TestStore(backend: backend)
        defer { Task { await test.close() } }
        let number = try await ticket(of: "di", language: .en, store: test.store)
        try await test.store.changeStatus(number: number, to: .inProgress, actor: "gina", notice: Self.wording.notice(quiet: true))
        #expect(try await test.store.dueOutbox(now: .distantFuture).isEmpty)
        try await test.store.changeStatus(number: number, to: .triaged, actor: "gina", notice: Self.wording.notice())
        #expect(try await test.store.dueOutbox(now: .distantFuture).isEmpty, "back to triaged is not news for the resident")
    }
}
