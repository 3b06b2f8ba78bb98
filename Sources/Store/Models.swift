@_exported import Domain
import Foundation
import StaffAuth

/// Where a ticket is in its life.
///
/// Legal transitions (anything else is rejected with
/// `StoreError.illegalTransition`):
///
/// | from | to |
/// |---|---|
/// | `new` | `triaged`, `in_progress`, `pending_resident`, `resolved`, `rejected` |
/// | `triaged` | `in_progress`, `pending_resident`, `resolved`, `rejected` |
/// | `in_progress` | `triaged`, `pending_resident`, `resolved`, `rejected` |
/// | `pending_resident` | `triaged`, `in_progress`, `resolved`, `rejected`, `closed` |
/// | `resolved` | `closed`, `in_progress` (reopened) |
/// | `closed` | — (final) |
/// | `duplicate` | `triaged` (un-merged) |
/// | `rejected` | `triaged` (reopened) |
///
/// `duplicate` is reached only by merging (`merge(number:into:)`), from any
/// open status, because it needs the ticket it duplicates.
public enum TicketStatus: String, CaseIterable, Codable, Sendable {
    case new
    case triaged
    case inProgress = "in_progress"
    case pendingResident = "pending_resident"
    case resolved
    case closed
    case duplicate
    case rejected

    /// Statuses that belong in the staff queue.
    public static let open: [TicketStatus] = [.new, .triaged, .inProgress, .pendingResident]

    /// True for `new`, `triaged`, `in_progress` and `pending_resident`.
    public var isOpen: Bool { Self.open.contains(self) }

    /// True for statuses that end a ticket's life (`closed`, `duplicate`,
    /// `rejected`); the retention purge applies to these.
    public var isFinal: Bool { self == .closed || self == .duplicate || self == .rejected }

    /// The statuses a staff member may move a ticket to from this one with a
    /// status change (merging into `duplicate` is separate).
    public var allowedNext: [TicketStatus] {
        switch self {
        case .new: [.triaged, .inProgress, .pendingResident, .resolved, .rejected]
        case .triaged: [.inProgress, .pendingResident, .resolved, .rejected]
        case .inProgress: [.triaged, .pendingResident, .resolved, .rejected]
        case .pendingResident: [.triaged, .inProgress, .resolved, .rejected, .closed]
        case .resolved: [.closed, .inProgress]
        case .closed: []
        case .duplicate: [.triaged]
        case .rejected: [.triaged]
        }
    }

    /// Whether `self → next` is a legal status change.
    public func canMove(to next: TicketStatus) -> Bool { allowedNext.contains(next) }

    /// Parses a status name; accepts `in-progress` and `in progress` for `in_progress`.
    public init?(parsing text: String) {
        let key = text.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        guard let value = TicketStatus(rawValue: key) else { return nil }
        self = value
    }
}

/// How long staff have to respond to each priority, from `community.yaml`'s
/// `response_targets`. A nil target ("scheduled with routine maintenance")
/// gives the ticket no SLA due time.
public struct ResponseTargets: Sendable, Equatable {
    public var hours: [Priority: Double]

    /// Targets from hours per priority; priorities left out have no target.
    public init(hours: [Priority: Double]) { self.hours = hours }

    /// The shipped community's targets: P1 1 h, P2 24 h, P3 120 h, P4 none.
    public static let standard = ResponseTargets(hours: [.p1: 1, .p2: 24, .p3: 120])

    /// When a ticket of `priority` created at `created` is due, or nil when the
    /// priority has no target.
    public func dueDate(for priority: Priority, createdAt created: Date) -> Date? {
        hours[priority].map { created.addingTimeInterval($0 * 3600) }
    }
}

/// Who did something: a staff member's name, or `concierge` for the assistant.
public typealias ActorName = String

/// A resident as the store knows them. Personal fields are nil after
/// `forgetResident`.
public struct Resident: Sendable, Equatable, Codable {
    public var id: Int64
    /// The messaging channel (`terminal`, `telegram`, …).
    public var channel: String
    /// The resident's id on that channel; `forgotten-<id>` once forgotten.
    public var externalID: String
    public var displayName: String?
    /// `en` or `zh`, as detected or chosen.
    public var language: String?
    public var unit: String?
    public var createdAt: Date
    public var forgottenAt: Date?
}

/// Who a new ticket or a conversation turn is about.
public struct ResidentInfo: Sendable, Equatable {
    public var channel: String
    public var externalID: String
    public var displayName: String?
    public var language: String?
    public var unit: String?

    public init(channel: String, externalID: String, displayName: String? = nil, language: String? = nil, unit: String? = nil) {
        self.channel = channel
        self.externalID = externalID
        self.displayName = displayName
        self.language = language
        self.unit = unit
    }
}

/// What is needed to file a ticket.
public struct TicketDraft: Sendable, Equatable {
    /// A category id of the data pack (`plumbing`, `noise`, …).
    public var category: String
    public var priority: Priority
    /// The resident's own words (or a staff summary).
    public var description: String
    public var unit: String?
    /// Where in the unit or building (`kitchen`, `hallway of floor 3`).
    public var location: String?
    /// How staff may get in (`key under mat`, `call first`, `dog in unit`).
    public var accessNotes: String?
    /// The model's confidence in the category, 0…1, when the model filed it.
    public var confidence: Double?
    /// Which trained model filed it.
    public var modelVersion: String?
    /// The id of the safety rule that forced the priority (e.g. `gas`), if any.
    public var safetyRule: String?
    /// The resident who asked; nil for tickets staff file themselves.
    public var resident: ResidentInfo?
    /// The triage decision the assistant filed it with (JSON), shown to staff.
    public var triage: String?
    /// How its emergency was reached, or that a possible one is unconfirmed.
    public var emergency: TicketEmergency?
    /// The shared place it names, as a key (`building 2 · elevator`, `lobby`):
    /// recurring problems are counted by it, else by the unit.
    public var place: String?
    /// The assistant had to ask a clarifying question before filing it.
    public var clarified: Bool?

    public init(category: String, priority: Priority, description: String, unit: String? = nil,
                location: String? = nil, accessNotes: String? = nil, confidence: Double? = nil,
                modelVersion: String? = nil, safetyRule: String? = nil, resident: ResidentInfo? = nil,
                triage: String? = nil, emergency: TicketEmergency? = nil, place: String? = nil, clarified: Bool? = nil) {
        self.place = place
        self.clarified = clarified
        self.triage = triage
        self.emergency = emergency
        self.category = category
        self.priority = priority
        self.description = description
        self.unit = unit
        self.location = location
        self.accessNotes = accessNotes
        self.confidence = confidence
        self.modelVersion = modelVersion
        self.safetyRule = safetyRule
        self.resident = resident
    }
}

/// A ticket as stored.
public struct Ticket: Sendable, Equatable, Codable {
    public var id: Int64
    /// The number staff and residents use (`#42`): 1, 2, 3… with no gaps.
    public var number: Int
    public var residentID: Int64?
    public var conversationID: Int64?
    public var category: String
    public var priority: Priority
    public var status: TicketStatus
    public var unit: String?
    public var location: String?
    public var accessNotes: String?
    /// Nil once the text was purged by retention or erased for the resident.
    public var description: String?
    public var confidence: Double?
    public var modelVersion: String?
    public var safetyRule: String?
    /// When the first response is due (from the response targets), nil when the priority has none.
    public var slaDueAt: Date?
    /// When staff first responded: moved it to in progress, asked the resident, resolved it, or wrote a public note.
    public var firstResponseAt: Date?
    public var assignee: String?
    /// The number of the ticket this one duplicates (status `duplicate`).
    public var duplicateOf: Int?
    public var createdAt: Date
    public var updatedAt: Date
    /// When it reached a final status (closed, duplicate, rejected).
    public var closedAt: Date?
    /// The triage decision (JSON) the assistant filed it with; nil for staff-filed tickets.
    public var triage: String?
    /// How its emergency was reached (P1 tickets), or that a possible
    /// emergency is unconfirmed; nil for ordinary tickets.
    public var emergency: TicketEmergency? = nil
    /// When it was resolved, while it is (the resident is asked "is it fixed?").
    public var resolvedAt: Date? = nil
    /// What the resident said to "is it fixed?", or that nobody answered in time.
    public var residentConfirmation: ResolutionConfirmation? = nil
    /// The resident's rating of the service, 1–5, and their comment.
    public var rating: Int? = nil
    public var ratingComment: String? = nil
    /// The resident's photos on it (filled by the queue listing; 0 elsewhere).
    public var photoCount: Int = 0
    /// In a listing: how many times this problem came up at its place or unit
    /// in the recurrence window up to it (itself included); 0 elsewhere.
    public var recurrenceCount: Int = 0

    /// It is at least the third of its kind there in 90 days (``InsightsReport/recurrenceMinimum``).
    public var isRecurring: Bool { recurrenceCount >= InsightsReport.recurrenceMinimum }

    /// The SLA as of `now`.
    public func sla(now: Date) -> SLAState {
        guard let due = slaDueAt else { return .none }
        if let responded = firstResponseAt { return responded <= due ? .met : .missed }
        return now <= due ? .due(in: due.timeIntervalSince(now)) : .breached(by: now.timeIntervalSince(due))
    }
}

/// The resident's answer to "is it fixed?" after staff resolved a ticket.
public enum ResolutionConfirmation: String, Sendable, Codable, CaseIterable {
    /// Yes: the ticket is closed.
    case fixed
    /// No: the ticket is reopened (in progress) with the resident's words.
    case notFixed = "not_fixed"
    /// No answer within the community's `confirm_days`: closed automatically.
    case autoClosed = "auto_closed"

    /// For staff (`ticket show`, the staff page).
    public var explanation: String {
        switch self {
        case .fixed: "fixed, said the resident"
        case .notFixed: "not fixed, said the resident (reopened)"
        case .autoClosed: "closed automatically: the resident did not answer"
        }
    }
}

extension Ticket {
    /// The resident's rating for staff: "4/5", with the comment when there is one.
    public var ratingSummary: String? {
        rating.map { "\($0)/5" + (ratingComment.map { " — \"\($0)\"" } ?? "") }
    }
}

/// How a ticket's emergency was reached.
public enum TicketEmergency: String, Sendable, Codable, CaseIterable {
    /// A safety rule fired on the resident's words: P1 at once.
    case rule
    /// The model was sure: P1 at once.
    case model
    /// The model thought it possible and the resident said yes to the safety question: P1.
    case residentConfirmed = "resident_confirmed"
    /// The model thought it possible and the resident has not answered the
    /// safety question (yet): filed P2, so staff look within the day rather
    /// than being paged for what is most often not an emergency, and flagged
    /// so they see it is one to check.
    case unconfirmed

    /// For staff: what the flag means.
    public var explanation: String {
        switch self {
        case .rule: "P1 by a safety rule"
        case .model: "P1 by the model (sure)"
        case .residentConfirmed: "P1: the resident confirmed danger"
        case .unconfirmed: "possible emergency, not confirmed by the resident"
        }
    }
}

/// Where a ticket stands against its response target.
public enum SLAState: Sendable, Equatable {
    /// The priority has no target.
    case none
    /// Responded in time.
    case met
    /// Responded, but late.
    case missed
    /// Not yet responded; due in this many seconds.
    case due(in: TimeInterval)
    /// Not yet responded; overdue by this many seconds.
    case breached(by: TimeInterval)
}

/// One entry of a ticket's append-only audit log.
public struct TicketEvent: Sendable, Equatable, Codable {
    public var id: Int64
    public var ticketNumber: Int
    public var actor: String
    /// `created`, `status`, `priority`, `category`, `assignee`, `note`,
    /// `merged`, `merged_into`, `redacted`.
    public var kind: String
    public var from: String?
    public var to: String?
    public var at: Date
}

/// Who can see a note.
public enum NoteVisibility: String, Codable, Sendable, CaseIterable {
    /// Staff only.
    case `internal`
    /// Also sent to the resident (through the outbox) when the ticket came from a conversation.
    case `public`
}

/// A staff note on a ticket.
public struct Note: Sendable, Equatable, Codable {
    public var id: Int64
    public var ticketNumber: Int
    public var author: String
    public var visibility: NoteVisibility
    /// Nil once erased with the resident's data.
    public var text: String?
    public var createdAt: Date
}

/// Whether a message came from the resident or went to them.
public enum MessageDirection: String, Codable, Sendable {
    case inbound = "in"
    case outbound = "out"
}

/// One message of a conversation.
public struct Message: Sendable, Equatable, Codable {
    public var id: Int64
    public var conversationID: Int64
    public var direction: MessageDirection
    public var channel: String
    /// The channel's id for the message (inbound: the platform's message id;
    /// outbound: set when the channel accepted it).
    public var deliveryID: String?
    /// Nil once redacted (resident forgotten) or purged (retention).
    public var text: String?
    public var createdAt: Date
    /// An outbound message's delivery through the outbox (``ticketDetail``
    /// reads it); nil for inbound messages and replies given in the response.
    public var delivery: OutboundDelivery? = nil
}

/// Where an outbound message queued in the outbox stands.
public enum OutboundDelivery: String, Sendable, Equatable, Codable {
    /// The channel accepted it.
    case sent
    /// Waiting for its first attempt or a retry.
    case pending
    /// Given up on (a permanent refusal, or too many attempts).
    case abandoned
}

/// A ticket with everything `ticket show` prints.
public struct TicketDetail: Sendable, Equatable, Codable {
    public var ticket: Ticket
    public var resident: Resident?
    /// The conversation the ticket came from, oldest first.
    public var transcript: [Message]
    public var events: [TicketEvent]
    public var notes: [Note]
    /// The resident's photos, oldest first (no bytes).
    public var attachments: [Attachment] = []
}

/// Which open tickets `queue` lists.
public struct QueueFilter: Sendable, Equatable {
    /// Statuses to include; empty means every open status.
    public var statuses: [TicketStatus]
    public var categories: [String]
    public var priorities: [Priority]
    /// Only tickets assigned to this person.
    public var assignee: String?
    /// Only tickets nobody is assigned to.
    public var unassignedOnly: Bool
    /// At most this many tickets (the most urgent first).
    public var limit: Int

    public init(statuses: [TicketStatus] = [], categories: [String] = [], priorities: [Priority] = [],
                assignee: String? = nil, unassignedOnly: Bool = false, limit: Int = 50) {
        self.statuses = statuses
        self.categories = categories
        self.priorities = priorities
        self.assignee = assignee
        self.unassignedOnly = unassignedOnly
        self.limit = limit
    }
}

/// A staff re-label of a ticket: the resident's original text with the
/// category and priority staff say it should have had.
public struct Correction: Sendable, Equatable, Codable {
    public var id: Int64
    public var ticketNumber: Int
    /// `category` or `priority`.
    public var field: String
    public var from: String
    public var to: String
    /// The ticket's category after the correction.
    public var category: String
    /// The ticket's priority after the correction.
    public var priority: Priority
    /// The resident's original text; nil once erased.
    public var text: String?
    public var actor: String
    public var createdAt: Date
    public var exportedAt: Date?
}

/// A reply waiting to be sent to a resident.
public struct OutboxItem: Sendable, Equatable, Codable {
    public var id: Int64
    public var messageID: Int64
    public var conversationID: Int64
    public var channel: String
    /// The resident's id on the channel.
    public var recipient: String
    public var text: String
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var sentAt: Date?
}

/// What `TicketStore.turnStart` found.
public struct TurnStart: Sendable {
    /// Set when the delivery was processed before: answer with it, change nothing.
    public var storedOutcome: TurnOutcome?
    /// The resident's conversation (nil for someone new, or for a redelivery).
    public var conversation: ConversationSnapshot?
}

/// The conversation with one resident, as the dialogue layer loads it.
public struct ConversationSnapshot: Sendable, Equatable {
    public var conversationID: Int64
    public var resident: Resident
    /// The dialogue state, opaque to the store (the dialogue layer's JSON).
    public var state: Data?
    /// Incremented on every committed turn; pass it back in `ConversationTurn.expectedVersion`.
    public var version: Int
    /// True when a human has taken the conversation over.
    public var handoff: Bool
}

/// Everything one inbound message causes, committed in one transaction by
/// `commitTurn`: the inbound message, the new dialogue state, tickets filed,
/// the reply (a message plus an outbox entry), and the idempotency key
/// (channel + delivery id) that makes a redelivery return the same reply.
public struct ConversationTurn: Sendable, Equatable {
    public var resident: ResidentInfo
    /// The platform's id of the inbound message; a second turn from the same
    /// resident with the same channel and delivery id changes nothing and
    /// returns the first reply (see ``idempotencyKey(externalID:deliveryID:)``).
    public var deliveryID: String
    public var inboundText: String
    /// The conversation version the dialogue computed from (0 for a new
    /// conversation). If another turn committed first, `commitTurn` throws
    /// `StoreError.conversationChanged` and nothing is written.
    public var expectedVersion: Int
    public var newState: Data?
    public var handoff: Bool
    /// Tickets to file (their `resident` is ignored: it is this turn's resident).
    public var tickets: [TicketDraft]
    /// What the turn does to the resident's existing tickets (or, for
    /// `linkReport`, to an open ticket that already covers the problem).
    public var actions: [TicketAction]
    /// The reply to send, if any. Each ``ticketNumberPlaceholder`` in it is
    /// replaced by the number of the ticket filed in this turn, in order.
    public var reply: String?
    /// True when the reply goes out through the outbox (channels answered by an
    /// API call); false when the caller shows it itself (terminal, REST reply body).
    public var queueReply: Bool
    /// Images the resident sent with the message.
    public var attachments: [AttachmentDraft] = []
    /// The resident's own ticket the attachments go on; nil: they go on the
    /// first ticket this turn files, else wait (a day at most) for the next
    /// request the conversation files.
    public var attachTo: Int? = nil

    /// The key a redelivery is recognised by: the delivery id, prefixed with
    /// a digest of the resident's id on the channel. Platforms such as
    /// Telegram and Twilio number messages uniquely, but a REST integrator may
    /// number each resident's messages `m1`, `m2`, …: without the resident in
    /// the key, one resident's message would be answered with another's reply.
    /// The digest (not the id itself) keeps phone numbers out of the key.
    public static func idempotencyKey(externalID: String, deliveryID: String) -> String {
        String(SecretToken.digest(externalID).prefix(16)) + "/" + deliveryID
    }

    /// Stands for the number of a ticket the turn files, in `reply` (an
    /// invisible separator around the word, so no resident text can forge it).
    public static let ticketNumberPlaceholder = "\u{2063}ticket\u{2063}"

    /// `reply` with each placeholder replaced by the next of `numbers`.
    public static func fillingTicketNumbers(_ reply: String, _ numbers: [Int]) -> String {
        var pieces = reply.components(separatedBy: ticketNumberPlaceholder)
        guard pieces.count > 1 else { return reply }
        var result = pieces.removeFirst()
        for (index, piece) in pieces.enumerated() {
            result += (index < numbers.count ? String(numbers[index]) : "?") + piece
        }
        return result
    }

    public init(resident: ResidentInfo, deliveryID: String, inboundText: String, expectedVersion: Int,
                newState: Data?, handoff: Bool = false, tickets: [TicketDraft] = [], actions: [TicketAction] = [],
                reply: String?, queueReply: Bool = true, attachments: [AttachmentDraft] = [], attachTo: Int? = nil) {
        self.attachments = attachments
        self.attachTo = attachTo
        self.actions = actions
        self.queueReply = queueReply
        self.resident = resident
        self.deliveryID = deliveryID
        self.inboundText = inboundText
        self.expectedVersion = expectedVersion
        self.newState = newState
        self.handoff = handoff
        self.tickets = tickets
        self.reply = reply
    }
}

/// What `commitTurn` did.
public struct TurnOutcome: Sendable, Equatable {
    /// False when the delivery id was seen before: nothing was written and
    /// `reply` is the reply stored the first time.
    public var committed: Bool
    public var reply: String?
    public var ticketNumbers: [Int]
    public var conversationID: Int64
    public var version: Int
}

/// What `forgetResident` erased.
public struct ForgetReport: Sendable, Equatable, Codable {
    public var residentID: Int64
    public var messagesRedacted: Int
    public var ticketsAnonymised: Int
    public var notesRedacted: Int
    public var correctionsRedacted: Int
    public var outboxCancelled: Int
    /// Their photos, bytes erased (the rows stay, for counts).
    public var attachmentsErased: Int = 0
}

/// What a retention purge removed.
public struct PurgeReport: Sendable, Equatable, Codable {
    public var ticketsPurged: Int
    public var messagesPurged: Int
    public var attachmentsErased: Int = 0
}

/// The result of an integrity check.
public struct IntegrityReport: Sendable, Equatable {
    /// `ok`, or what the database engine found wrong.
    public var problems: [String]
    public var tickets: Int
    public var highestNumber: Int
    public var isOK: Bool { problems.isEmpty }
}

/// Row counts, for `store info`.
public struct StoreStatistics: Sendable, Equatable, Codable {
    public var schemaVersion: Int
    public var residents: Int
    public var conversations: Int
    public var messages: Int
    public var tickets: Int
    public var openTickets: Int
    public var events: Int
    public var outboxPending: Int
    public var correctionsPending: Int
    /// Residents' photos kept (not erased), and their bytes.
    public var attachments: Int = 0
    public var attachmentBytes: Int = 0
}
