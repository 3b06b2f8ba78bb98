import Domain
import DataPack
import Foundation

/// What one resident message is, as the assistant decides it: the shared
/// output of the REPL, the webhook channels and `concierge triage`.
public struct TriageDecision: Codable, Equatable, Sendable {
    /// The four things a message can be.
    public enum Kind: String, Codable, Sendable {
        /// A problem to file a ticket for (`category` is set).
        case serviceRequest = "service_request"
        /// A question the data pack answers (`faq` is set).
        case faq
        /// Conversation: greet, thanks, status, cancel, handoff, … (`intent`).
        case conversation
        /// Nothing the assistant handles.
        case outOfScope = "out_of_scope"
    }

    /// The message as it was triaged.
    public var text: String
    /// `en` or `zh`, by script (see `Language.detect`).
    public var language: String
    public var kind: Kind
    /// The intent head's decision: a category id, a conversational intent,
    /// `faq.<id>`, or `out_of_scope`.
    public var intent: String
    /// The category id, for a service request.
    public var category: String?
    /// The FAQ id (without `faq.`), for a question.
    public var faq: String?
    /// `P1`…`P4` for a service request: the model's priority (P1 whenever P1's
    /// probability reaches the recall-tuned threshold), raised to P1 when a
    /// safety rule fired.
    public var priority: Priority?
    /// The priority the model alone gave (before the safety rules).
    public var modelPriority: Priority?
    /// The probability of the model's priority.
    public var priorityConfidence: Double?
    /// True when judged out of scope (trained class or threshold).
    public var outOfScope: Bool
    /// The probability of the intent head's top label.
    public var confidence: Double
    /// True when `confidence` is below the clarification threshold: the
    /// assistant should offer `alternatives` instead of guessing.
    public var needsClarification: Bool
    /// The likeliest in-scope labels, most probable first (at most three).
    public var alternatives: [ScoredLabel]
    /// The safety rule that fired (it forces P1), if any.
    public var safety: SafetyFinding?
    /// The words that drove the decision, when explanations were asked for.
    public var explanation: Explanation?
    /// Whether the request may be an emergency: `certain` (a safety rule
    /// fired, or the model is sure: `priority` is P1) or `possible` (the
    /// model's P1 probability is between the recall-tuned and the certain
    /// threshold: `priority` is the best of P2–P4 and the assistant asks the
    /// resident); nil otherwise. Service requests only.
    public var emergency: EmergencyLevel?
    /// What made a certain emergency certain: the safety `rule` or the `model`.
    public var emergencyBasis: EmergencyBasis?
    /// The model's probability of P1 (service requests with a priority head).
    public var p1Probability: Double?
    /// The urgent rule (`urgent.yaml`) that fired, which makes the request at least P2.
    public var urgentCue: String?
    /// The `can_wait.yaml` rule that fired ("no rush"), which made an ordinary request P4.
    public var canWaitCue: String?

    /// The decision as one line of JSON (keys sorted and snake_case:
    /// `model_priority`, `needs_clarification`, `explanation.intent_words`),
    /// as `concierge triage` prints it and tickets store it.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = SnakeCaseKeys.encodingStrategy
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a decision written by ``jsonLine()``, or by an older version that
    /// wrote camelCase keys (tickets and conversations stored before keep
    /// their triage readable).
    public static func decode(jsonLine: String) throws -> TriageDecision {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(TriageDecision.self, from: Data(jsonLine.utf8))
    }
}

extension TriageDecision {
    /// A decision written out by hand (a scripted ``Triaging`` in tests, a
    /// replay): the language from the text's script, `outOfScope` from the
    /// kind, everything not given empty.
    public init(text: String, kind: Kind, intent: String, category: String? = nil, faq: String? = nil,
                priority: Priority? = nil, confidence: Double = 1, needsClarification: Bool = false,
                alternatives: [ScoredLabel] = [], emergency: EmergencyLevel? = nil) {
        self.init(text: text, language: Language.detect(text).rawValue, kind: kind, intent: intent, category: category,
                  faq: faq, priority: priority, modelPriority: priority, priorityConfidence: nil,
                  outOfScope: kind == .outOfScope, confidence: confidence, needsClarification: needsClarification,
                  alternatives: alternatives, safety: nil, explanation: nil)
        self.emergency = emergency
    }
}

/// How sure the triage is that a request is an emergency.
public enum EmergencyLevel: String, Codable, Sendable {
    /// Filed at once as P1, with guidance.
    case certain
    /// The assistant asks the resident one safety question first.
    case possible
}

/// What made a P1 a P1.
public enum EmergencyBasis: String, Codable, Sendable {
    /// A safety rule of `intents/safety.yaml` fired.
    case rule
    /// The model's P1 probability reached the certain threshold.
    case model
}

/// A safety rule that fired on a message.
public struct SafetyFinding: Codable, Equatable, Sendable {
    /// The rule's id in `intents/safety.yaml` (recorded on the ticket).
    public var rule: String
    /// The key of the community's emergency guidance to give (`gas`, `fire`, …).
    public var guidance: String
    /// The words of the message that matched.
    public var matchedText: String
    /// Where they are in the message, as UTF-16 offsets.
    public var start: Int
    public var end: Int

    public init(rule: String, guidance: String, matchedText: String, start: Int, end: Int) {
        self.rule = rule
        self.guidance = guidance
        self.matchedText = matchedText
        self.start = start
        self.end = end
    }
}

/// Why the model decided what it did: the words whose removal most lowers the
/// probability of the decided label (occlusion), for the intent head and for
/// the priority head.
public struct Explanation: Codable, Equatable, Sendable {
    /// Words that drove the category (or intent), most influential first.
    public var intentWords: [WordInfluence]
    /// Words that drove the priority, most influential first (service requests only).
    public var priorityWords: [WordInfluence]

    public init(intentWords: [WordInfluence], priorityWords: [WordInfluence]) {
        self.intentWords = intentWords
        self.priorityWords = priorityWords
    }
}

/// One word of the original message and how much it mattered.
public struct WordInfluence: Codable, Equatable, Sendable {
    /// The word as the resident wrote it.
    public var word: String
    /// Its position in the original message, as UTF-16 offsets (`start..<end`).
    public var start: Int
    public var end: Int
    /// How much the decided label's probability drops when the word is removed
    /// (`p(label | message) − p(label | message without the word)`).
    public var influence: Double

    public init(word: String, start: Int, end: Int, influence: Double) {
        self.word = word
        self.start = start
        self.end = end
        self.influence = influence
    }
}
