import DataPack
import Foundation
import Media
import Store
import Triage

/// One message from a resident, from any channel.
public struct InboundMessage: Sendable {
    /// `terminal`, `rest`, `telegram`, `sms`, `slack`.
    public var channel: String
    /// The resident's id on the channel (a name, a chat id, a phone number).
    public var senderID: String
    /// The channel's id for this message; a redelivery with the same id gets
    /// the first reply back and changes nothing.
    public var deliveryID: String
    public var text: String
    public var displayName: String?
    /// The resident's unit, when the channel knows it (`--unit 4B`).
    public var unit: String?
    /// A language the resident chose (`/lang zh`); otherwise it follows their messages.
    public var preferredLanguage: Language?
    /// Compute the explanation for every message (always done for service requests).
    public var explain: Bool
    /// True when the reply must go out through the outbox (API channels);
    /// false when the caller shows it itself (terminal, REST response body).
    public var queueReply: Bool
    /// Images sent with the message (its text may then be empty).
    public var attachments: [InboundAttachment] = []
    /// Files the platform keeps, fetched in the background after the reply
    /// (Telegram, Twilio, Slack); the text may then be empty.
    public var remoteMedia: [RemoteMedia] = []

    public init(channel: String, senderID: String, deliveryID: String, text: String, displayName: String? = nil,
                unit: String? = nil, preferredLanguage: Language? = nil, explain: Bool = false, queueReply: Bool = false) {
        self.channel = channel
        self.senderID = senderID
        self.deliveryID = deliveryID
        self.text = text
        self.displayName = displayName
        self.unit = unit
        self.preferredLanguage = preferredLanguage
        self.explain = explain
        self.queueReply = queueReply
    }
}

/// What the assistant did with a message.
public struct ConversationReply: Sendable {
    /// The reply, or nil when the assistant stays quiet (staff took over).
    public var text: String?
    /// Tickets filed by this message.
    public var ticketNumbers: [Int]
    /// The triage of the message (nil for a redelivery or a handed-off conversation).
    public var decision: TriageDecision?
    /// True when the message was seen before: nothing happened, `text` is the first reply.
    public var redelivered: Bool
    /// True when the conversation is with staff now.
    public var handoff: Bool
    /// What the conversation waits for after this reply.
    public var pending: DialogueState.Pending?
    /// The language the reply is in.
    public var language: Language
    /// Short answers the resident can tap instead of typing (channels with
    /// buttons show them); empty when the reply asks nothing with set answers.
    public var suggestions: [SuggestedReply] = []
}

/// An answer the reply offers: `title` to show on a button, `payload` to send
/// back as the resident's message (the dialogue understands it).
public struct SuggestedReply: Sendable, Equatable, Codable {
    public var title: String
    public var payload: String

    public init(title: String, payload: String) {
        self.title = title
        self.payload = payload
    }
}

/// The front desk: reads the conversation from the store, decides the reply
/// with the triage and the dialogue policy, and commits the turn (message,
/// state, tickets, reply, idempotency key) in one transaction. Holds no
/// conversation in memory, so any number of engines may share one store.
public final class ConversationEngine: Sendable {
    public let store: any TicketStore
    public let triager: any Triaging
    public let pack: DataPack
    /// Recorded on tickets the assistant files.
    public let modelVersion: String?
    let calendar: OfficeHoursCalendar
    let now: @Sendable () -> Date
    /// How far back an open ticket counts as covering the same problem.
    public let duplicateWindow: TimeInterval
    /// The largest photo kept (serve.yaml `photos.max_bytes`); larger ones are refused in the reply.
    public let maxPhotoBytes: Int

    public init(store: any TicketStore, triager: any Triaging, pack: DataPack, modelVersion: String? = nil,
                duplicateWindow: TimeInterval = 3 * 86_400, maxPhotoBytes: Int = ImageUpload.defaultMaxBytes,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.maxPhotoBytes = maxPhotoBytes
        self.store = store
        self.triager = triager
        self.pack = pack
        self.modelVersion = modelVersion
        self.duplicateWindow = duplicateWindow
        self.now = now
        calendar = OfficeHoursCalendar(community: pack.community)
    }

    /// The most a turn is retried when another turn of the same conversation
    /// committed between reading and writing.
    static let maximumAttempts = 5

    /// Handles one inbound message end to end.
    public func handle(_ message: InboundMessage) async throws -> ConversationReply {
        let words = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !words.isEmpty || !message.attachments.isEmpty || !message.remoteMedia.isEmpty else {
            throw DialogueError.emptyMessage
        }
        let text = words.isEmpty ? Self.photoOnlyText : words
        let images = TurnImages(message.attachments, remote: message.remoteMedia, maxBytes: maxPhotoBytes)
        var lastConflict: Error?
        for _ in 0..<Self.maximumAttempts {
            let start = try await store.turnStart(channel: message.channel, externalID: message.senderID,
                                                  deliveryID: message.deliveryID)
            if let stored = start.storedOutcome { return redelivery(stored, message: message) }
            let snapshot = start.conversation
            var state = snapshot.flatMap(Self.dialogueState) ?? DialogueState()
            let resident = ResidentInfo(channel: message.channel, externalID: message.senderID,
                                        displayName: message.displayName, language: nil, unit: message.unit)
            var plan: Plan
            if snapshot?.handoff == true {
                // Staff have the conversation: record the message, say nothing.
                plan = Plan(state: state, reply: nil, handoff: true)
            } else {
                let language = message.preferredLanguage ?? TextCues.language(of: words) ?? state.language
                    ?? (words.isEmpty ? .en : Language.detect(words))
                state.language = language
                let context = TurnContext(message: message, text: text, language: language,
                                          knownUnit: message.unit ?? snapshot?.resident.unit,
                                          say: Phrases(language: language, pack: pack), images: images,
                                          photoOnly: words.isEmpty)
                plan = try await respond(to: context, state: state)
            }
            var residentInfo = resident
            residentInfo.language = plan.state.language?.rawValue
            let turn = ConversationTurn(
                resident: residentInfo, deliveryID: message.deliveryID, inboundText: text,
                expectedVersion: snapshot?.version ?? 0, newState: try JSONEncoder().encode(plan.state),
                handoff: plan.handoff, tickets: plan.tickets, actions: plan.actions, reply: plan.reply,
                queueReply: message.queueReply, attachments: snapshot?.handoff == true ? images.accepted : plan.attachments,
                attachTo: plan.attachTo)
            do {
                let outcome = try await store.commitTurn(turn)
                if !outcome.committed { return redelivery(outcome, message: message) }
                let language = plan.state.language ?? .en
                return ConversationReply(text: outcome.reply, ticketNumbers: outcome.ticketNumbers, decision: plan.decision,
                                         redelivered: false, handoff: plan.handoff, pending: plan.state.pending,
                                         language: language,
                                         suggestions: Phrases(language: language, pack: pack).suggestions(plan.state.pending))
            } catch let error as StoreError {
                guard case .conversationChanged = error else { throw error }
                lastConflict = error
            }
        }
        throw lastConflict ?? DialogueError.emptyMessage
    }

    /// The dialogue state stored on a conversation (nil when none, or unreadable:
    /// the conversation then starts afresh rather than failing).
    static func dialogueState(_ snapshot: ConversationSnapshot) -> DialogueState? {
        snapshot.state.flatMap { try? JSONDecoder().decode(DialogueState.self, from: $0) }
    }

    private func redelivery(_ outcome: TurnOutcome, message: InboundMessage) -> ConversationReply {
        ConversationReply(text: outcome.reply, ticketNumbers: outcome.ticketNumbers, decision: nil, redelivered: true,
                          handoff: false, pending: nil, language: message.preferredLanguage ?? Language.detect(message.text))
    }
}

/// Errors of the conversation layer.
public enum DialogueError: Error, Equatable, CustomStringConvertible {
    /// A message with no text (only spaces).
    case emptyMessage
    /// A clarifying question was answered, but the turn's facts lack the
    /// triage of the message it was about (a caller of `decide` that did not
    /// read the facts with `clarifiedDecision`).
    case missingClarifiedDecision

    public var description: String {
        switch self {
        case .emptyMessage: "the message is empty"
        case .missingClarifiedDecision: "the triage of the message being clarified was not read before deciding"
        }
    }
}

/// What one turn will do, computed before anything is written.
struct Plan {
    var state: DialogueState
    var reply: String?
    var tickets: [TicketDraft] = []
    var actions: [TicketAction] = []
    var handoff: Bool = false
    var decision: TriageDecision?
    /// The message's images to store, and the resident's ticket they go on
    /// (nil: the ticket this turn files, else the next request's).
    var attachments: [AttachmentDraft] = []
    var attachTo: Int?
}

/// What the policy knows about the message being answered.
struct TurnContext {
    var message: InboundMessage
    var text: String
    var language: Language
    var knownUnit: String?
    var say: Phrases
    /// The message's images, checked (``TurnImages``).
    var images = TurnImages()
    /// The message is only images: `text` is ``ConversationEngine/photoOnlyText``.
    var photoOnly = false
    /// What was read from the store for this turn, before deciding.
    var facts = TurnFacts()
}

/// What the policy reads from the store, all of it before it decides: the
/// policy itself reads and writes nothing (``ConversationEngine/decide(_:state:decision:)``).
struct TurnFacts {
    /// The time of the turn.
    var now = Date(timeIntervalSince1970: 0)
    /// The resident's tickets, newest first (status, cancel, add details, the
    /// safety question, an emergency's location).
    var residentTickets: [ResidentTicket] = []
    /// Open tickets filed within the duplicate window, by category, for the
    /// categories this turn may file under (a category not read has none).
    var recentOpenTickets: [String: [Ticket]] = [:]
    /// The triage of the message a pending clarifying question is about (see
    /// ``ConversationEngine/clarifiedDecision(_:)``); nil when none is pending.
    var clarifiedDecision: TriageDecision?

    /// The resident's tickets that are still open.
    var ownOpenTickets: [Ticket] { residentTickets.map(\.ticket).filter { $0.status.isOpen } }
}

extension ConversationEngine {
    /// The question the conversation is waiting on, to show again when the
    /// resident comes back (a restarted REPL resumes where it was), or nil.
    public func resumePrompt(channel: String, senderID: String) async throws -> String? {
        guard let snapshot = try await store.conversation(channel: channel, externalID: senderID),
              !snapshot.handoff,
              let state = Self.dialogueState(snapshot),
              let pending = state.pending else { return nil }
        let say = Phrases(language: state.language ?? .en, pack: pack)
        switch pending {
        case .intake(let intake): return say.understood(intake) + " " + (pendingQuestion(state, say: say) ?? "")
        case let .duplicate(_, ticket):
            return (try? await store.ticket(number: ticket)).map { say.duplicateOffer($0, place: $0.location ?? $0.unit ?? "") }
        case let .clarify(options, _, _): return say.clarify(options)
        case let .confirmCancel(ticket):
            return (try? await store.ticket(number: ticket)).map(say.confirmCancel)
        case let .addDetails(ticket): return say.askDetails(ticket)
        case let .emergencyLocation(category):
            // Asked where only when the emergency's ticket has no place yet.
            let tickets = try await store.residentTickets(channel: channel, externalID: senderID)
            let ticket = tickets.first { $0.ticket.category == category && $0.ticket.status.isOpen }?.ticket
            return ticket.map { $0.unit == nil && $0.location == nil } == true ? say.emergencyWhere : nil
        case .safetyCheck: return say.safetyQuestion(filed: false)
        case let .rating(ticket): return say.statusUpdate("fixed", ticket: ticket)
        }
    }

    /// The resident's tickets as the status lookup shows them (`/tickets`).
    public func ticketsText(channel: String, senderID: String, language: Language) async throws -> String {
        let say = Phrases(language: language, pack: pack)
        let tickets = try await store.residentTickets(channel: channel, externalID: senderID)
        return tickets.isEmpty ? say.noTickets : say.statusLines(Array(tickets.prefix(10)), now: now())
    }
}
