import Foundation

/// Thrown inside a turn's transaction when its delivery id was already
/// processed: the transaction rolls back and the store returns the stored outcome.
struct DuplicateDelivery: Error {
    var outcome: TurnOutcome
}

extension TicketStore {
    // MARK: Conversations

    /// The resident's conversation and dialogue state, or nil for someone new.
    public func conversation(channel: String, externalID: String) async throws -> ConversationSnapshot? {
        try await run(StoreOperation(.read) { session, _ in
            try session.conversation(channel: channel, externalID: externalID)
        })
    }

    /// What a conversation turn starts from, read in one transaction: the
    /// outcome stored for this delivery if it was processed before (a
    /// redelivery), else the resident's conversation (nil for someone new).
    public func turnStart(channel: String, externalID: String, deliveryID: String) async throws -> TurnStart {
        try await run(StoreOperation(.read) { session, _ in
            if let outcome = try session.storedOutcome(channel: channel, externalID: externalID, deliveryID: deliveryID) {
                return TurnStart(storedOutcome: outcome, conversation: nil)
            }
            return TurnStart(storedOutcome: nil,
                             conversation: try session.conversation(channel: channel, externalID: externalID))
        })
    }

    /// The outcome stored for a resident's inbound message already processed,
    /// or nil. Lets the dialogue skip work on a redelivery; `commitTurn` checks again.
    public func storedOutcome(channel: String, externalID: String, deliveryID: String) async throws -> TurnOutcome? {
        try await run(StoreOperation(.read) { session, _ in
            try session.storedOutcome(channel: channel, externalID: externalID, deliveryID: deliveryID)
        })
    }

    /// Commits one conversation turn in one transaction (see
    /// `ConversationTurn`). A redelivered message (same channel and delivery
    /// id) changes nothing and returns the first outcome with `committed == false`.
    public func commitTurn(_ turn: ConversationTurn) async throws -> TurnOutcome {
        do {
            return try await run(StoreOperation(.write) { session, context in
                let now = context.now
                if turn.deliveryID.isEmpty { throw StoreError.invalidInput("an inbound message needs its channel delivery id") }
                let key = ConversationTurn.idempotencyKey(externalID: turn.resident.externalID, deliveryID: turn.deliveryID)
                let residentID = try session.upsertResident(turn.resident, now: now)
                let conversation = try session.conversationRow(residentID: residentID, now: now)
                try session.claimDelivery(of: turn, key: key, conversationID: conversation.id, now: now)
                if conversation.version != turn.expectedVersion {
                    throw StoreError.conversationChanged(conversationID: conversation.id, expected: turn.expectedVersion,
                                                         found: conversation.version)
                }
                let messageID = try session.insertMessage(conversationID: conversation.id, direction: .inbound,
                                                          channel: turn.resident.channel, deliveryID: turn.deliveryID,
                                                          text: turn.inboundText, now: now)
                if !turn.attachments.isEmpty {
                    try session.insertAttachments(turn.attachments, conversationID: conversation.id, messageID: messageID,
                                                  ticket: turn.attachTo, residentID: residentID, now: now)
                }
                var numbers: [Int] = []
                for draft in turn.tickets {
                    var draft = draft
                    draft.resident = nil
                    let ticket = try session.insertTicket(draft: draft, actor: "concierge", now: now, targets: context.targets,
                                                          residentID: residentID, conversationID: conversation.id)
                    if numbers.isEmpty { try session.attachHeld(conversationID: conversation.id, to: ticket.id, now: now) }
                    numbers.append(ticket.number)
                }
                for action in turn.actions {
                    try session.apply(action, residentID: residentID, resident: turn.resident, now: now, targets: context.targets)
                }
                return try session.finishTurn(turn, key: key, conversation: conversation, ticketNumbers: numbers, now: now)
            })
        } catch let duplicate as DuplicateDelivery {
            return duplicate.outcome
        }
    }

    /// Hands the conversation to staff (`true`: the assistant stays quiet) or
    /// gives it back (`false`). Returns false when it already was so. Bumps the
    /// conversation version, so a turn computed before the change is retried.
    @discardableResult
    public func setHandoff(channel: String, externalID: String, handoff: Bool) async throws -> Bool {
        try await run(StoreOperation(.write) { session, context in
            guard let resident = try session.queryOne("SELECT id FROM residents WHERE channel = ? AND external_id = ?",
                                                      [.text(channel), .text(externalID)]),
                  let residentID = resident.int64("id") else {
                throw StoreError.residentNotFound("\(channel):\(externalID)")
            }
            let changed = try session.execute("""
                UPDATE conversations SET handoff = ?, state_version = state_version + 1, updated_at = ?
                WHERE resident_id = ? AND handoff <> ?
                """, [.bool(handoff), .date(context.now), .integer(residentID), .bool(handoff)])
            return changed > 0
        })
    }
}

/// A conversation row as a turn reads it (locked for the transaction).
struct ConversationRow {
    var id: Int64
    var version: Int
    var state: Data?
    var handoff: Bool
}

// MARK: - Steps several operations share

extension SQLSession {
    /// Creates the resident or updates their name, language and unit (a nil
    /// keeps what was stored); returns their id.
    func upsertResident(_ info: ResidentInfo, now: Date) throws -> Int64 {
        if info.channel.isEmpty || info.externalID.isEmpty {
            throw StoreError.invalidInput("a resident needs a channel and an id on that channel")
        }
        guard let row = try queryOne("""
            INSERT INTO residents (channel, external_id, display_name, language, unit, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel, external_id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, residents.display_name),
                language = COALESCE(excluded.language, residents.language),
                unit = COALESCE(excluded.unit, residents.unit),
                updated_at = excluded.updated_at
            RETURNING id
            """, [.text(info.channel), .text(info.externalID), .optional(info.displayName), .optional(info.language),
                  .optional(info.unit), .date(now), .date(now)]),
            let id = row.int64("id") else {
            throw StoreError.database("upserting a resident returned no id")
        }
        return id
    }

    /// The resident's conversation (created on first use), locked for this transaction.
    func conversationRow(residentID: Int64, now: Date) throws -> ConversationRow {
        try execute("""
            INSERT INTO conversations (resident_id, state_version, handoff, created_at, updated_at)
            VALUES (?, 0, FALSE, ?, ?) ON CONFLICT (resident_id) DO NOTHING
            """, [.integer(residentID), .date(now), .date(now)])
        guard let row = try queryOne(
            "SELECT id, state_version, state, handoff FROM conversations WHERE resident_id = ?{forUpdate}",
            [.integer(residentID)]), let id = row.int64("id") else {
            throw StoreError.database("the resident's conversation is missing")
        }
        return ConversationRow(id: id, version: row.int("state_version") ?? 0, state: row.data("state"), handoff: row.bool("handoff"))
    }

    /// Records a message in a conversation; returns its id.
    @discardableResult
    func insertMessage(conversationID: Int64, direction: MessageDirection, channel: String,
                       deliveryID: String?, text: String, now: Date) throws -> Int64 {
        guard let row = try queryOne("""
            INSERT INTO messages (conversation_id, direction, channel, delivery_id, text, created_at)
            VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, [.integer(conversationID), .text(direction.rawValue), .text(channel), .optional(deliveryID), .text(text), .date(now)]),
            let id = row.int64("id") else {
            throw StoreError.database("inserting a message returned no id")
        }
        return id
    }

    /// Queues an outbound message for the outbox worker, due now.
    func enqueue(messageID: Int64, conversationID: Int64, channel: String, recipient: String, now: Date) throws {
        try execute("""
            INSERT INTO outbox (message_id, conversation_id, channel, recipient, attempts, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, 0, ?, ?)
            """, [.integer(messageID), .integer(conversationID), .text(channel), .text(recipient), .date(now), .date(now)])
    }

    /// The resident's conversation and dialogue state, or nil for someone new.
    func conversation(channel: String, externalID: String) throws -> ConversationSnapshot? {
        guard let residentRow = try queryOne("SELECT * FROM residents WHERE channel = ? AND external_id = ?",
                                             [.text(channel), .text(externalID)]) else { return nil }
        let resident = try Resident(row: residentRow)
        guard let row = try queryOne("SELECT id, state_version, state, handoff FROM conversations WHERE resident_id = ?",
                                     [.integer(resident.id)]), let id = row.int64("id") else { return nil }
        return ConversationSnapshot(conversationID: id, resident: resident, state: row.data("state"),
                                    version: row.int("state_version") ?? 0, handoff: row.bool("handoff"))
    }

    /// The outcome stored for the resident's message `deliveryID`, or nil when
    /// it was not processed before. Throws `deliveryIDConflict` if the key
    /// belongs to another resident's conversation (it never returns their reply);
    /// a resident since forgotten gets the erased outcome (no reply).
    func storedOutcome(channel: String, externalID: String, deliveryID: String) throws -> TurnOutcome? {
        let key = ConversationTurn.idempotencyKey(externalID: externalID, deliveryID: deliveryID)
        guard let row = try queryOne("""
            SELECT k.conversation_id, k.reply, k.ticket_numbers, k.state_version, r.external_id, r.forgotten_at
            FROM idempotency_keys k JOIN conversations c ON c.id = k.conversation_id JOIN residents r ON r.id = c.resident_id
            WHERE k.channel = ? AND k.delivery_id = ?
            """, [.text(channel), .text(key)]) else { return nil }
        guard row.string("external_id") == externalID || row.date("forgotten_at") != nil else {
            throw StoreError.deliveryIDConflict(channel: channel)
        }
        let numbers = (row.string("ticket_numbers") ?? "").split(separator: ",").compactMap { Int($0) }
        return TurnOutcome(committed: false, reply: row.string("reply"), ticketNumbers: numbers,
                           conversationID: row.int64("conversation_id") ?? 0, version: row.int("state_version") ?? 0)
    }
}

// MARK: - The steps of a turn

extension SQLSession {
    /// Claims the turn's delivery id first: a concurrent redelivery waits on
    /// this row (PostgreSQL) or on the write lock (SQLite), then sees it
    /// taken. Throws `DuplicateDelivery` with the stored outcome when it was.
    fileprivate func claimDelivery(of turn: ConversationTurn, key: String, conversationID: Int64, now: Date) throws {
        let claimed = try execute("""
            INSERT INTO idempotency_keys (channel, delivery_id, conversation_id, reply, ticket_numbers, state_version, created_at)
            VALUES (?, ?, ?, NULL, '', 0, ?) ON CONFLICT (channel, delivery_id) DO NOTHING
            """, [.text(turn.resident.channel), .text(key), .integer(conversationID), .date(now)])
        if claimed == 0 {
            guard let outcome = try storedOutcome(channel: turn.resident.channel, externalID: turn.resident.externalID,
                                                  deliveryID: turn.deliveryID) else {
                throw StoreError.database("delivery \(turn.deliveryID) is claimed but has no stored outcome")
            }
            throw DuplicateDelivery(outcome: outcome)
        }
    }

    /// The end of a turn: its reply (with the new tickets' numbers filled in)
    /// recorded and queued, the conversation's new state and version, and the
    /// outcome stored under the delivery's idempotency key.
    fileprivate func finishTurn(_ turn: ConversationTurn, key: String, conversation: ConversationRow,
                                ticketNumbers numbers: [Int], now: Date) throws -> TurnOutcome {
        let reply = turn.reply.map { ConversationTurn.fillingTicketNumbers($0, numbers) }
        if let reply {
            let messageID = try insertMessage(conversationID: conversation.id, direction: .outbound,
                                              channel: turn.resident.channel, deliveryID: nil, text: reply, now: now)
            if turn.queueReply {
                try enqueue(messageID: messageID, conversationID: conversation.id, channel: turn.resident.channel,
                            recipient: turn.resident.externalID, now: now)
            }
        }
        let version = conversation.version + 1
        try execute("UPDATE conversations SET state = ?, state_version = ?, handoff = ?, updated_at = ? WHERE id = ?",
                    [.optional(turn.newState), .int(version), .bool(turn.handoff), .date(now), .integer(conversation.id)])
        let numberList = numbers.map(String.init).joined(separator: ",")
        try execute("""
            UPDATE idempotency_keys SET reply = ?, ticket_numbers = ?, state_version = ? WHERE channel = ? AND delivery_id = ?
            """, [.optional(reply), .text(numberList), .int(version), .text(turn.resident.channel), .text(key)])
        return TurnOutcome(committed: true, reply: reply, ticketNumbers: numbers, conversationID: conversation.id, version: version)
    }
}
