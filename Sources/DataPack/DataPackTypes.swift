@_exported import Domain
/// A language residents write in.
public enum Language: String, CaseIterable, Codable, Sendable, Comparable {
    case en, zh

    public static func < (lhs: Language, rhs: Language) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The language of a message by its script: Chinese when it contains any
    /// Han character, English otherwise.
    public static func detect(_ text: String) -> Language {
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0x20000...0x2EBEF).contains(value) {
                return .zh
            }
        }
        return .en
    }
}

/// A place in a data-pack file (path relative to the pack, 1-based line and column).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One thing a resident might write, as it stands in the pack.
public struct Example: Sendable, Equatable {
    public var text: String
    public var language: Language
    /// Set when this example is more (or less) urgent than its category's default.
    public var priority: Priority?
    public var location: SourceLocation
}

/// Text given in every language.
public typealias Translations = [Language: String]

/// A kind of service request, e.g. plumbing.
public struct Category: Sendable {
    public var id: String
    public var name: Translations
    /// The problem named in a sentence, with its article ("an appliance
    /// problem", "家电问题"); empty when the pack gives none.
    public var problem: Translations = [:]
    public var defaultPriority: Priority
    /// Ids of the details staff need (see `DetailSpec`), asked in this order.
    public var details: [String]
    public var examples: [Example]
    public var location: SourceLocation
}

/// What a resident may say around a request that the assistant understands:
/// each is a file `conversation/<id>.yaml` every pack must have, and the
/// conversation policy answers each one (no other ids are accepted).
public enum ConversationIntentID: String, CaseIterable, Sendable {
    case greet, thanks, goodbye, affirm, deny
    case ticketStatus = "ticket_status"
    case cancelTicket = "cancel_ticket"
    case addDetails = "add_details"
    case humanHandoff = "human_handoff"

    /// A courtesy: answered, and a pending question asked again.
    public var isCourtesy: Bool { [.greet, .thanks, .goodbye].contains(self) }
}

/// A conversational intent, e.g. greet or ticket_status.
public struct ConversationIntent: Sendable {
    /// Every id a pack must define (``ConversationIntentID``), in order.
    public static let requiredIDs = ConversationIntentID.allCases.map(\.rawValue)
    public var id: String
    public var examples: [Example]
    public var location: SourceLocation
}

/// A frequently asked question with its answer.
public struct FAQ: Sendable {
    public var id: String
    public var questions: [Example]
    public var answer: Translations
    public var location: SourceLocation
}

/// A detail staff may need for a request, and how to ask for it.
public struct DetailSpec: Sendable {
    public var id: String
    public var ask: Translations
}

/// Office hours on some days of the week, in the community's timezone.
public struct OfficeHours: Sendable, Equatable {
    /// `mon` … `sun`.
    public var days: [String]
    /// "HH:MM", 24-hour clock.
    public var open: String
    public var close: String
}

/// A local emergency number.
public struct EmergencyNumber: Sendable {
    public var id: String
    public var number: String
    public var label: Translations
}

/// How fast staff respond to a priority.
public struct ResponseTarget: Sendable {
    /// Hours until the response is due; nil for "scheduled".
    public var hours: Double?
    /// How the assistant says it to the resident.
    public var text: Translations
}

/// Facts about the community (`community.yaml`).
public struct Community: Sendable {
    public var name: Translations
    public var address: String
    public var timezone: String
    public var languages: [Language]
    public var officeHours: [OfficeHours]
    public var staffPhone: String
    public var staffEmail: String
    public var staffOffice: Translations
    public var afterHoursEmergencyLine: String
    public var emergencyNumbers: [EmergencyNumber]
    /// Guidance by hazard id (gas, fire, smoke, flooding, …).
    public var emergencyGuidance: [String: Translations]
    public var responseTargets: [Priority: ResponseTarget]
    /// What residents are told as their ticket moves on, by key (see
    /// ``Community/statusUpdateKeys``); `{ticket}`, `{question}` and `{into}`
    /// are filled in. Empty: the assistant's built-in wording.
    public var statusUpdates: [String: Translations] = [:]

    /// The keys of `status_updates`: the statuses residents are told about,
    /// and the replies of the "is it fixed?" loop.
    public static let statusUpdateKeys: Set<String> = [
        "in_progress", "pending_resident", "resolved", "duplicate", "rejected",
        "fixed", "not_fixed", "rated", "reply_added",
    ]
}

/// An example staff added by correcting the assistant (`corrections/*.yaml`).
public struct CorrectionExample: Sendable {
    public var text: String
    public var language: Language
    /// A category id, a conversation intent id, `faq.<id>`, or `out_of_scope`.
    public var intent: String
    public var priority: Priority?
    public var location: SourceLocation
}

/// The whole community data pack.
public struct DataPack: Sendable {
    public var community: Community
    public var details: [DetailSpec]
    public var categories: [Category]
    public var conversation: [ConversationIntent]
    public var faqs: [FAQ]
    public var outOfScope: [Example]
    public var corrections: [CorrectionExample]
    /// The emergency rules of `safety.yaml`, in file order (most severe first);
    /// empty when the file is missing (the linter reports that).
    public var safetyRules: [SafetyRule] = []
    /// `urgent.yaml`: phrases of an essential service lost or security
    /// compromised (the rubric's P2). A request one fires on is at least P2;
    /// they never make a P1. Same syntax as the safety rules, without guidance.
    public var urgentRules: [SafetyRule] = []
    /// `can_wait.yaml`: phrases that say the resident can wait ("no rush",
    /// "不着急"). An ordinary request (P3) one fires on becomes P4, unless a
    /// safety or urgent rule fired or the model saw an emergency. Same syntax.
    public var canWaitRules: [SafetyRule] = []
}
