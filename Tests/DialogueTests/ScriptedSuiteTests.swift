import AssistantTestSupport
import DataPack
import Foundation
import Store
import Testing
import TestSupport
@testable import Dialogue

/// The quality bar of the conversation: the share of scripted conversations
/// (English and Chinese) that reach the right end state, against the real
/// model. Each opening message is written fresh (not taken from the data pack);
/// the resident answers every question the assistant asks.
@Suite(.serialized) struct ScriptedSuiteTests {
    enum End: Equatable, CustomStringConvertible {
        /// A ticket of this category (and priority, if given) is filed.
        case ticket(String, priority: String? = nil)
        /// The FAQ's answer is given.
        case faq(String)
        case outOfScope
        case greeting
        case handoff

        var description: String {
            switch self {
            case let .ticket(category, priority): "ticket \(category) \(priority ?? "")"
            case let .faq(id): "faq \(id)"
            case .outOfScope: "out of scope"
            case .greeting: "greeting"
            case .handoff: "handoff"
            }
        }
    }

    static let scripts: [(message: String, language: Language, end: End)] = [
        ("my bathroom sink is clogged and won't drain", .en, .ticket("plumbing")),
        ("the hallway light outside my door keeps flickering", .en, .ticket("lighting")),
        ("the elevator in building 2 is stuck on the 5th floor and making a grinding noise", .en, .ticket("elevator")),
        ("my fridge stopped cooling, everything is warm", .en, .ticket("appliances")),
        ("there are cockroaches in my kitchen cabinets", .en, .ticket("pests")),
        ("someone's car is parked in my assigned spot again", .en, .ticket("parking")),
        ("the upstairs neighbours play loud music every night past midnight", .en, .ticket("noise")),
        ("water is pouring through my bathroom ceiling right now", .en, .ticket("plumbing", priority: "P1")),
        ("I smell gas near the stairwell", .en, .ticket("safety_hazard", priority: "P1")),
        ("when is the pool open?", .en, .faq("pool_hours")),
        ("can I keep a cat in my apartment?", .en, .faq("pet_policy")),
        ("how do I pay my rent online?", .en, .faq("rent_payment")),
        ("what's the capital of France?", .en, .outOfScope),
        ("hi there", .en, .greeting),
        ("can I talk to a person please", .en, .handoff),
        ("卫生间的马桶堵了，冲不下去", .zh, .ticket("plumbing")),
        ("楼道的灯坏了，晚上很黑", .zh, .ticket("lighting")),
        ("冰箱不制冷了", .zh, .ticket("appliances")),
        ("厨房里有好多蟑螂", .zh, .ticket("pests")),
        ("楼上每天半夜很吵", .zh, .ticket("noise")),
        ("天花板在往下漏水，水很大", .zh, .ticket("plumbing", priority: "P1")),
        ("电梯里困住人了", .zh, .ticket("elevator", priority: "P1")),
        ("游泳池几点开放", .zh, .faq("pool_hours")),
        ("可以养狗吗", .zh, .faq("pet_policy")),
        ("今天股市怎么样", .zh, .outOfScope),
        ("你好", .zh, .greeting),
        ("我要找人工客服", .zh, .handoff),
    ]

    /// Runs one script; returns the end state reached, described.
    static func run(_ script: (message: String, language: Language, end: End), store: any TicketStore, index: Int) async throws -> (Bool, String) {
        let engine = makeEngine(store)
        let resident = Resident("scripted-\(index)", unit: "\(index + 1)E", engine: engine)
        let first = try await resident.say(script.message)
        let replies = try await resident.answerQuestions(after: first, language: script.language)
        let filed = replies.flatMap(\.ticketNumbers)
        switch script.end {
        case let .ticket(category, priority):
            guard filed.count == 1 else { return (false, "\(filed.count) tickets; reply: \(replies.last?.text ?? "")") }
            let ticket = try await store.ticket(number: filed[0])
            let ok = ticket.category == category && (priority == nil || ticket.priority.rawValue == priority)
            return (ok, "ticket \(ticket.category) \(ticket.priority.rawValue)")
        case .faq(let id):
            let answer = CommunityFixture.pack.faqs.first { $0.id == id }!.answer[script.language]!
            return (first.text == answer && filed.isEmpty, "intent \(first.decision?.intent ?? "?")")
        case .outOfScope:
            return (first.decision?.outOfScope == true && filed.isEmpty, "intent \(first.decision?.intent ?? "?")")
        case .greeting:
            return (first.decision?.intent == "greet", "intent \(first.decision?.intent ?? "?")")
        case .handoff:
            return (first.handoff, "intent \(first.decision?.intent ?? "?")")
        }
    }

    @Test func mostScriptedConversationsReachTheRightEndState() async throws {
        var right = 0
        var failures: [String] = []
        for (index, script) in Self.scripts.enumerated() {
            // Each conversation on its own store: no script sees another's tickets.
            let test = try await TestStore()
            let (ok, reached) = try await Self.run(script, store: test.store, index: index)
            await test.close()
            if ok { right += 1 } else { failures.append("\"\(script.message)\": expected \(script.end), got \(reached)") }
        }
        let share = Double(right) / Double(Self.scripts.count)
        print("Scripted conversations reaching the right end state: \(right)/\(Self.scripts.count) (\(String(format: "%.1f", share * 100)) %)")
        for failure in failures { print("  missed: \(failure)") }
        #expect(share >= 0.85, "only \(right) of \(Self.scripts.count): \(failures)")
    }
}
