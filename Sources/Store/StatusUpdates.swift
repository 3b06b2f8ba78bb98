import Foundation

/// What the resident is told when staff move their ticket on: the status it
/// reached, in the resident's language.
public struct StatusUpdate: Sendable, Equatable {
    public var ticket: Int
    public var status: TicketStatus
    /// The resident's language (`en`, `zh`), nil when unknown.
    public var language: String?
    /// Staff's question, when the ticket now waits for the resident.
    public var question: String?
    /// The ticket it was merged into (status `duplicate`).
    public var duplicateOf: Int?

    public init(ticket: Int, status: TicketStatus, language: String?, question: String? = nil, duplicateOf: Int? = nil) {
        self.ticket = ticket
        self.status = status
        self.language = language
        self.question = question
        self.duplicateOf = duplicateOf
    }
}

/// How a staff status change reaches the resident who reported the ticket.
///
/// The store words nothing itself: `wording` (the data pack's, see
/// `StatusUpdateWording` in Dialogue) turns a ``StatusUpdate`` into the text,
/// nil for a status residents are not told about. The message is queued in
/// the transaction that changes the status (message row and outbox), so it
/// is sent once, by whichever server's outbox worker claims it, and survives
/// a restart.
public struct StatusNotice: Sendable {
    /// Staff chose not to tell the resident (the change is still audited).
    public var quiet: Bool
    /// Staff's question to the resident (status `pending_resident`): sent with
    /// the update and kept on the ticket as a public note.
    public var question: String?
    public var wording: @Sendable (StatusUpdate) -> String?

    public init(quiet: Bool = false, question: String? = nil, wording: @escaping @Sendable (StatusUpdate) -> String?) {
        self.quiet = quiet
        self.question = question?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        self.wording = wording
    }
}

extension TicketStore {
    /// Closes every ticket resolved before `cutoff` whose resident never
    /// answered "is it fixed?" (confirmation `auto_closed`, an audited status
    /// change by `actor`). Returns the numbers closed, oldest first.
    @discardableResult
    public func closeUnconfirmedResolutions(resolvedBefore cutoff: Date, actor: ActorName) async throws -> [Int] {
        try await run(StoreOperation(.write) { session, context in
            let candidates = try session.query("""
                SELECT number FROM tickets WHERE status = 'resolved' AND resolved_at IS NOT NULL AND resolved_at < ?
                ORDER BY resolved_at, id
                """, [.date(cutoff)]).compactMap { $0.int("number") }
            var closed: [Int] = []
            for number in candidates {
                // Another server's pass, or the resident, may have settled it since the read.
                guard try session.lockTicket(number: number).status == .resolved else { continue }
                let ticket = try session.changeStatus(number: number, to: .closed, actor: actor, now: context.now)
                try session.execute("UPDATE tickets SET resident_confirmation = ? WHERE id = ?",
                                    [.text(ResolutionConfirmation.autoClosed.rawValue), .integer(ticket.id)])
                closed.append(number)
            }
            return closed
        })
    }
}

extension SQLSession {
    /// Tells the resident of `ticket` about its new status (see ``StatusNotice``):
    /// staff's question becomes a public note, and the update is queued for
    /// the resident, with an audit event saying it was (`resident_told`).
    func tell(about ticket: Ticket, _ notice: StatusNotice, actor: String, now: Date) throws {
        if let question = notice.question {
            try execute("INSERT INTO notes (ticket_id, author, visibility, text, created_at) VALUES (?, ?, 'public', ?, ?)",
                        [.integer(ticket.id), .text(actor), .text(question), .date(now)])
        }
        guard !notice.quiet else {
            try appendEvent(ticketID: ticket.id, actor: actor, kind: "resident_not_told", from: nil,
                            to: ticket.status.rawValue, now: now)
            return
        }
        let queued = try queueForResident(of: ticket, now: now) { language in
            notice.wording(StatusUpdate(ticket: ticket.number, status: ticket.status, language: language,
                                        question: notice.question, duplicateOf: ticket.duplicateOf))
        }
        if queued {
            try appendEvent(ticketID: ticket.id, actor: actor, kind: "resident_told", from: nil, to: ticket.status.rawValue, now: now)
        }
    }
}

extension String {
    /// Nil for an empty string.
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
