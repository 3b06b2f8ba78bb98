import AssistantTestSupport
import DataPack
import Foundation
import Store
import Testing
import TestSupport
import Triage
@testable import Dialogue

/// The conversation policy on scripted decisions (``ScriptedTriager``): no
/// trained model, so each test says exactly what the triage decided and
/// checks what the policy does with it, against a real SQLite store.
@Suite struct ScriptedPolicyTests {
    func request(_ text: String, _ category: String, _ priority: Priority, emergency: EmergencyLevel? = nil) -> TriageDecision {
        TriageDecision(text: text, kind: .serviceRequest, intent: category, category: category, priority: priority,
                       confidence: 0.95, alternatives: [ScoredLabel(label: category, probability: 0.95)], emergency: emergency)
    }

    @Test func aPossibleEmergencyIsFiledUnconfirmedAndSettledByNo() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "there's a wet patch on the ceiling next to the light"
        let triager = ScriptedTriager([request(message, "plumbing", .p3, emergency: .possible)])
        let resident = Resident("ada", unit: "4B", engine: makeEngine(test.store, triager: triager))
        let first = try await resident.say(message)
        guard case .safetyCheck = first.pending else { Issue.record("expected the safety question: \(String(describing: first.pending))"); return }
        let number = try #require(first.ticketNumbers.first)
        var ticket = try await test.store.ticketDetail(number: number).ticket
        #expect(ticket.priority == TicketDrafting.unconfirmedEmergencyPriority && ticket.emergency == .unconfirmed)
        let no = try await resident.say("no")
        guard case .intake = no.pending else { Issue.record("expected the request's questions: \(String(describing: no.pending))"); return }
        ticket = try await test.store.ticketDetail(number: number).ticket
        #expect(ticket.priority == .p3, "settled at the decision's priority")
        #expect(ticket.emergency != .unconfirmed)
    }

    @Test func aCourtesyMidRequestKeepsTheQuestion() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "the kitchen tap drips"
        let thanks = TriageDecision(text: "thanks so much", kind: .conversation, intent: ConversationIntentID.thanks.rawValue,
                                    confidence: 0.95)
        let resident = Resident("bo", engine: makeEngine(test.store, triager: ScriptedTriager([request(message, "plumbing", .p3), thanks])))
        let first = try await resident.say(message)
        guard case .intake(let asking) = first.pending, asking.asking == "location" else {
            Issue.record("expected where: \(String(describing: first.pending))"); return
        }
        let reply = try await resident.say("thanks so much")
        let say = Phrases(language: .en, pack: CommunityFixture.pack)
        #expect(reply.text?.hasPrefix(say.thanks) == true && reply.text?.hasSuffix(say.detailQuestion("location")) == true,
                "\(reply.text ?? "")")
        guard case .intake(let still) = reply.pending else { Issue.record("the request was dropped"); return }
        #expect(still.asking == "location" && still.answers.isEmpty)
    }

    /// The duplicates come from facts read before deciding: an open ticket of
    /// the same category in the same shared place is offered.
    @Test func anOpenTicketAtTheSamePlaceIsOffered() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let existing = try await test.store.createTicket(
            TicketDraft(category: "lighting", priority: .p3, description: "lobby light flickers", location: "lobby"), actor: "staff")
        let message = "the light in the lobby is out"
        let resident = Resident("cy", engine: makeEngine(test.store, triager: ScriptedTriager([request(message, "lighting", .p3)])))
        let reply = try await resident.say(message)
        guard case let .duplicate(_, ticket) = reply.pending else {
            Issue.record("expected the duplicate offer: \(String(describing: reply.pending)) \(reply.text ?? "")"); return
        }
        #expect(ticket == existing.number)
        #expect(reply.ticketNumbers.isEmpty, "nothing filed while the offer is open")
    }

    /// The decision of the message that becomes a ticket travels with the
    /// request: choosing an option of a clarifying question and answering the
    /// questions triages each new message once, never the first one again,
    /// and the ticket carries the first message's explanation.
    @Test func aClarifiedRequestIsFiledWithItsFirstDecisionWithoutTriagingItAgain() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "something is wrong under the sink"
        let explanation = Explanation(intentWords: [WordInfluence(word: "sink", start: 28, end: 32, influence: 0.4)], priorityWords: [])
        var unsure = TriageDecision(text: message, kind: .serviceRequest, intent: "plumbing", category: "plumbing", priority: .p3,
                                    confidence: 0.4, needsClarification: true,
                                    alternatives: [ScoredLabel(label: "plumbing", probability: 0.4),
                                                   ScoredLabel(label: "appliances", probability: 0.35)])
        unsure.explanation = explanation
        let triager = CountingTriager(ScriptedTriager([unsure]))
        let resident = Resident("di", unit: "4B", engine: makeEngine(test.store, triager: triager))
        let first = try await resident.say(message)
        guard case .clarify = first.pending else { Issue.record("expected a clarifying question: \(String(describing: first.pending))"); return }
        let chosen = try await resident.say("1")
        let replies = try await resident.answerQuestions(after: chosen, language: .en)
        let number = try #require(replies.flatMap(\.ticketNumbers).first, "the request was filed")
        #expect(triager.texts.filter { $0 == message }.count == 1, "the first message was triaged once: \(triager.texts)")
        let stored = try #require(try await test.store.ticket(number: number).triage)
        let decision = try TriageDecision.decode(jsonLine: stored)
        #expect(decision.category == "plumbing" && decision.explanation == explanation)
    }

    /// A request no category of which is plausible alone (the categories
    /// together are) is asked about with its likeliest categories, not filed
    /// under a guess.
    @Test func aRequestWithNoPlausibleCategoryOffersTheLikeliest() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "door swells in summer, have to shoulder it open"
        let unsure = TriageDecision(text: message, kind: .serviceRequest, intent: "landscaping", category: "landscaping",
                                    priority: .p3, confidence: 0.07, needsClarification: true,
                                    alternatives: [ScoredLabel(label: "landscaping", probability: 0.07),
                                                   ScoredLabel(label: "doors_locks", probability: 0.06),
                                                   ScoredLabel(label: "building_maintenance", probability: 0.05)])
        let resident = Resident("ed", unit: "4B", engine: makeEngine(test.store, triager: ScriptedTriager([unsure])))
        let first = try await resident.say(message)
        guard case .clarify(let options, _, _) = first.pending else {
            Issue.record("expected a clarifying question: \(String(describing: first.pending)) \(first.text ?? "")"); return
        }
        #expect(options == ["landscaping", "doors_locks", "building_maintenance"])
        #expect(first.ticketNumbers.isEmpty, "nothing filed under a guess")
        let chosen = try await resident.say("2")
        let replies = try await resident.answerQuestions(after: chosen, language: .en)
        let number = try #require(replies.flatMap(\.ticketNumbers).first, "the request was filed")
        #expect(try await test.store.ticket(number: number).category == "doors_locks")
    }
}

/// Records every message triaged, then answers from the script.
final class CountingTriager: Triaging, @unchecked Sendable {
    private let script: ScriptedTriager
    private let lock = NSLock()
    private var triaged: [String] = []

    init(_ script: ScriptedTriager) { self.script = script }

    /// Every text triaged so far, in order.
    var texts: [String] { lock.withLock { triaged } }
    var serviceCategories: Set<String> { script.serviceCategories }
    var defaultPriorities: [String: Priority] { script.defaultPriorities }
    var clarifyThreshold: Double { script.clarifyThreshold }

    func triage(_ text: String, explaining policy: Triager.ExplanationPolicy) throws -> TriageDecision {
        lock.withLock { triaged.append(text) }
        return try script.triage(text, explaining: policy)
    }
}
