import Foundation

extension TicketStore {
    // MARK: Outbox

    /// Replies due to be sent (unsent, not cancelled, next attempt ≤ `now`), oldest first;
    /// only those of `channel` (and to `recipient`) when given.
    public func dueOutbox(now: Date, limit: Int = 100, channel: String? = nil, recipient: String? = nil) async throws -> [OutboxItem] {
        try await run(StoreOperation(.read) { session, _ in
            var conditions = "o.sent_at IS NULL AND o.cancelled_at IS NULL AND o.next_attempt_at <= ?"
            var binds: [SQLValue] = [.date(now)]
            if let channel { conditions += " AND o.channel = ?"; binds.append(.text(channel)) }
            if let recipient { conditions += " AND o.recipient = ?"; binds.append(.text(recipient)) }
            return try session.query("""
                SELECT \(OutboxItem.columns)
                FROM outbox o JOIN messages m ON m.id = o.message_id
                WHERE \(conditions)
                ORDER BY o.next_attempt_at, o.id LIMIT ?
                """, binds + [.int(limit)]).map(OutboxItem.init(row:))
        })
    }

    /// Takes up to `limit` replies due at `now` (unsent, not cancelled, next
    /// attempt ≤ `now`) on `channels`, oldest first, and moves their next
    /// attempt to `now + lease`: until then no other worker — in this process
    /// or another server sharing the PostgreSQL database — takes them. Record
    /// each with `markOutboxSent`, `markOutboxFailed` or `abandonOutbox`; one
    /// whose worker died is taken again once the lease runs out. The items
    /// returned carry the lease's end as `nextAttemptAt`.
    ///
    /// On PostgreSQL the rows another transaction is claiming are skipped
    /// (`SKIP LOCKED`); SQLite's write transaction is exclusive.
    public func claimOutbox(now: Date, lease: TimeInterval, limit: Int, channels: [String]) async throws -> [OutboxItem] {
        guard lease > 0 else { throw StoreError.invalidInput("an outbox lease must be positive, got \(lease) s") }
        // Whole milliseconds, as the store keeps times, so `releaseOutbox` can match the lease exactly.
        let leasedUntil = Date(millisecondsSince1970: now.addingTimeInterval(lease).millisecondsSince1970)
        return try await run(StoreOperation(.write) { session, _ in
            guard !channels.isEmpty, limit > 0 else { return [] }
            let channelList = Array(repeating: "?", count: channels.count).joined(separator: ", ")
            let ids = try session.query("""
                SELECT id FROM outbox
                WHERE sent_at IS NULL AND cancelled_at IS NULL AND next_attempt_at <= ? AND channel IN (\(channelList))
                ORDER BY next_attempt_at, id LIMIT ?{skipLocked}
                """, [.date(now)] + channels.map(SQLValue.text) + [.int(limit)]).compactMap { $0.int64("id") }
            guard !ids.isEmpty else { return [] }
            let idList = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            try session.execute("UPDATE outbox SET next_attempt_at = ? WHERE id IN (\(idList))",
                                [.date(leasedUntil)] + ids.map(SQLValue.integer))
            let items = try session.query("""
                SELECT \(OutboxItem.columns) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id IN (\(idList))
                """, ids.map(SQLValue.integer)).map(OutboxItem.init(row:))
            let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
            return items.sorted { position[$0.id, default: 0] < position[$1.id, default: 0] }
        })
    }

    /// Gives claimed replies that were not attempted back (a worker stopping
    /// mid-batch): they are due at `dueAt` instead of when the lease ends.
    /// Items whose lease is no longer `leasedUntil` are left alone (an item
    /// whose lease ran out may meanwhile belong to another worker). Returns
    /// how many were released.
    @discardableResult
    public func releaseOutbox(ids: [Int64], leasedUntil: Date, dueAt: Date) async throws -> Int {
        try await run(StoreOperation(.write) { session, _ in
            guard !ids.isEmpty else { return 0 }
            let idList = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            return try session.execute("""
                UPDATE outbox SET next_attempt_at = ?
                WHERE id IN (\(idList)) AND next_attempt_at = ? AND sent_at IS NULL AND cancelled_at IS NULL
                """, [.date(dueAt)] + ids.map(SQLValue.integer) + [.date(leasedUntil)])
        })
    }

    /// Records that the channel accepted the reply (with its id for the message, if it gave one).
    public func markOutboxSent(id: Int64, deliveryID: String?) async throws {
        try await run(StoreOperation(.write) { session, context in
            guard let row = try session.queryOne("""
                UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ? AND sent_at IS NULL RETURNING message_id
                """, [.date(context.now), .integer(id)]), let messageID = row.int64("message_id") else { return }
            if let deliveryID {
                try session.execute("UPDATE messages SET delivery_id = ? WHERE id = ?", [.text(deliveryID), .integer(messageID)])
            }
        })
    }

    /// Records a failed attempt and when to try again. The error text is masked.
    public func markOutboxFailed(id: Int64, error: String, retryAt: Date) async throws {
        try await run(StoreOperation(.write) { session, _ in
            _ = try session.execute("""
                UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND sent_at IS NULL
                """, [.text(String(PrivacyMask.mask(error).prefix(500))), .date(retryAt), .integer(id)])
        })
    }

    /// Gives up on a reply the channel refused for good (unknown chat, blocked
    /// bot, invalid number): it is cancelled with its error (masked) and never
    /// retried or marked sent. Counts as an attempt.
    public func abandonOutbox(id: Int64, error: String) async throws {
        try await run(StoreOperation(.write) { session, context in
            _ = try session.execute("""
                UPDATE outbox SET cancelled_at = ?, last_error = ?, attempts = attempts + 1
                WHERE id = ? AND sent_at IS NULL AND cancelled_at IS NULL
                """, [.date(context.now), .text(String(PrivacyMask.mask(error).prefix(500))), .integer(id)])
        })
    }
}

extension OutboxItem {
    /// The columns `OutboxItem(row:)` reads, for `FROM outbox o JOIN messages m ON m.id = o.message_id`.
    fileprivate static let columns = """
        o.id, o.message_id, o.conversation_id, o.channel, o.recipient, o.attempts, o.next_attempt_at,
        o.last_error, o.sent_at, m.text
        """

    fileprivate init(row: SQLRow) throws {
        self.init(id: try row.required(row.int64("id"), "id"), messageID: try row.required(row.int64("message_id"), "message_id"),
                  conversationID: try row.required(row.int64("conversation_id"), "conversation_id"),
                  channel: row.string("channel") ?? "", recipient: row.string("recipient") ?? "",
                  text: row.string("text") ?? "", attempts: row.int("attempts") ?? 0,
                  nextAttemptAt: try row.required(row.date("next_attempt_at"), "next_attempt_at"),
                  lastError: row.string("last_error"), sentAt: row.date("sent_at"))
    }
}
