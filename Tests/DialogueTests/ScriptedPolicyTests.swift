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
}
