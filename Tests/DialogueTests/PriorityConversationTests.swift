import AssistantTestSupport
import DataPack
import Foundation
import Store
import Testing
import TestSupport
import Triage
@testable import Dialogue

/// Possible emergencies (the safety question) and the conversation repairs
/// around priorities, against the real model and a real SQLite store.
@Suite(.serialized) struct PossibleEmergencyTests {
    /// A request the model is not sure is an emergency, with every such request a possible one.
    func possible(_ name: String, _ message: String, store: any TicketStore) async throws -> (AssistantTestSupport.Resident, ConversationReply) {
        let resident = AssistantTestSupport.Resident(name, unit: "4B", engine: makeEngine(store, triager: CommunityFixture.possibleTriager))
        let first = try await resident.say(message)
        #expect(first.decision?.emergency == .possible, "\(String(describing: first.decision))")
        return (resident, first)
    }

    @Test(arguments: [("the bathroom faucet keeps dripping", Language.en), ("浴室水龙头一直滴水", Language.zh)])
    func aPossibleEmergencyIsFiledAtOnceAndAskedAbout(message: String, language: Language) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let (_, first) = try await possible("ana", message, store: test.store)
        guard case .safetyCheck = first.pending else { Issue.record("expected the safety question: \(first.text ?? "")"); return }
        #expect(first.suggestions.count == 2, "yes / no buttons")
        let number = try #require(first.ticketNumbers.first, "filed before any answer: never lost")
        #expect(first.text?.contains("#\(number)") == true)
        #expect(first.text?.contains(language == .zh ? "人身危险" : "anyone in danger") == true)
        // The resident walks away: the ticket is there, flagged for staff.
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.priority == .p2 && ticket.emergency == .unconfirmed && ticket.description == message)
    }

    @Test func yesMakesItAConfirmedP1() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let (resident, first) = try await possible("ben", "water is coming out from under the dishwasher", store: test.store)
        let number = try #require(first.ticketNumbers.first)
        let yes = try await resident.say("yes")
        #expect(yes.ticketNumbers.isEmpty, "no second ticket")
        #expect(yes.text?.contains("911") == true && yes.text?.contains("#\(number)") == true)
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.priority == .p1 && ticket.emergency == .residentConfirmed)
        #expect(try await test.store.ticketDetail(number: number).events.contains { $0.kind == "emergency" })
    }

    @Test func noSettlesThePriorityAndTheQuestionsCompleteTheSameTicket() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let (resident, first) = try await possible("cy", "the bathroom faucet keeps dripping", store: test.store)
        let number = try #require(first.ticketNumbers.first)
        let no = try await resident.say("no")
        let settled = try await test.store.ticket(number: number)
        #expect(settled.emergency == nil && settled.priority != .p1, "the best priority below P1: \(settled.priority)")
        let replies = try await resident.answerQuestions(after: no, language: .en)
        #expect(replies.last?.pending == nil)
        #expect(try await test.store.ticketNumbers() == [number], "the questions complete the ticket, no second one")
        let done = try await test.store.ticket(number: number)
        #expect(done.unit == "4B" && done.accessNotes != nil, "\(done)")
    }

    @Test func anAnswerThatIsNeitherIsAskedOnceMore() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let (resident, first) = try await possible("di", "the bathroom faucet keeps dripping", store: test.store)
        let number = try #require(first.ticketNumbers.first)
        let unclear = try await resident.say("sorry, what do you mean?")
        guard case .safetyCheck(_, let askedAgain) = unclear.pending, askedAgain else {
            Issue.record("expected the question again: \(String(describing: unclear.pending))")
            return
        }
        _ = try await resident.say("what time is trash pickup?")
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.emergency == .unconfirmed && ticket.priority == .p2, "still filed, still flagged for staff")
    }
}

@Suite(.serialized) struct ConversationRepairTests {
    @Test func aDeclinedDuplicateOfferIsNotRepeated() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let engine = makeEngine(test.store)
        let first = AssistantTestSupport.Resident("ida", unit: "2A", engine: engine)
        let filed = try await first.answerQuestions(after: try await first.say("the hallway light on the 3rd floor is out"),
                                                    language: .en)
        #expect(filed.flatMap(\.ticketNumbers).count == 1)
        let second = AssistantTestSupport.Resident("jo", unit: "3C", engine: engine)
        var reply = try await second.say("the light in the 3rd floor hallway is broken")
        guard case .duplicate = reply.pending else { Issue.record("expected the duplicate offer: \(reply.text ?? "")"); return }
        reply = try await second.say("no")
        var offers = 0
        for _ in 0..<8 {
            if case .duplicate = reply.pending { offers += 1 }
            guard let answer = AssistantTestSupport.Resident.answer(to: reply.pending, language: .en) else { break }
            reply = try await second.say(answer)
        }
        #expect(offers == 0, "declined once, not offered again")
        #expect(try await test.store.ticketNumbers().count == 2, "filed as its own ticket")
    }

    @Test func aUnitAfterAnEmergencyIsItsLocationNotANewRequest() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = AssistantTestSupport.Resident("kai", engine: makeEngine(test.store))
        let first = try await resident.say("there is smoke coming out from under my neighbour's door in 4C")
        #expect(first.decision?.emergency == .certain)
        let number = try #require(first.ticketNumbers.first)
        let follow = try await resident.say("it's 4C, right next to me")
        #expect(follow.ticketNumbers.isEmpty, "no new request")
        #expect(follow.text?.contains("#\(number)") == true, "\(follow.text ?? "")")
        #expect(try await test.store.ticketNumbers() == [number])
        #expect(try await test.store.ticketDetail(number: number).notes.contains { $0.text == "it's 4C, right next to me" })
    }

    @Test(arguments: [("who won the hockey game last night", Language.en), ("3号楼", Language.zh)])
    func anAnswerThatDoesNotFitIsNotStored(answer: String, language: Language) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = AssistantTestSupport.Resident("lu", unit: "4B", engine: makeEngine(test.store))
        var reply = try await resident.say(language == .zh ? "厨房水槽下面有点漏水" : "my kitchen sink is leaking, there's a puddle under it")
        // Answer until asked when it suits.
        for _ in 0..<6 {
            if case .intake(let intake) = reply.pending, intake.asking == "best_time" { break }
            guard let next = AssistantTestSupport.Resident.answer(to: reply.pending, language: language) else { break }
            reply = try await resident.say(next)
        }
        guard case .intake(let asking) = reply.pending, asking.asking == "best_time" else {
            Issue.record("never asked for a time: \(String(describing: reply.pending))")
            return
        }
        let offTopic = try await resident.say(answer)
        guard case .intake(let intake) = offTopic.pending else { Issue.record("the request was dropped"); return }
        #expect(intake.asking == "best_time" && intake.answers["best_time"] == nil, "not stored: \(intake.answers)")
        let fits = try await resident.say(language == .zh ? "工作日晚上" : "weekday evenings")
        guard case .intake(let after) = fits.pending else { Issue.record("expected the summary"); return }
        #expect(after.answers["best_time"] != nil)
    }

    /// An answer that holds what was asked ("now, at the door") is the answer,
    /// even when the model alone reads an emergency into so few words.
    @Test func anAnswerIsNotANewEmergency() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = AssistantTestSupport.Resident("mei", unit: "2203", engine: makeEngine(test.store))
        var reply = try await resident.say("门锁坏了锁不上 出门都不敢出 5-702")
        let answers = ["location": "5-702室，入户门", "access": "可以", "best_time": "现在，在门口"]
        var summaries = 0
        for _ in 0..<6 {
            guard case .intake(let intake) = reply.pending else { break }
            if let asking = intake.asking {
                reply = try await resident.say(answers[asking] ?? "好的")
            } else {
                // At the summary: a fragment first (taken as more about the request), then yes.
                summaries += 1
                reply = try await resident.say(summaries == 1 ? "现在，在门口" : "是的")
            }
        }
        #expect(try await test.store.ticketNumbers().count == 1)
        for number in try await test.store.ticketNumbers() {
            #expect(try await test.store.ticketDetail(number: number).ticket.priority != .p1, "ticket #\(number) became P1")
        }
    }

    /// A category the resident chose from a clarifying question stays unless
    /// they say no; a time that reads like "good evening" is a time.
    @Test func aChosenCategoryStaysAndATimeIsNotAGreeting() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = AssistantTestSupport.Resident("al", unit: "1710", engine: makeEngine(test.store))
        var reply = try await resident.say("AC completely died and it's 38 out. place is an oven, cant sleep. 1710")
        if case let .clarify(options, _, _) = reply.pending, let index = options.firstIndex(of: "heating_cooling") {
            reply = try await resident.say("\(index + 1)")
        }
        var asked = 0
        while case .intake(let intake) = reply.pending, asked < 6 {
            asked += 1
            #expect(intake.category == "heating_cooling", "\(intake.category)")
            let answer = intake.asking == "best_time" || intake.asking == "when" ? "this evening"
                : AssistantTestSupport.Resident.answer(to: reply.pending, language: .en) ?? "yes"
            reply = try await resident.say(answer)
            let greeting = Phrases(language: .en, pack: CommunityFixture.pack).greeting(name: nil)
            #expect(reply.text?.hasPrefix(greeting) != true, "answered as a greeting: \(reply.text ?? "")")
        }
        #expect(try await test.store.ticketNumbers().count == 1)
    }

    @Test func englishProseUsesTheArticleAndTheProblem() {
        let say = Phrases(language: .en, pack: CommunityFixture.pack)
        let intake = Intake(category: "appliances", priority: .p3, description: "fridge", unit: "4B",
                            answers: [:], remaining: [])
        #expect(say.understood(intake) == "Got it: an appliance problem (unit 4B).")
        #expect(Phrases(language: .zh, pack: CommunityFixture.pack).understood(intake).contains("家电问题"))
        var bare = CommunityFixture.pack
        for index in bare.categories.indices { bare.categories[index].problem = [:] }
        #expect(Phrases(language: .en, pack: bare).problemPhrase("elevator") == "an elevator problem")
        #expect(Phrases(language: .en, pack: bare).problemPhrase("plumbing") == "a plumbing problem")
    }
}
