import Foundation

/// What a conversation turn does to a ticket that already exists.
public enum TicketAction: Sendable, Equatable {
    /// The resident reports a problem an open ticket already covers: their
    /// words are added to it as an internal note (event `linked_report`).
    case linkReport(ticket: Int, text: String)
    /// The resident adds details to one of their own tickets (an internal note
    /// by `resident`, event `resident_details`).
    case addDetails(ticket: Int, text: String)
    /// The resident withdraws one of their own open tickets (status `rejected`,
    /// with a note saying the resident cancelled it).
    case cancel(ticket: Int)
    /// The resident answers yes to the safety question about their possible
    /// emergency: P1, marked `residentConfirmed` (event `emergency`).
    case confirmEmergency(ticket: Int)
    /// The resident answers no to the safety question: the ticket takes
    /// `priority` (the best below P1) and loses its unconfirmed flag (event `emergency`).
    case settleEmergency(ticket: Int, priority: Priority)
    /// The resident finishes describing a request already filed (a possible
    /// emergency is filed before its questions): where, and how to get in.
    case completeRequest(ticket: Int, unit: String?, location: String?, accessNotes: String?)
    /// The resident answers staff's question on a ticket waiting for them:
    /// their words become a note and the ticket goes back to `triaged`.
    case answerStaff(ticket: Int, text: String)
    /// "Is it fixed?" — yes: the resolved ticket is closed (`fixed`).
    case confirmFixed(ticket: Int)
    /// "Is it fixed?" — no: the ticket is reopened (in progress, `not_fixed`)
    /// with the resident's words as a note, and its response clock restarts.
    case reportNotFixed(ticket: Int, text: String)
    /// The resident rates how the ticket was handled, 1–5, with an optional comment.
    case rate(ticket: Int, rating: Int, comment: String?)
}

/// One of a resident's tickets as their status lookup shows it.
public struct ResidentTicket: Sendable, Equatable {
    public var ticket: Ticket
    /// The newest public note (staff's reply to the resident), if any.
    public var lastPublicNote: Note?
}

extension TicketStore {
    /// The resident's tickets, open ones first, newest first within each group,
    /// each with its newest public note. Only that resident's tickets.
    public func residentTickets(channel: String, externalID: String, limit: Int = 20) async throws -> [ResidentTicket] {
        try await run(StoreOperation(.read) { session, _ in
            let tickets = try session.query("""
                SELECT \(Ticket.columns) FROM tickets t JOIN residents r ON r.id = t.resident_id
                WHERE r.channel = ? AND r.external_id = ?
                ORDER BY CASE WHEN t.status IN ('new', 'triaged', 'in_progress', 'pending_resident') THEN 0 ELSE 1 END,
                    t.created_at DESC, t.id DESC
                LIMIT ?
                """, [.text(channel), .text(externalID), .int(limit)]).map(Ticket.init(row:))
            return try tickets.map { ticket in
                let note = try session.queryOne("""
                    SELECT * FROM notes WHERE ticket_id = ? AND visibility = 'public' AND text IS NOT NULL ORDER BY id DESC LIMIT 1
                    """, [.integer(ticket.id)]).map { row in
                    Note(id: try row.required(row.int64("id"), "id"), ticketNumber: ticket.number, author: row.string("author") ?? "",
                         visibility: .public, text: row.string("text"),
                         createdAt: try row.required(row.date("created_at"), "created_at"))
                }
                return ResidentTicket(ticket: ticket, lastPublicNote: note)
            }
        })
    }

    /// Open tickets created since `since` in each of `categories`, newest
    /// first, at most `limit` per category: the candidates a new report may
    /// duplicate. One query for every category (a category with none is absent).
    public func openTickets(categories: Set<String>, since: Date, limit: Int = 20) async throws -> [String: [Ticket]] {
        let names = categories.sorted()
        guard !names.isEmpty, limit > 0 else { return [:] }
        let marks = Array(repeating: "?", count: names.count).joined(separator: ", ")
        return try await run(StoreOperation(.read) { session, _ in
            let tickets = try session.query("""
                SELECT \(Ticket.columns) FROM (
                    SELECT tickets.*, ROW_NUMBER() OVER (PARTITION BY category ORDER BY created_at DESC, id DESC) AS recency
                    FROM tickets
                    WHERE category IN (\(marks)) AND created_at >= ?
                      AND status IN ('new', 'triaged', 'in_progress', 'pending_resident')
                ) t
                WHERE t.recency <= ?
                ORDER BY t.created_at DESC, t.id DESC
                """, names.map(SQLValue.text) + [.date(since), .int(limit)]).map(Ticket.init(row:))
            return Dictionary(grouping: tickets, by: \.category)
        })
    }
}

/// The actor name recorded for what residents do themselves.
private let residentActor = "resident"

// MARK: - A turn's ticket actions

extension SQLSession {
    /// Does what a conversation turn's `action` says to an existing ticket
    /// (see `TicketAction`), inside the turn's transaction.
    func apply(_ action: TicketAction, residentID: Int64, resident: ResidentInfo, now: Date, targets: ResponseTargets) throws {
        switch action {
        case let .linkReport(number, text):
            let ticket = try lockTicket(number: number)
            guard ticket.status.isOpen else {
                throw StoreError.invalidInput("ticket #\(number) is \(ticket.status.rawValue); a report can only be added to an open ticket")
            }
            let who = resident.unit.map { "a resident of \($0)" } ?? "another resident"
            try insertNote(ticket: ticket, author: "concierge", visibility: .internal,
                           text: "Also reported by \(who) (resident \(residentID)): \(text)", now: now)
            try appendEvent(ticketID: ticket.id, actor: "concierge", kind: "linked_report", from: nil,
                            to: "resident \(residentID)", now: now)
        case let .addDetails(number, text):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try insertNote(ticket: ticket, author: residentActor, visibility: .internal, text: text, now: now)
            try appendEvent(ticketID: ticket.id, actor: residentActor, kind: "resident_details", from: nil,
                            to: nil, now: now)
        case let .cancel(number):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            guard ticket.status.isOpen else {
                throw StoreError.illegalTransition(ticket: number, from: ticket.status, to: .rejected)
            }
            try execute("UPDATE tickets SET status = 'rejected', closed_at = ?, updated_at = ? WHERE id = ?",
                        [.date(now), .date(now), .integer(ticket.id)])
            try appendEvent(ticketID: ticket.id, actor: residentActor, kind: "status",
                            from: ticket.status.rawValue, to: TicketStatus.rejected.rawValue, now: now)
            try insertNote(ticket: ticket, author: residentActor, visibility: .internal,
                           text: "Cancelled by the resident.", now: now)
        case let .confirmEmergency(number):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try setEmergency(ticket: ticket, priority: .p1, emergency: .residentConfirmed, now: now, targets: targets)
        case let .settleEmergency(number, priority):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try setEmergency(ticket: ticket, priority: priority, emergency: nil, now: now, targets: targets)
        case let .completeRequest(number, unit, location, accessNotes):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try execute("""
                UPDATE tickets SET unit = COALESCE(?, unit), location = COALESCE(?, location),
                    access_notes = COALESCE(?, access_notes), updated_at = ? WHERE id = ?
                """, [.optional(unit), .optional(location), .optional(accessNotes), .date(now), .integer(ticket.id)])
            try appendEvent(ticketID: ticket.id, actor: residentActor, kind: "resident_details", from: nil,
                            to: nil, now: now)
        case let .answerStaff(number, text):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try insertNote(ticket: ticket, author: residentActor, visibility: .internal, text: text, now: now)
            if ticket.status == .pendingResident {
                _ = try changeStatus(number: number, to: .triaged, actor: residentActor, now: now)
            }
        case let .confirmFixed(number), let .reportNotFixed(number, _):
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            guard ticket.status == .resolved else {
                throw StoreError.illegalTransition(ticket: number, from: ticket.status, to: .closed)
            }
            try settleResolution(ticket, action: action, now: now, targets: targets)
        case let .rate(number, rating, comment):
            guard (1...5).contains(rating) else { throw StoreError.invalidInput("a rating is 1 to 5, got \(rating)") }
            let ticket = try lockOwnTicket(number: number, residentID: residentID)
            try execute("UPDATE tickets SET rating = ?, rating_comment = ?, updated_at = ? WHERE id = ?",
                        [.int(rating), .optional(comment), .date(now), .integer(ticket.id)])
            try appendEvent(ticketID: ticket.id, actor: residentActor, kind: "rating", from: ticket.rating.map(String.init),
                            to: String(rating), now: now)
        }
    }

    /// The resident's answer to "is it fixed?" on a resolved ticket: closed,
    /// or reopened with their words and a new response target from now.
    private func settleResolution(_ ticket: Ticket, action: TicketAction, now: Date, targets: ResponseTargets) throws {
        if case let .reportNotFixed(_, text) = action {
            _ = try changeStatus(number: ticket.number, to: .inProgress, actor: residentActor, now: now)
            try insertNote(ticket: ticket, author: residentActor, visibility: .internal, text: "Not fixed: \(text)", now: now)
            try execute("""
                UPDATE tickets SET resident_confirmation = ?, sla_due_at = ?, first_response_at = NULL WHERE id = ?
                """, [.text(ResolutionConfirmation.notFixed.rawValue),
                      .optional(targets.dueDate(for: ticket.priority, createdAt: now)), .integer(ticket.id)])
        } else {
            _ = try changeStatus(number: ticket.number, to: .closed, actor: residentActor, now: now)
            try execute("UPDATE tickets SET resident_confirmation = ? WHERE id = ?",
                        [.text(ResolutionConfirmation.fixed.rawValue), .integer(ticket.id)])
        }
    }

    /// Locks ticket `number` and checks it is the resident's own.
    private func lockOwnTicket(number: Int, residentID: Int64) throws -> Ticket {
        let ticket = try lockTicket(number: number)
        // Someone else's ticket is reported exactly like a missing one, so a
        // resident cannot probe which numbers exist.
        guard ticket.residentID == residentID else { throw StoreError.ticketNotFound(number) }
        return ticket
    }

    /// The resident's answer to the safety question: the priority (with its
    /// response target) and the emergency flag, with an `emergency` event.
    /// Not a staff correction: nothing is recorded for training.
    private func setEmergency(ticket: Ticket, priority: Priority, emergency: TicketEmergency?, now: Date,
                              targets: ResponseTargets) throws {
        let due = targets.dueDate(for: priority, createdAt: ticket.createdAt)
        try execute("UPDATE tickets SET priority = ?, sla_due_at = ?, emergency = ?, updated_at = ? WHERE id = ?",
                    [.int(priority.level), .optional(due), .optional(emergency?.rawValue), .date(now), .integer(ticket.id)])
        try appendEvent(ticketID: ticket.id, actor: residentActor, kind: "emergency",
                        from: "\(ticket.priority.rawValue) \(ticket.emergency?.rawValue ?? "-")",
                        to: "\(priority.rawValue) \(emergency?.rawValue ?? "no danger, said the resident")", now: now)
    }

    /// A note a turn's action writes on the ticket (touching its `updated_at`).
    private func insertNote(ticket: Ticket, author: String, visibility: NoteVisibility, text: String, now: Date) throws {
        try execute("""
            INSERT INTO notes (ticket_id, author, visibility, text, created_at) VALUES (?, ?, ?, ?, ?)
            """, [.integer(ticket.id), .text(author), .text(visibility.rawValue), .text(text), .date(now)])
        try execute("UPDATE tickets SET updated_at = ? WHERE id = ?", [.date(now), .integer(ticket.id)])
    }
}
