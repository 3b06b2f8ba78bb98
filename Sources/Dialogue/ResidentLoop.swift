import DataPack
import Foundation
import Store
import Triage

/// The data pack's wording of status updates (`community.yaml`
/// `status_updates`), for the store to queue when staff move a ticket on.
public struct StatusUpdateWording: Sendable {
    let pack: DataPack

    public init(pack: DataPack) {
        self.pack = pack
    }

    /// What the resident is told about `update`, in their language (English
    /// when unknown); nil for a status residents are not told about
    /// (`new`, `triaged`, `closed`).
    public func text(_ update: StatusUpdate) -> String? {
        guard ResidentLoop.toldStatuses.contains(update.status) else { return nil }
        let language = update.language.flatMap(Language.init(rawValue:)) ?? .en
        return Phrases(language: language, pack: pack)
            .statusUpdate(update.status.rawValue, ticket: update.ticket, question: update.question, into: update.duplicateOf)
    }

    /// A ``StatusNotice`` worded by this pack.
    public func notice(quiet: Bool = false, question: String? = nil) -> StatusNotice {
        let wording = self
        return StatusNotice(quiet: quiet, question: question) { wording.text($0) }
    }
}

/// The conversation's side of the resident loop: staff's question answered,
/// "is it fixed?" answered, the service rated.
enum ResidentLoop {
    /// The statuses a resident is told about when staff move their ticket.
    static let toldStatuses: Set<TicketStatus> = [.inProgress, .pendingResident, .resolved, .duplicate, .rejected]

    /// The resident's ticket that waits on them, newest first: one staff asked
    /// about (`pending_resident`), or one resolved and not yet confirmed.
    static func waitingTicket(_ facts: TurnFacts) -> Ticket? {
        facts.residentTickets.map(\.ticket)
            .filter { $0.status == .pendingResident || ($0.status == .resolved && $0.residentConfirmation == nil) }
            .max { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
    }

    /// A rating of 1 to 5 at the start of `text` ("4", "5 stars", "4 - quick
    /// work", "五星", "3分"), with the rest as the comment; nil otherwise.
    static func rating(in text: String) -> (rating: Int, comment: String?)? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first else { return nil }
        let chinese: [Character: Int] = ["一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5]
        guard let value = first.wholeNumberValue ?? chinese[first], (1...5).contains(value) else { return nil }
        var rest = trimmed.dropFirst()
        if rest.first?.isNumber == true { return nil }   // "10", "42": not a rating
        for unit in ["/5", " stars", " star", "星", "分", " out of 5"] where rest.lowercased().hasPrefix(unit) {
            rest = rest.dropFirst(unit.count)
        }
        let comment = rest.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        return (value, comment.isEmpty ? nil : comment)
    }
}

extension ConversationEngine {
    /// A message with nothing pending, from a resident one of whose tickets
    /// waits on them: a yes or no to "is it fixed?" settles the resolved
    /// ticket (yes: closed, and the rating is asked); anything but a clear
    /// courtesy or another request answers staff's question on a ticket
    /// pending the resident. Nil when the message is something new.
    func waitingTicketReply(_ context: TurnContext, decision: TriageDecision, state: inout DialogueState) -> Plan? {
        guard let ticket = ResidentLoop.waitingTicket(context.facts) else { return nil }
        let say = context.say, number = ticket.number
        let intent = ConversationIntentID(rawValue: decision.intent)
        if ticket.status == .resolved {
            let yesNo = TextCues.yesNo(context.text) ?? (intent == .affirm ? .yes : intent == .deny ? .no : nil)
            switch yesNo {
            case .yes?:
                state.pending = .rating(ticket: number)
                return Plan(state: state, reply: say.statusUpdate("fixed", ticket: number), actions: [.confirmFixed(ticket: number)])
            case .no?:
                return Plan(state: state, reply: say.statusUpdate("not_fixed", ticket: number),
                            actions: [.reportNotFixed(ticket: number, text: context.text)])
            case nil:
                return nil
            }
        }
        let confident = !decision.needsClarification && decision.confidence >= Self.clearInterruption
        if confident, intent?.isCourtesy == true { return nil }
        if confident, decision.kind == .serviceRequest, decision.category != ticket.category { return nil }
        return Plan(state: state, reply: say.statusUpdate("reply_added", ticket: number),
                    actions: [.answerStaff(ticket: number, text: context.text)])
    }

    /// The answer to "how did we do, 1–5?": stored with its comment; nil
    /// (the question dropped) when the message is not a rating.
    func ratingReply(_ context: TurnContext, ticket: Int, state: inout DialogueState) -> Plan? {
        guard let (rating, comment) = ResidentLoop.rating(in: context.text) else { return nil }
        state.pending = nil
        return Plan(state: state, reply: context.say.statusUpdate("rated", ticket: ticket),
                    actions: [.rate(ticket: ticket, rating: rating, comment: comment)])
    }
}
