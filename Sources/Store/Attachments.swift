import Foundation

/// An image to store with a conversation turn: already checked, stripped of
/// its metadata and hashed (the `Media` target prepares it), or a platform's
/// file to fetch in the background (``fetch``), which a fetch worker checks
/// and stores later (``TicketStore/claimMediaFetches(now:lease:limit:channels:)``).
public struct AttachmentDraft: Sendable, Equatable {
    public var contentType: String
    /// Empty for a file still to fetch.
    public var data: Data
    /// SHA-256 of `data`, lower-case hex; empty for a file still to fetch.
    public var sha256: String
    /// Where the platform keeps the file, when its bytes are still to be fetched.
    public var fetch: MediaReference?

    public init(contentType: String, data: Data, sha256: String) {
        self.contentType = contentType
        self.data = data
        self.sha256 = sha256
    }

    /// A platform's file, recorded with the turn and fetched later.
    public init(fetching reference: MediaReference) {
        self.init(contentType: reference.declaredType ?? "application/octet-stream", data: Data(), sha256: "")
        fetch = reference
    }
}

/// A file a messaging platform keeps for Concierge to fetch with its own credentials.
public struct MediaReference: Sendable, Equatable {
    /// The channel whose API holds it: `telegram`, `sms` (Twilio) or `slack`.
    public var channel: String
    /// What that API needs to find it: a Telegram `file_id`, a Twilio
    /// `MediaUrlN`, a Slack `url_private`.
    public var locator: String
    /// The type the platform gave (never trusted: the bytes decide).
    public var declaredType: String?

    public init(channel: String, locator: String, declaredType: String? = nil) {
        self.channel = channel
        self.locator = locator
        self.declaredType = declaredType
    }
}

/// A stored attachment, without its bytes (``TicketStore/attachment(ticket:id:)`` reads those).
public struct Attachment: Sendable, Equatable, Codable {
    public var id: Int64
    /// The ticket it belongs to; nil while it waits for the request it goes with.
    public var ticketNumber: Int?
    public var contentType: String
    public var byteCount: Int
    public var sha256: String
    public var createdAt: Date
    /// The bytes were erased (resident forgotten, or retention).
    public var erased: Bool
    /// Where its bytes are: stored, still being fetched from the platform, or
    /// the fetch failed for good (with why).
    public var fetch: FetchState = .stored

    /// Where an attachment's bytes are.
    public enum FetchState: Sendable, Equatable, Codable {
        case stored
        /// Still to fetch from the platform (retried with backoff).
        case fetching
        /// The platform's file could not be kept; the reason is masked.
        case failed(reason: String)
    }
}

extension TicketStore {
    /// The attachment `id` of ticket `number`, with its bytes; throws
    /// `StoreError.attachmentNotFound` when the ticket has no such
    /// attachment or its bytes were erased.
    public func attachment(ticket number: Int, id: Int64) async throws -> (attachment: Attachment, data: Data) {
        try await run(StoreOperation(.read) { session, _ in
            guard let row = try session.queryOne("""
                SELECT a.*, t.number AS ticket_number FROM attachments a JOIN tickets t ON t.id = a.ticket_id
                WHERE t.number = ? AND a.id = ?
                """, [.int(number), .integer(id)]),
                let data = row.data("data") else {
                throw StoreError.attachmentNotFound(ticket: number, id: id)
            }
            return (try Attachment(row: row), data)
        })
    }
}

extension Attachment {
    /// A row of `attachments` joined with its ticket's `number AS ticket_number`.
    init(row: SQLRow) throws {
        self.init(id: try row.required(row.int64("id"), "id"), ticketNumber: row.int("ticket_number"),
                  contentType: row.string("content_type") ?? "application/octet-stream",
                  byteCount: row.int("byte_count") ?? 0, sha256: row.string("sha256") ?? "",
                  createdAt: try row.required(row.date("created_at"), "created_at"), erased: row.value("erased_at") != .null)
        if row.value("fetch_failed_at") != .null {
            fetch = .failed(reason: row.string("fetch_error") ?? "unknown")
        } else if row.value("fetch_next_at") != .null {
            fetch = .fetching
        }
    }

    /// The columns of ``init(row:)`` (no bytes), for `attachments a LEFT JOIN tickets t`.
    static let columns = """
        a.id, a.content_type, a.byte_count, a.sha256, a.created_at, a.erased_at, a.fetch_next_at, a.fetch_failed_at, \
        a.fetch_error, t.number AS ticket_number
        """
}

extension Attachment {
    /// How long a photo sent without a request waits for one: a request filed
    /// later than this does not take it.
    public static let heldWindow: TimeInterval = 24 * 3_600
}

extension SQLSession {
    /// Stores a turn's attachments: on ticket `number` (the resident's own)
    /// when given, else held for the conversation's next request.
    func insertAttachments(_ drafts: [AttachmentDraft], conversationID: Int64, messageID: Int64, ticket number: Int?,
                           residentID: Int64, now: Date) throws {
        var ticketID: Int64?
        if let number {
            let ticket = try lockTicket(number: number)
            guard ticket.residentID == residentID else { throw StoreError.ticketNotFound(number) }
            ticketID = ticket.id
            try appendEvent(ticketID: ticket.id, actor: "resident", kind: "attachment", from: nil,
                            to: "\(drafts.count) image(s)", now: now)
        }
        for draft in drafts {
            // A platform's file: no bytes yet, due for fetching now.
            let data: SQLValue = draft.fetch == nil ? .blob(draft.data) : .null
            try execute("""
                INSERT INTO attachments (conversation_id, ticket_id, message_id, content_type, byte_count, sha256, data, created_at,
                                         fetch_channel, fetch_locator, fetch_next_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.integer(conversationID), .optional(ticketID), .integer(messageID), .text(draft.contentType),
                      .int(draft.data.count), .text(draft.sha256), data, .date(now),
                      .optional(draft.fetch?.channel), .optional(draft.fetch?.locator), draft.fetch == nil ? .null : .date(now)])
        }
    }

    /// Gives the conversation's held attachments (recent ones) to `ticketID`,
    /// the first ticket a turn files.
    func attachHeld(conversationID: Int64, to ticketID: Int64, now: Date) throws {
        try execute("""
            UPDATE attachments SET ticket_id = ? WHERE conversation_id = ? AND ticket_id IS NULL AND created_at >= ?
            """, [.integer(ticketID), .integer(conversationID), .date(now.addingTimeInterval(-Attachment.heldWindow))])
    }

    /// The attachments of ticket `id`, oldest first (no bytes).
    func attachments(ticketID: Int64) throws -> [Attachment] {
        try query("""
            SELECT \(Attachment.columns) FROM attachments a JOIN tickets t ON t.id = a.ticket_id WHERE a.ticket_id = ? ORDER BY a.id
            """, [.integer(ticketID)]).map(Attachment.init(row:))
    }
}
