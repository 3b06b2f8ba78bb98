import DataPack
import Foundation
import Store
import Yams

/// A scripted resident: what they say first, what they answer when asked,
/// and the ticket a dispatcher would file (`concierge evaluate --conversations`).
public struct ScriptedConversation: Sendable, Equatable {
    public var id: String
    public var language: Language
    /// The first message.
    public var says: String
    /// What the resident answers when asked: `unit`, `place`, `access`
    /// (yes/no), `time`, `contact`, `vehicle`, `emergency` (the answer to the
    /// safety question: yes/no).
    public var facts: [String: String]
    public var expectedCategory: String
    public var expectedPriority: Priority

    public init(id: String, language: Language, says: String, facts: [String: String], expectedCategory: String,
                expectedPriority: Priority) {
        self.id = id
        self.language = language
        self.says = says
        self.facts = facts
        self.expectedCategory = expectedCategory
        self.expectedPriority = expectedPriority
    }

    /// Reads a conversations file; problems are reported together, each with
    /// the file and line (`ConversationScriptError`).
    public static func load(file: URL) throws -> [ScriptedConversation] {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw ConversationScriptError(diagnostics: [Diagnostic(.error, SourceLocation(file: file.path, line: 1),
                                                                   "cannot read the file: \(error.localizedDescription)")])
        }
        return try parse(text, file: file.path)
    }

    /// Parses conversations YAML (`conversations:` → a list); `file` names it in diagnostics.
    public static func parse(_ text: String, file: String) throws -> [ScriptedConversation] {
        let reader = YAMLReader(file: file)
        var conversations: [ScriptedConversation] = []
        if let root = reader.parse(text),
           let top = reader.mapping(root, what: "the file", allowed: ["conversations"], required: ["conversations"]) {
            for node in reader.sequence(top["conversations"], what: "conversations") ?? [] {
                if let conversation = read(node, reader: reader) { conversations.append(conversation) }
            }
        }
        let errors = reader.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw ConversationScriptError(diagnostics: errors) }
        return conversations
    }

    private static let factKeys: Set<String> = ["unit", "place", "access", "time", "contact", "vehicle", "emergency"]

    private static func read(_ node: Node, reader: YAMLReader) -> ScriptedConversation? {
        guard let fields = reader.mapping(node, what: "a conversation", allowed: ["id", "language", "says", "facts", "expect"],
                                          required: ["id", "language", "says", "expect"]),
              let id = reader.string(fields["id"], what: "id"),
              let languageCode = reader.string(fields["language"], what: "language"),
              let says = reader.string(fields["says"], what: "says"),
              let expect = reader.mapping(fields["expect"], what: "expect", allowed: ["category", "priority"],
                                          required: ["category", "priority"]),
              let category = reader.string(expect["category"], what: "expect.category"),
              let priorityText = reader.string(expect["priority"], what: "expect.priority") else { return nil }
        guard let language = Language(rawValue: languageCode) else {
            reader.error(fields["language"], "language must be en or zh, not \"\(languageCode)\"")
            return nil
        }
        guard let priority = Priority(parsing: priorityText) else {
            reader.error(expect["priority"], "expect.priority must be P1, P2, P3 or P4, not \"\(priorityText)\"")
            return nil
        }
        var facts: [String: String] = [:]
        for (key, value) in reader.mapping(fields["facts"], what: "facts", allowed: factKeys) ?? [:] {
            facts[key] = reader.string(value, what: "facts.\(key)")
        }
        return ScriptedConversation(id: id, language: language, says: says, facts: facts, expectedCategory: category,
                                    expectedPriority: priority)
    }
}

/// A conversations file that cannot be read: every problem, with its line.
public struct ConversationScriptError: Error, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A simple resident: answers whatever the assistant asks from the script's
/// facts, picks the expected category when offered a choice, and says
/// whether they are in danger as the script says.
public struct ResidentSimulator: Sendable {
    public let conversation: ScriptedConversation

    public init(_ conversation: ScriptedConversation) { self.conversation = conversation }

    private var zh: Bool { conversation.language == .zh }
    private func fact(_ key: String) -> String? { conversation.facts[key] }
    private var yes: String { zh ? "是的" : "yes" }
    private var no: String { zh ? "不是" : "no" }

    /// The resident's next message, or nil when the assistant asks nothing
    /// (the conversation is over).
    public func answer(to pending: DialogueState.Pending?) -> String? {
        switch pending {
        case .intake(let intake):
            switch intake.asking {
            case "location": return whereItIs
            case "access": return fact("access") ?? (zh ? "可以" : "yes")
            case "best_time", "when": return fact("time") ?? (zh ? "工作日晚上" : "weekday evenings")
            case "contact": return fact("contact") ?? "604-555-0100"
            case "vehicle": return fact("vehicle") ?? (zh ? "灰色本田" : "a grey Honda")
            case nil: return yes
            default: return zh ? "好的" : "ok"
            }
        case let .clarify(options, _, _):
            let index = options.firstIndex(of: conversation.expectedCategory) ?? options.count
            return "\(index + 1)"
        case .safetyCheck:
            return TextCues.yesNo(fact("emergency") ?? no) == .yes ? yes : no
        case .duplicate:
            return no
        case .confirmCancel:
            return no
        case .emergencyLocation, .addDetails, .rating, nil:
            return nil
        }
    }

    /// The unit and place, as a resident would write them ("unit 1203, bathroom").
    var whereItIs: String {
        let unit = fact("unit").map { zh ? "\($0)室" : "unit \($0)" }
        return [unit, fact("place")].compactMap { $0 }.joined(separator: zh ? "，" : ", ")
    }
}

/// How one scripted conversation went.
public struct ConversationOutcome: Encodable, Equatable, Sendable {
    public var id: String
    public var language: String
    public var expectedCategory: String
    public var expectedPriority: Priority
    /// The ticket filed for the resident at the end, as it stands then.
    public var filedCategory: String?
    public var filedPriority: Priority?
    /// The resident's messages up to the reply that filed the ticket (nil: none filed).
    public var turnsToTicket: Int?
    public var clarifyingQuestions: Int
    public var safetyQuestions: Int
    /// Every message, resident and assistant, for reading what went wrong.
    public var transcript: [String]

    public var right: Bool { filedCategory == expectedCategory && filedPriority == expectedPriority }

    enum CodingKeys: String, CodingKey {
        case id, language, transcript, right
        case expectedCategory = "expected_category", expectedPriority = "expected_priority", filedCategory = "filed_category"
        case filedPriority = "filed_priority", turnsToTicket = "turns_to_ticket"
        case clarifyingQuestions = "clarifying_questions", safetyQuestions = "safety_questions"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(language, forKey: .language)
        try container.encode(expectedCategory, forKey: .expectedCategory)
        try container.encode(expectedPriority, forKey: .expectedPriority)
        try container.encodeIfPresent(filedCategory, forKey: .filedCategory)
        try container.encodeIfPresent(filedPriority, forKey: .filedPriority)
        try container.encodeIfPresent(turnsToTicket, forKey: .turnsToTicket)
        try container.encode(clarifyingQuestions, forKey: .clarifyingQuestions)
        try container.encode(safetyQuestions, forKey: .safetyQuestions)
        try container.encode(right, forKey: .right)
        try container.encode(transcript, forKey: .transcript)
    }
}

/// Scripted conversations played through the real engine and store.
public enum ConversationEvaluation {
    /// The most resident messages one conversation may take.
    public static let maximumTurns = 12

    /// Plays `conversation` with `engine` (one resident, its own store) and
    /// reads the ticket filed at the end.
    public static func play(_ conversation: ScriptedConversation, engine: ConversationEngine) async throws -> ConversationOutcome {
        let simulator = ResidentSimulator(conversation)
        let sender = "eval-" + conversation.id
        var outcome = ConversationOutcome(id: conversation.id, language: conversation.language.rawValue,
                                          expectedCategory: conversation.expectedCategory,
                                          expectedPriority: conversation.expectedPriority, clarifyingQuestions: 0,
                                          safetyQuestions: 0, transcript: [])
        var message: String? = conversation.says
        var turn = 0
        while let text = message, turn < maximumTurns {
            turn += 1
            let reply = try await engine.handle(InboundMessage(
                channel: "evaluation", senderID: sender, deliveryID: "\(sender)-\(turn)", text: text,
                unit: nil, preferredLanguage: conversation.language))
            outcome.transcript += ["resident: " + text, "assistant: " + (reply.text ?? "")]
            if !reply.ticketNumbers.isEmpty, outcome.turnsToTicket == nil { outcome.turnsToTicket = turn }
            switch reply.pending {
            case .clarify: outcome.clarifyingQuestions += 1
            case .safetyCheck: outcome.safetyQuestions += 1
            default: break
            }
            message = simulator.answer(to: reply.pending)
        }
        if let ticket = try await engine.store.residentTickets(channel: "evaluation", externalID: sender).first?.ticket {
            outcome.filedCategory = ticket.category
            outcome.filedPriority = ticket.priority
        }
        return outcome
    }
}

/// What `concierge evaluate --conversations` reports.
public struct ConversationReport: Encodable, Sendable {
    public var conversations: Int
    /// Filed with the expected category and priority.
    public var right: Int
    public var categoryAccuracy: Double
    public var priorityAccuracy: Double
    public var priorityWithinOne: Double
    /// Conversations that ended without a ticket.
    public var noTicket: Int
    public var meanTurnsToTicket: Double?
    /// Share of conversations with at least one clarifying question.
    public var clarifiedShare: Double
    /// Share of conversations asked the safety question.
    public var safetyQuestionShare: Double
    /// Expected priority → filed priority → count (`none` when no ticket was filed).
    public var priorityConfusion: [String: [String: Int]]
    public var outcomes: [ConversationOutcome]

    enum CodingKeys: String, CodingKey {
        case conversations, right, outcomes
        case categoryAccuracy = "category_accuracy", priorityAccuracy = "priority_accuracy"
        case priorityWithinOne = "priority_within_one", noTicket = "no_ticket", meanTurnsToTicket = "mean_turns_to_ticket"
        case clarifiedShare = "clarified_share", safetyQuestionShare = "safety_question_share"
        case priorityConfusion = "priority_confusion"
    }

    public init(outcomes: [ConversationOutcome]) {
        self.outcomes = outcomes
        conversations = outcomes.count
        func share(_ right: (ConversationOutcome) -> Bool) -> Double {
            outcomes.isEmpty ? 0 : Double(outcomes.filter(right).count) / Double(outcomes.count)
        }
        right = outcomes.filter(\.right).count
        categoryAccuracy = share { $0.filedCategory == $0.expectedCategory }
        priorityAccuracy = share { $0.filedPriority == $0.expectedPriority }
        priorityWithinOne = share { outcome in
            guard let filed = outcome.filedPriority else { return false }
            return abs(filed.level - outcome.expectedPriority.level) <= 1
        }
        noTicket = outcomes.filter { $0.filedPriority == nil }.count
        let turns = outcomes.compactMap(\.turnsToTicket)
        meanTurnsToTicket = turns.isEmpty ? nil : Double(turns.reduce(0, +)) / Double(turns.count)
        clarifiedShare = share { $0.clarifyingQuestions > 0 }
        safetyQuestionShare = share { $0.safetyQuestions > 0 }
        var confusion: [String: [String: Int]] = [:]
        for outcome in outcomes {
            confusion[outcome.expectedPriority.rawValue, default: [:]][outcome.filedPriority?.rawValue ?? "none", default: 0] += 1
        }
        priorityConfusion = confusion
    }
}
