import DataPack
import Foundation
import Triage

/// Everything the conversation remembers between messages. Stored as JSON in
/// the store (`ConversationSnapshot.state`), never only in memory, so a
/// restarted REPL or another server resumes where the resident left off.
public struct DialogueState: Codable, Equatable, Sendable {
    /// The language of the resident's last message with words in it (`en`/`zh`).
    public var language: Language?
    /// What the assistant is waiting for, if anything.
    public var pending: Pending?

    public init(language: Language? = nil, pending: Pending? = nil) {
        self.language = language
        self.pending = pending
    }

    /// What the last reply asked the resident.
    public enum Pending: Codable, Equatable, Sendable {
        /// Collecting a service request: asking `intake.asking`, or (when nil)
        /// waiting for the resident to confirm the summary.
        case intake(Intake)
        /// An open ticket may already cover the request: link to it, or file anew?
        case duplicate(Intake, ticket: Int)
        /// Unsure what the message was: the options offered (labels of the
        /// intent head: categories or `faq.<id>`), with the original message,
        /// and what the resident said since that was not a choice.
        case clarify(options: [String], message: String, followUp: ClarifyFollowUp? = nil)
        /// Confirm withdrawing this ticket.
        case confirmCancel(ticket: Int)
        /// Waiting for the details to add to this ticket.
        case addDetails(ticket: Int)
        /// An emergency was filed at once; waiting for where it is, to add to the ticket.
        case emergencyLocation(category: String)
        /// A possible emergency, filed as unconfirmed: waiting for the answer
        /// to the safety question (asked again once if the answer is neither yes nor no).
        case safetyCheck(Intake, askedAgain: Bool)
        /// The resident said their resolved ticket is fixed: waiting for a
        /// rating, 1–5 (optional: anything else is taken as something new).
        case rating(ticket: Int)
    }
}

/// What a resident answered to a clarifying question that was not one of
/// its choices: a unit or place is kept for the request, and the choice is
/// asked again, once.
public struct ClarifyFollowUp: Codable, Equatable, Sendable {
    public var unit: String?
    public var location: String?
    /// True once the choice was asked again.
    public var askedAgain: Bool
    /// The triage of the message being clarified, as it stands (its `text`
    /// tells whether words were added since).
    public var decision: TriageDecision?

    public init(unit: String? = nil, location: String? = nil, askedAgain: Bool = false, decision: TriageDecision? = nil) {
        self.unit = unit
        self.location = location
        self.askedAgain = askedAgain
        self.decision = decision
    }
}

/// A service request being taken down.
public struct Intake: Codable, Equatable, Sendable {
    public var category: String
    public var priority: Priority
    /// The safety rule that forced P1, if any.
    public var safetyRule: String?
    /// The resident's description: their first message, plus anything they added.
    public var description: String
    /// The triage decision of the resident's first message, with its
    /// explanation when one was computed: it travels with the intake so
    /// filing never runs the classifier again.
    public var triage: TriageDecision?
    public var unit: String?
    /// Where: a common area (`lobby`) or a room, as the resident wrote it.
    public var location: String?
    /// Answers by detail id (`access`, `best_time`, …).
    public var answers: [String: String]
    /// Detail ids still to ask, in order.
    public var remaining: [String]
    /// The detail id the last reply asked for; nil once all are answered
    /// (the summary awaits confirmation).
    public var asking: String?
    /// True once the category was corrected by the resident or confirmed from a clarification.
    public var categoryConfirmed: Bool = false
    /// The detail asked a second time after an answer that did not fit it
    /// (it is not asked a third time).
    public var reasked: String? = nil
    /// True once the resident declined to add this request to an open ticket
    /// that seemed to cover it: the offer is not made again.
    public var duplicateDeclined: Bool? = nil
    /// The ticket this request was already filed as (a possible emergency is
    /// filed before its questions); confirming the summary completes it.
    public var filedTicket: Int? = nil
}

extension Intake {
    private enum CodingKeys: String, CodingKey {
        case category, priority, safetyRule, description, triage, unit, location, answers, remaining, asking
        case categoryConfirmed, reasked, duplicateDeclined, filedTicket
    }

    /// Reads an intake; `triage` may be the decision itself or, in a
    /// conversation stored by an older version, its JSON line.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        category = try c.decode(String.self, forKey: .category)
        priority = try c.decode(Priority.self, forKey: .priority)
        safetyRule = try c.decodeIfPresent(String.self, forKey: .safetyRule)
        description = try c.decode(String.self, forKey: .description)
        if let line = try? c.decodeIfPresent(String.self, forKey: .triage) {
            triage = try? TriageDecision.decode(jsonLine: line)
        } else {
            triage = try c.decodeIfPresent(TriageDecision.self, forKey: .triage)
        }
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        location = try c.decodeIfPresent(String.self, forKey: .location)
        answers = try c.decode([String: String].self, forKey: .answers)
        remaining = try c.decode([String].self, forKey: .remaining)
        asking = try c.decodeIfPresent(String.self, forKey: .asking)
        categoryConfirmed = try c.decodeIfPresent(Bool.self, forKey: .categoryConfirmed) ?? false
        reasked = try c.decodeIfPresent(String.self, forKey: .reasked)
        duplicateDeclined = try c.decodeIfPresent(Bool.self, forKey: .duplicateDeclined)
        filedTicket = try c.decodeIfPresent(Int.self, forKey: .filedTicket)
    }
}
