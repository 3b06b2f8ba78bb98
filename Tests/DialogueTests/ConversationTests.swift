import AssistantTestSupport
import DataPack
import Foundation
import Store
import Testing
import TestSupport
import Triage
@testable import Dialogue

/// Scripted conversations against the real engine, the real community model
/// and a real SQLite file. (`.serialized`: they share one trained model, and
/// the first test waits for its training.)
@Suite(.serialized) struct ConversationTests {
    // MARK: Service requests end to end

    @Test(arguments: [
        ("my kitchen sink is leaking, there's a puddle under it", Language.en, "plumbing"),
        ("厨房水槽下面有点漏水", Language.zh, "plumbing"),
    ])
    func leakReportEndToEnd(message: String, language: Language, category: String) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("ana", engine: makeEngine(test.store))
        let first = try await resident.say(message)
        #expect(first.decision?.category == category)
        #expect(first.language == language)
        let replies = try await resident.answerQuestions(after: first, language: language)
        let last = try #require(replies.last)
        #expect(last.pending == nil)
        // Filed by the last answer, or (a possible emergency) by the first message and completed by the last.
        let number = try #require(replies.flatMap(\.ticketNumbers).first)
        #expect(replies.flatMap(\.ticketNumbers).count == 1)
        #expect(last.text?.contains("#\(number)") == true)
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.category == category)
        #expect(ticket.unit == "4B")
        #expect(ticket.status == .new)
        #expect(ticket.triage?.contains("\"category\"") == true)
        #expect(ticket.triage?.contains("intent_words") == true, "the explanation is stored for staff")
        // The reply states the priority and its response target from community.yaml.
        let target = try #require(CommunityFixture.pack.community.responseTargets[Priority(rawValue: ticket.priority.rawValue)!])
        #expect(last.text?.contains(ticket.priority.rawValue) == true)
        #expect(last.text?.contains(target.text[language]!) == true)
        // It is in the staff queue.
        #expect(try await test.store.queue().contains { $0.number == number })
        // And the resident can ask for its status.
        let status = try await resident.say(language == .zh ? "我的报修进度怎么样了" : "what's happening with my leak?")
        #expect(status.text?.contains("#\(number)") == true)
    }

    @Test func unitAndPlaceInTheFirstMessageAreNotAskedAgain() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("ben", engine: makeEngine(test.store))
        var reply = try await resident.say("the toilet in unit 12C keeps running all night")
        // The model may be unsure here ("running all night" is also how mice
        // are reported): then the resident picks plumbing, and the unit
        // given in the first message must survive the clarification too.
        if case .clarify(let options, _, _) = reply.pending {
            let plumbing = try #require(options.firstIndex(of: "plumbing"), "plumbing is offered: \(options)")
            reply = try await resident.say("\(plumbing + 1)")
        }
        guard case .intake(let intake) = reply.pending else { Issue.record("expected an intake, got \(String(describing: reply.pending))"); return }
        #expect(intake.category == "plumbing")
        #expect(intake.unit == "12C")
        #expect(intake.asking != "location")
    }

    @Test func courtesiesAndQuestionsMidRequestKeepTheRequest() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("liv", unit: "2C", engine: makeEngine(test.store))
        let first = try await resident.say("my dishwasher is leaking onto the floor")
        let before = try #require(first.pending)
        let thanks = try await resident.say("thank you so much")
        #expect(thanks.pending == before, "the request is still pending")
        #expect(thanks.text?.contains("welcome") == true)
        let question = try await resident.say("when is the pool open?")
        #expect(question.pending == before, "the request is still pending")
        #expect(question.text?.contains(CommunityFixture.pack.faqs.first { $0.id == "pool_hours" }!.answer[.en]!) == true)
        let replies = try await resident.answerQuestions(after: question, language: .en)
        #expect(replies.last?.ticketNumbers.count == 1)
    }

    /// Answers to "when suits you?" are answers, whatever they read a little
    /// like; a clear request for a person still interrupts.
    @Test(arguments: [
        ("冰箱不制冷了", Language.zh, "工作日晚上"),
        ("冰箱不制冷了", Language.zh, "随时都可以"),
        ("冰箱不制冷了", Language.zh, "明天下午找我老婆就行"),
        ("the fridge stopped cooling", Language.en, "weekday evenings"),
        ("the fridge stopped cooling", Language.en, "any time after 5, just knock"),
        ("the fridge stopped cooling", Language.en, "mornings, ask for my husband"),
        ("the fridge stopped cooling", Language.en, "anytime"),
        ("my kitchen sink is leaking", Language.en, "anytime"),
    ])
    func anAnswerToAPendingQuestionIsNotReadAsAnotherIntent(message: String, language: Language, answer: String) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("rae", unit: "3A", engine: makeEngine(test.store))
        var reply = try await resident.say(message)
        for _ in 0..<6 {
            guard case .intake(let intake) = reply.pending, intake.asking != "best_time",
                  let next = Resident.answer(to: reply.pending, language: language) else { break }
            reply = try await resident.say(next)
        }
        guard case .intake(let intake) = reply.pending, intake.asking == "best_time" else {
            Issue.record("never asked for a time: \(String(describing: reply.pending))"); return
        }
        let answered = try await resident.say(answer)
        #expect(!answered.handoff, "\(answer) → \(answered.decision?.intent ?? "?") \(answered.decision?.confidence ?? 0)")
        guard case .intake(let after) = answered.pending else { Issue.record("the intake ended: \(answered.text ?? "")"); return }
        #expect(after.answers["best_time"] != nil, "the answer is recorded")
        let person = try await resident.say(language == .zh ? "我要找人工客服" : "I want to talk to a real person")
        #expect(person.handoff, "a clear request for a person interrupts the intake")
    }

    @Test func residentCanCorrectTheCategoryBeforeConfirming() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("cy", unit: "7A", engine: makeEngine(test.store))
        let first = try await resident.say("the kitchen sink drains really slowly")
        #expect(first.decision?.category == "plumbing")
        let corrected = try await resident.say("no, it's the heating, the radiator is cold")
        guard case .intake(let intake) = corrected.pending else { Issue.record("expected an intake"); return }
        #expect(intake.category == "heating_cooling")
        #expect(corrected.text?.lowercased().contains("heating") == true)
    }

    // MARK: Emergencies

    @Test(arguments: [
        ("I smell gas in the hallway on the 3rd floor", Language.en, "Leave the building"),
        ("楼道里有很浓的煤气味", Language.zh, "请马上离开大楼"),
    ])
    func emergencyIsFiledAtOnceWithGuidance(message: String, language: Language, guidance: String) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("dee", engine: makeEngine(test.store))
        let reply = try await resident.say(message)
        #expect(reply.decision?.safety != nil)
        #expect(reply.decision?.priority == .p1)
        #expect(reply.text?.contains(guidance) == true)
        let number = try #require(reply.ticketNumbers.first)
        let ticket = try await test.store.ticket(number: number)
        #expect(ticket.priority == .p1)
        #expect(ticket.safetyRule == reply.decision?.safety?.rule)
        #expect(ticket.slaDueAt != nil)
    }

    @Test(arguments: [
        ("there's no gas smell, but my stove burner won't light", Language.en, "gas"),
        ("没有煤气味，只是炉灶打不着", Language.zh, "gas"),
        // Words the model reads as an emergency (p(P1) 0.70 and 0.52 in the
        // release model measured 2026-12-06), denied by the resident:
        ("没有着火，就是烟雾报警器坏了", Language.zh, "fire"),
        ("no sparks, but the outlet is loose", Language.en, "electrical"),
    ])
    func negatedEmergencyDoesNotFire(message: String, language: Language, guidance: String) async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("eli", engine: makeEngine(test.store))
        let reply = try await resident.say(message)
        #expect(reply.decision?.safety == nil)
        #expect(reply.ticketNumbers.isEmpty, "not filed at once: \(reply.text ?? "")")
        if let text = CommunityFixture.pack.community.emergencyGuidance[guidance]?[language] {
            #expect(reply.text?.contains(text) == false)
        }
    }

    @Test func emergencyMidIntakeEscalatesAndFiles() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("fay", unit: "3C", engine: makeEngine(test.store))
        let first = try await resident.say("the bathroom fan is making a rattling noise")
        #expect(first.ticketNumbers.isEmpty)
        let second = try await resident.say("wait, now there are sparks coming from the outlet next to it")
        #expect(second.decision?.safety != nil)
        let number = try #require(second.ticketNumbers.first)
        #expect(try await test.store.ticket(number: number).priority == .p1)
    }

    // MARK: Clarification, FAQ, out of scope

    @Test func unsureDecisionOffersChoices() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("gus", engine: makeEngine(test.store, triager: CommunityFixture.unsureTriager))
        // A message two requests fit (checked, not assumed: the first of these
        // the model finds at least two plausible readings for).
        let candidates = ["the door to the hallway won't close and the light there is out",
                          "something is wrong in my bathroom", "water and electricity problem in the laundry room",
                          "the garage gate is stuck and the lights down there are off",
                          "something smells bad near the garbage room and there are flies",
                          "my neighbour's music is loud and their dog barks all night",
                          "my kitchen sink is leaking"]
        // Plausible as the policy counts it: service requests only (it never
        // offers a conversation intent, and an FAQ would be answered), with a
        // margin, since two calls may differ in the last bits.
        let ambiguous = try candidates.first { text in
            try CommunityFixture.unsureTriager.triage(text).alternatives
                .filter { $0.probability >= ConversationEngine.plausible + 0.01
                    && CommunityFixture.triager.serviceCategories.contains($0.label) }
                .count >= 2
        }
        let message = try #require(ambiguous, "none of the candidate messages is ambiguous to the model")
        let reply = try await resident.say(message)
        guard case .clarify(let options, _, _) = reply.pending else { Issue.record("expected a clarifying question"); return }
        #expect(options.count >= 2)
        #expect(reply.text?.contains("1)") == true)
        #expect(reply.ticketNumbers.isEmpty)
        // Pick the first service category offered (an FAQ would be answered instead).
        let choice = try #require(options.firstIndex { CommunityFixture.triager.serviceCategories.contains($0) })
        let picked = try await resident.say("\(choice + 1)")
        // The chosen request's questions follow, or first the safety question
        // when the request may be an emergency.
        var pickedIntake: Intake?
        switch picked.pending {
        case .intake(let intake), .safetyCheck(let intake, _): pickedIntake = intake
        default: pickedIntake = nil
        }
        guard let intake = pickedIntake else {
            Issue.record("expected the intake of option \(choice + 1) (\(options)), got \(String(describing: picked.pending)): \(picked.text ?? "")")
            return
        }
        #expect(intake.category == options[choice])
        #expect(intake.categoryConfirmed)
    }

    @Test func outOfScopeIsDeclinedPolitely() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("hal", engine: makeEngine(test.store))
        let reply = try await resident.say("can you recommend a good pizza place nearby?")
        #expect(reply.decision?.outOfScope == true)
        #expect(reply.text?.contains("maintenance") == true)
        #expect(reply.ticketNumbers.isEmpty)
    }

    // MARK: Duplicates, status, cancel

    @Test func duplicateOfAnOpenTicketIsOfferedAndLinked() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let engine = makeEngine(test.store)
        let first = Resident("ida", unit: "2A", engine: engine)
        let reported = try await first.answerQuestions(after: try await first.say("the light in the lobby is out"), language: .en)
        let number = try #require(reported.last?.ticketNumbers.first)

        let second = Resident("jon", unit: "5D", engine: engine)
        let offer = try await second.say("lobby light is broken, it's really dark down there")
        guard case .duplicate(_, let offered) = offer.pending else { Issue.record("expected a duplicate offer, got \(offer.text ?? "")"); return }
        #expect(offered == number)
        #expect(offer.text?.contains("#\(number)") == true)
        let linked = try await second.say("yes")
        #expect(linked.ticketNumbers.isEmpty)
        let detail = try await test.store.ticketDetail(number: number)
        #expect(detail.notes.contains { $0.text?.contains("lobby light is broken") == true })
        #expect(detail.events.contains { $0.kind == "linked_report" })
        #expect(try await test.store.statistics().tickets == 1)
    }

    @Test func statusShowsOnlyTheResidentsOwnTickets() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let engine = makeEngine(test.store)
        let owner = Resident("kim", unit: "8B", engine: engine)
        let filed = try await owner.answerQuestions(after: try await owner.say("my dishwasher won't drain"), language: .en)
        let number = try #require(filed.last?.ticketNumbers.first)

        let other = Resident("lou", engine: engine)
        let probe = try await other.say("status of #\(number)")
        #expect(probe.text?.contains("can't find ticket #\(number)") == true)
        #expect(probe.text?.contains("dishwasher") == false)
        let mine = try await other.say("what's the status of my tickets?")
        #expect(mine.text?.contains("#\(number)") == false)

        let own = try await owner.say("status of #\(number)")
        #expect(own.text?.contains("#\(number)") == true)
        // A public staff reply shows in the owner's status lookup.
        try await test.store.addNote(number: number, text: "Technician booked for Tuesday", visibility: .public, actor: "sam")
        let updated = try await owner.say("any update on #\(number)?")
        #expect(updated.text?.contains("Technician booked for Tuesday") == true)
    }

    @Test func cancelWorksMidIntakeAndOnAFiledTicket() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("max", unit: "6F", engine: makeEngine(test.store))
        let started = try await resident.say("the toilet is clogged")
        #expect(started.pending != nil)
        let dropped = try await resident.say("cancel that, never mind")
        #expect(dropped.pending == nil)
        #expect(try await test.store.statistics().tickets == 0)

        let filed = try await resident.answerQuestions(after: try await resident.say("the bathroom faucet drips all the time"), language: .en)
        let number = try #require(filed.last?.ticketNumbers.first)
        let ask = try await resident.say("please cancel my ticket #\(number)")
        #expect(ask.pending == .confirmCancel(ticket: number))
        _ = try await resident.say("yes")
        #expect(try await test.store.ticket(number: number).status == .rejected)
    }

    // MARK: Handoff, redelivery, restart

    @Test func handoffKeepsTheBotQuietUntilReleased() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("ned", engine: makeEngine(test.store))
        let handoff = try await resident.say("I want to talk to a real person")
        #expect(handoff.handoff)
        #expect(handoff.text?.contains("staff") == true)
        let quiet = try await resident.say("hello? is anyone there")
        #expect(quiet.text == nil)
        let snapshot = try #require(try await test.store.conversation(channel: "terminal", externalID: "ned"))
        #expect(snapshot.handoff)
        try await test.store.setHandoff(channel: "terminal", externalID: "ned", handoff: false)
        let back = try await resident.say("hello")
        #expect(back.text != nil)
    }

    @Test func redeliveredMessageGetsTheSameReplyAndFilesNothingNew() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let resident = Resident("oda", engine: makeEngine(test.store))
        let first = try await resident.say("fire in the garbage room, flames coming out", deliveryID: "delivery-1")
        let again = try await resident.say("fire in the garbage room, flames coming out", deliveryID: "delivery-1")
        #expect(again.redelivered)
        #expect(again.text == first.text)
        #expect(try await test.store.statistics().tickets == first.ticketNumbers.count)
    }

    @Test func conversationResumesAfterARestart() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let before = Resident("pia", engine: makeEngine(test.store))
        let asked = try await before.say("the garbage disposal in my kitchen is jammed")
        let pendingBefore = try #require(asked.pending)

        try await test.reopen()
        let engine = makeEngine(test.store)
        let prompt = try await engine.resumePrompt(channel: "terminal", senderID: "pia")
        #expect(prompt != nil)
        let after = Resident("pia", engine: engine)
        let next = try await after.say(Resident.answer(to: pendingBefore, language: .en) ?? "yes", deliveryID: "pia-after-1")
        let replies = try await after.answerQuestions(after: next, language: .en)
        #expect(replies.last?.ticketNumbers.isEmpty == false)
    }
}

/// An answer to a clarifying question that is not one of its choices.
@Suite(.serialized) struct ClarificationAnswerTests {
    static let complaint = "water is leaking from my ceiling"

    /// Every decision unsure, so the complaint is always met with a clarifying question.
    func residentAfterClarifyingQuestion(_ name: String, store: any TicketStore) async throws -> (AssistantTestSupport.Resident, [String])? {
        let resident = Resident(name, engine: makeEngine(store, triager: CommunityFixture.unsureTriager))
        let first = try await resident.say(Self.complaint)
        guard case .clarify(let options, let message, _) = first.pending else {
            Issue.record("expected a clarifying question, got \(String(describing: first.pending))")
            return nil
        }
        #expect(message == Self.complaint)
        return (resident, options)
    }

    @Test func aUnitIsKeptAndTheChoiceAskedAgain() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        guard let (resident, options) = try await residentAfterClarifyingQuestion("uma", store: test.store) else { return }
        let unit = try await resident.say("unit 7777")
        #expect(unit.ticketNumbers.isEmpty, "a unit is not a request of its own")
        guard case .clarify(let again, let kept, let followUp) = unit.pending else {
            Issue.record("expected the choice again, got \(String(describing: unit.pending)): \(unit.text ?? "")")
            return
        }
        #expect(again == options && kept == Self.complaint && followUp?.unit == "7777")
        #expect(unit.text?.contains("7777") == true && unit.text?.contains("1)") == true)
        let choice = try #require(options.firstIndex { CommunityFixture.triager.serviceCategories.contains($0) })
        var picked = try await resident.say("\(choice + 1)")
        // A leak from the ceiling may be a possible emergency: the resident says no danger.
        var filedEarly: [Int] = picked.ticketNumbers
        if case .safetyCheck = picked.pending { picked = try await resident.say("no") }
        // The chosen request's questions follow, or first the safety question
        // when the request may be an emergency.
        var pickedIntake: Intake?
        switch picked.pending {
        case .intake(let intake), .safetyCheck(let intake, _): pickedIntake = intake
        default: pickedIntake = nil
        }
        guard let intake = pickedIntake else {
            Issue.record("expected an intake, got \(String(describing: picked.pending))")
            return
        }
        #expect(intake.category == options[choice] && intake.categoryConfirmed)
        #expect(intake.description == Self.complaint, "the resident's own description, not \"unit 7777\"")
        #expect(intake.unit == "7777")
        filedEarly += try await resident.answerQuestions(after: picked, language: .en).flatMap(\.ticketNumbers)
        let filed = try #require(filedEarly.first)
        let ticket = try await test.store.ticket(number: filed)
        #expect(ticket.description == Self.complaint && ticket.unit == "7777")
    }

    @Test func askedTwiceTheBestOptionIsTakenAndTheWordsKept() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        guard let (resident, options) = try await residentAfterClarifyingQuestion("vic", store: test.store) else { return }
        let more = try await resident.say("it drips next to the light fixture")
        guard case .clarify(_, let description, let followUp) = more.pending else {
            Issue.record("expected the choice again, got \(String(describing: more.pending))")
            return
        }
        #expect(description == Self.complaint + "\nit drips next to the light fixture" && followUp?.askedAgain == true)
        let unsure = try await resident.say("not sure, you tell me")
        guard case .intake(let intake) = unsure.pending else {
            Issue.record("expected an intake with the best option, got \(String(describing: unsure.pending))")
            return
        }
        let best = try #require(options.first { CommunityFixture.triager.serviceCategories.contains($0) })
        #expect(intake.category == best && !intake.categoryConfirmed)
        #expect(intake.description.hasPrefix(Self.complaint))
        #expect(!intake.description.contains("you tell me"))
    }

    /// A state stored before the follow-up existed still reads.
    @Test func aClarificationStoredWithoutAFollowUpStillDecodes() throws {
        let json = #"{"language":"en","pending":{"clarify":{"options":["plumbing","pests"],"message":"it leaks"}}}"#
        let state = try JSONDecoder().decode(DialogueState.self, from: Data(json.utf8))
        #expect(state.pending == .clarify(options: ["plumbing", "pests"], message: "it leaks", followUp: nil))
    }
}
