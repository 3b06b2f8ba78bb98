import Foundation

/// A platform's file claimed for fetching (see ``TicketStore/claimMediaFetches(now:lease:limit:channels:)``).
public struct MediaFetch: Sendable, Equatable {
    /// The attachment whose bytes these are.
    public var attachmentID: Int64
    public var reference: MediaReference
    /// Failed attempts so far.
    public var attempts: Int
    /// The claim's lease ends then: pass it back to ``TicketStore/releaseMediaFetches(ids:leasedUntil:dueAt:)``.
    public var leasedUntil: Date
}

extension TicketStore {
    /// Takes up to `limit` platform files due for fetching at `now` on
    /// `channels`, oldest first, and leases them until `now + lease`: until
    /// then no other worker — in this process or another server sharing the
    /// PostgreSQL database — takes them. Record each with
    /// ``storeMediaFetch(id:image:)``, ``retryMediaFetch(id:error:retryAt:)``
    /// or ``failMediaFetch(id:error:tell:)``; one whose worker died is taken
    /// again once the lease runs out. Erased attachments are never taken.
    public func claimMediaFetches(now: Date, lease: TimeInterval, limit: Int, channels: [String]) async throws -> [MediaFetch] {
        guard lease > 0 else { throw StoreError.invalidInput("a media fetch lease must be positive, got \(lease) s") }
        let leasedUntil = Date(millisecondsSince1970: now.addingTimeInterval(lease).millisecondsSince1970)
        return try await run(StoreOperation(.write) { session, _ in
            guard !channels.isEmpty, limit > 0 else { return [] }
            let channelList = Array(repeating: "?", count: channels.count).joined(separator: ", ")
            let rows = try session.query("""
                SELECT id, fetch_channel, fetch_locator, content_type, fetch_attempts FROM attachments
                WHERE fetch_next_at IS NOT NULL AND fetch_next_at <= ? AND erased_at IS NULL AND fetch_channel IN (\(channelList))
                ORDER BY fetch_next_at, id LIMIT ?{skipLocked}
                """, [.date(now)] + channels.map(SQLValue.text) + [.int(limit)])
            let fetches = try rows.map { row in
                MediaFetch(attachmentID: try row.required(row.int64("id"), "id"),
                           reference: MediaReference(channel: row.string("fetch_channel") ?? "", locator: row.string("fetch_locator") ?? "",
                                                     declaredType: row.string("content_type")),
                           attempts: row.int("fetch_attempts") ?? 0, leasedUntil: leasedUntil)
            }
            guard !fetches.isEmpty else { return [] }
            let idList = Array(repeating: "?", count: fetches.count).joined(separator: ", ")
            try session.execute("UPDATE attachments SET fetch_next_at = ? WHERE id IN (\(idList))",
                                [.date(leasedUntil)] + fetches.map { .integer($0.attachmentID) })
            return fetches
        })
    }

    /// Stores the fetched, checked bytes of attachment `id` (a draft made by
    /// `Media`): it is an ordinary attachment from now on. Nothing happens
    /// when it is no longer being fetched (erased meanwhile, or stored by a
    /// worker whose lease this one outlived). Returns whether it was stored.
    @discardableResult
    public func storeMediaFetch(id: Int64, image: AttachmentDraft) async throws -> Bool {
        try await run(StoreOperation(.write) { session, _ in
            try session.execute("""
                UPDATE attachments SET content_type = ?, byte_count = ?, sha256 = ?, data = ?, fetch_next_at = NULL, fetch_error = NULL,
                    fetch_attempts = fetch_attempts + 1
                WHERE id = ? AND fetch_next_at IS NOT NULL AND erased_at IS NULL
                """, [.text(image.contentType), .int(image.data.count), .text(image.sha256), .blob(image.data), .integer(id)]) > 0
        })
    }

    /// Records a failed attempt at attachment `id` and when to try again. The error is masked.
    public func retryMediaFetch(id: Int64, error: String, retryAt: Date) async throws {
        try await run(StoreOperation(.write) { session, _ in
            _ = try session.execute("""
                UPDATE attachments SET fetch_attempts = fetch_attempts + 1, fetch_error = ?, fetch_next_at = ?
                WHERE id = ? AND fetch_next_at IS NOT NULL AND erased_at IS NULL
                """, [.text(String(PrivacyMask.mask(error).prefix(500))), .date(retryAt), .integer(id)])
        })
    }

    /// Gives up on attachment `id` (the platform refused it, it is not a photo
    /// Concierge keeps, or it kept failing): the failure and its masked error
    /// stay on the attachment for staff, and `tell` (given the resident's
    /// language and the ticket the photo was for, if any) is queued to the
    /// resident on their channel in the same transaction; nil tells nothing.
    /// Returns whether the attachment was still being fetched.
    @discardableResult
    public func failMediaFetch(id: Int64, error: String,
                               tell: @escaping @Sendable (_ language: String?, _ ticket: Int?) -> String?) async throws -> Bool {
        try await run(StoreOperation(.write) { session, context in
            guard let row = try session.queryOne("""
                UPDATE attachments SET fetch_attempts = fetch_attempts + 1, fetch_error = ?, fetch_next_at = NULL, fetch_failed_at = ?,
                    fetch_locator = NULL
                WHERE id = ? AND fetch_next_at IS NOT NULL AND erased_at IS NULL
                RETURNING conversation_id, ticket_id
                """, [.text(String(PrivacyMask.mask(error).prefix(500))), .date(context.now), .integer(id)]) else { return false }
            let ticket = try row.int64("ticket_id").flatMap {
                try session.queryOne("SELECT number FROM tickets WHERE id = ?", [.integer($0)])?.int("number")
            }
            if let conversationID = row.int64("conversation_id") {
                _ = try session.queueForResident(conversationID: conversationID, now: context.now) { tell($0, ticket) }
            }
            return true
        })
    }

    /// Gives claimed fetches that were not attempted back (a worker stopping
    /// mid-batch): due at `dueAt` instead of when the lease ends. Those whose
    /// lease is no longer `leasedUntil` are left alone. Returns how many.
    @discardableResult
    public func releaseMediaFetches(ids: [Int64], leasedUntil: Date, dueAt: Date) async throws -> Int {
        try await run(StoreOperation(.write) { session, _ in
            guard !ids.isEmpty else { return 0 }
            let idList = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            return try session.execute("""
                UPDATE attachments SET fetch_next_at = ? WHERE id IN (\(idList)) AND fetch_next_at = ? AND erased_at IS NULL
                """, [.date(dueAt)] + ids.map(SQLValue.integer) + [.date(leasedUntil)])
        })
    }
}
