import Foundation

extension TicketStore {
    // MARK: Privacy and retention

    /// Looks a resident up by numeric id or `channel:external-id`.
    public func resident(_ reference: String) async throws -> Resident {
        try await run(StoreOperation(.read) { session, _ in try session.findResident(reference: reference) })
    }

    /// Erases a resident's personal data (see `ForgetReport`): their messages'
    /// text, the text, unit and access notes of their tickets (kept,
    /// anonymised, for statistics), notes and corrections on those tickets,
    /// stored replies, unsent replies, and their name, unit and channel id.
    public func forgetResident(_ reference: String, actor: ActorName) async throws -> ForgetReport {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            let resident = try session.findResident(reference: reference)
            let id = resident.id
            let conversations = "SELECT id FROM conversations WHERE resident_id = ?"
            let tickets = "SELECT id FROM tickets WHERE resident_id = ?"
            let messages = try session.execute("""
                UPDATE messages SET text = NULL, redacted_at = ? WHERE conversation_id IN (\(conversations)) AND text IS NOT NULL
                """, [.date(now), .integer(id)])
            let outbox = try session.execute("""
                UPDATE outbox SET cancelled_at = ? WHERE conversation_id IN (\(conversations)) AND sent_at IS NULL AND cancelled_at IS NULL
                """, [.date(now), .integer(id)])
            try session.execute("UPDATE idempotency_keys SET reply = NULL WHERE conversation_id IN (\(conversations))", [.integer(id)])
            try session.execute("UPDATE conversations SET state = NULL, updated_at = ? WHERE resident_id = ?", [.date(now), .integer(id)])
            let notes = try session.execute("UPDATE notes SET text = NULL WHERE ticket_id IN (\(tickets)) AND text IS NOT NULL",
                                            [.integer(id)])
            let corrections = try session.execute("UPDATE corrections SET text = NULL WHERE ticket_id IN (\(tickets)) AND text IS NOT NULL",
                                                  [.integer(id)])
            let attachments = try session.execute("""
                UPDATE attachments SET data = NULL, fetch_locator = NULL, fetch_next_at = NULL, erased_at = ?
                WHERE erased_at IS NULL AND (conversation_id IN (\(conversations)) OR ticket_id IN (\(tickets)))
                """, [.date(now), .integer(id), .integer(id)])
            let ticketIDs = try session.query("SELECT id FROM tickets WHERE resident_id = ?", [.integer(id)]).compactMap { $0.int64("id") }
            try session.execute("""
                UPDATE tickets SET description = NULL, location = NULL, access_notes = NULL, unit = NULL, triage = NULL, updated_at = ?
                WHERE resident_id = ?
                """, [.date(now), .integer(id)])
            for ticketID in ticketIDs {
                try session.appendEvent(ticketID: ticketID, actor: actor, kind: "redacted", from: nil, to: "resident forgotten", now: now)
            }
            try session.execute("""
                UPDATE residents SET display_name = NULL, unit = NULL, external_id = ?, forgotten_at = ?, updated_at = ? WHERE id = ?
                """, [.text("forgotten-\(id)"), .date(now), .date(now), .integer(id)])
            return ForgetReport(residentID: id, messagesRedacted: messages, ticketsAnonymised: ticketIDs.count,
                                notesRedacted: notes, correctionsRedacted: corrections, outboxCancelled: outbox,
                                attachmentsErased: attachments)
        })
    }

    /// The retention purge: erases the text of tickets that reached a final
    /// status more than `days` days ago, and message text older than that in
    /// conversations with no open ticket.
    public func purge(olderThanDays days: Int, actor: ActorName) async throws -> PurgeReport {
        guard days >= 0 else { throw StoreError.invalidInput("retention days must not be negative, got \(days)") }
        return try await run(StoreOperation(.write) { session, context in
            let now = context.now
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            let ticketIDs = try session.query("""
                SELECT id FROM tickets WHERE closed_at IS NOT NULL AND purged_at IS NULL AND closed_at < ?
                AND status IN ('closed', 'duplicate', 'rejected')
                """, [.date(cutoff)]).compactMap { $0.int64("id") }
            var attachments = 0
            for chunk in stride(from: 0, to: ticketIDs.count, by: 500).map({ Array(ticketIDs[$0..<min($0 + 500, ticketIDs.count)]) }) {
                let list = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                try session.execute("""
                    UPDATE tickets SET description = NULL, location = NULL, access_notes = NULL, triage = NULL, purged_at = ?
                    WHERE id IN (\(list))
                    """, [.date(now)] + chunk.map(SQLValue.integer))
                // Staff re-labels keep a copy of the resident's words for training: gone too.
                try session.execute("UPDATE corrections SET text = NULL WHERE text IS NOT NULL AND ticket_id IN (\(list))",
                                    chunk.map(SQLValue.integer))
                attachments += try session.execute(
                    "UPDATE attachments SET data = NULL, fetch_locator = NULL, fetch_next_at = NULL, erased_at = ? WHERE erased_at IS NULL AND ticket_id IN (\(list))",
                    [.date(now)] + chunk.map(SQLValue.integer))
                for ticketID in chunk {
                    try session.appendEvent(ticketID: ticketID, actor: actor, kind: "redacted", from: nil, to: "retention purge", now: now)
                }
            }
            let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            let messages = try session.execute("""
                UPDATE messages SET text = NULL, redacted_at = ?
                WHERE text IS NOT NULL AND created_at < ?
                AND conversation_id NOT IN (SELECT conversation_id FROM tickets WHERE conversation_id IS NOT NULL AND status IN (\(openList)))
                """, [.date(now), .date(cutoff)])
            // Photos that never found their request, older than the cutoff.
            attachments += try session.execute(
                "UPDATE attachments SET data = NULL, fetch_locator = NULL, fetch_next_at = NULL, erased_at = ? WHERE erased_at IS NULL AND ticket_id IS NULL AND created_at < ?",
                [.date(now), .date(cutoff)])
            return PurgeReport(ticketsPurged: ticketIDs.count, messagesPurged: messages, attachmentsErased: attachments)
        })
    }
}

extension SQLSession {
    /// Finds a resident by numeric id or `channel:external-id`; throws `StoreError.residentNotFound`.
    fileprivate func findResident(reference: String) throws -> Resident {
        var row: SQLRow?
        if let id = Int64(reference) {
            row = try queryOne("SELECT * FROM residents WHERE id = ?", [.integer(id)])
        } else if let colon = reference.firstIndex(of: ":") {
            row = try queryOne("SELECT * FROM residents WHERE channel = ? AND external_id = ?",
                               [.text(String(reference[..<colon])), .text(String(reference[reference.index(after: colon)...]))])
        }
        guard let row else { throw StoreError.residentNotFound(reference) }
        return try Resident(row: row)
    }
}
