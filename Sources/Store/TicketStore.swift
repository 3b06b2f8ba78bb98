import Foundation
import Logging

/// Settings every store takes when it opens.
public struct StoreConfiguration: Sendable {
    /// SLA due times per priority (from `community.yaml`).
    public var responseTargets: ResponseTargets
    /// The current time; tests pass a fixed or stepping clock.
    public var now: @Sendable () -> Date
    /// Where the store logs (migrations, retries). Wrap the handler in
    /// `MaskingLogHandler` so contact details never reach the log.
    public var logger: Logger

    public init(responseTargets: ResponseTargets = .standard, now: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "concierge.store")) {
        self.responseTargets = responseTargets
        self.now = now
        self.logger = logger
    }
}

/// What a store operation sees besides its session.
struct StoreContext: Sendable {
    var configuration: StoreConfiguration
    var location: String
    var now: Date { configuration.now() }
    var targets: ResponseTargets { configuration.responseTargets }
}

/// Whether an operation only reads (a read-only transaction) or writes.
enum StoreAccess: Sendable { case read, write }

/// One unit of work on the store: a body that runs inside one transaction of
/// either engine. Built only by this module (the `TicketStore` methods);
/// backends run it with `TicketStore.run(_:)`.
public struct StoreOperation<Result: Sendable>: Sendable {
    let access: StoreAccess
    let body: @Sendable (any SQLSession, StoreContext) throws -> Result

    init(_ access: StoreAccess, _ body: @escaping @Sendable (any SQLSession, StoreContext) throws -> Result) {
        self.access = access
        self.body = body
    }
}

/// Where Concierge keeps tickets, conversations and everything staff do with
/// them. Two implementations pass the same test suite: `SQLiteTicketStore`
/// (one file, the default) and `PostgresTicketStore` (several Concierge
/// servers sharing one database). Open either with `StoreLocation.open`.
///
/// Every method is one transaction: a status change and its audit event, a
/// conversation turn and its tickets, reply and idempotency key, commit
/// together or not at all. Errors are `StoreError`.
public protocol TicketStore: AnyObject, Sendable {
    /// The file path or the server and database (password masked), for messages.
    var location: String { get }
    /// Runs one operation in one transaction (reads in a read-only one).
    func run<T: Sendable>(_ operation: StoreOperation<T>) async throws -> T
    /// The engine's own consistency check (SQLite `PRAGMA integrity_check`)
    /// plus the store's: ticket numbers 1…N without gaps or repeats, every
    /// ticket with an audit event.
    func check() async throws -> IntegrityReport
    /// The engine's query plan for the queue listing (`EXPLAIN`).
    func explainQueue(_ filter: QueueFilter) async throws -> String
    /// Closes connections. The store cannot be used afterwards.
    func close() async
}

extension TicketStore {
    // MARK: Tickets

    /// Files a ticket (status `new`, the next number, SLA due time from the
    /// response targets) and logs a `created` event. With `draft.resident`,
    /// the resident is created or updated and the description is recorded as
    /// their message in their conversation.
    @discardableResult
    public func createTicket(_ draft: TicketDraft, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.createStandaloneTicket(session, draft: draft, actor: actor, now: context.now, targets: context.targets)
        })
    }

    /// The ticket numbered `number`; throws `StoreError.ticketNotFound`.
    public func ticket(number: Int) async throws -> Ticket {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.fetchTicket(session, number: number) })
    }

    /// The ticket with its resident, conversation transcript, audit log and notes.
    public func ticketDetail(number: Int) async throws -> TicketDetail {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.ticketDetail(session, number: number) })
    }

    /// Tickets for the staff queue: the most urgent first (priority, then
    /// oldest), open ones unless `filter.statuses` says otherwise.
    public func queue(_ filter: QueueFilter = QueueFilter()) async throws -> [Ticket] {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.queue(session, filter: filter) })
    }

    /// Assigns the ticket to `assignee` (nil or empty: unassigns).
    @discardableResult
    public func assign(number: Int, to assignee: String?, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.assign(session, number: number, to: assignee, actor: actor, now: context.now)
        })
    }

    /// Moves the ticket to `status`; throws `StoreError.illegalTransition`
    /// when `TicketStatus.allowedNext` does not allow it. Setting the status
    /// it already has changes nothing.
    @discardableResult
    public func changeStatus(number: Int, to status: TicketStatus, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.changeStatus(session, number: number, to: status, actor: actor, now: context.now)
        })
    }

    /// Re-prioritises the ticket (recomputing its SLA) and records a correction.
    @discardableResult
    public func changePriority(number: Int, to priority: Priority, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.changePriority(session, number: number, to: priority, actor: actor, now: context.now,
                                           targets: context.targets)
        })
    }

    /// Re-categorises the ticket and records a correction. The caller checks
    /// that `category` is one of the data pack's.
    @discardableResult
    public func changeCategory(number: Int, to category: String, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.changeCategory(session, number: number, to: category, actor: actor, now: context.now)
        })
    }

    /// Adds a note. A public note is also queued for the resident when the
    /// ticket came from a conversation, and counts as the first response.
    @discardableResult
    public func addNote(number: Int, text: String, visibility: NoteVisibility, actor: ActorName) async throws -> Note {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.addNote(session, number: number, text: text, visibility: visibility, actor: actor, now: context.now)
        })
    }

    /// Marks ticket `number` a duplicate of `target` (status `duplicate`,
    /// `duplicateOf`), with an event on both tickets.
    @discardableResult
    public func merge(number: Int, into target: Int, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.merge(session, number: number, into: target, actor: actor, now: context.now)
        })
    }

    // MARK: Conversations

    /// The resident's conversation and dialogue state, or nil for someone new.
    public func conversation(channel: String, externalID: String) async throws -> ConversationSnapshot? {
        try await run(StoreOperation(.read) { session, _ in
            try StoreEngine.conversation(session, channel: channel, externalID: externalID)
        })
    }

    /// What a conversation turn starts from, read in one transaction: the
    /// outcome stored for this delivery if it was processed before (a
    /// redelivery), else the resident's conversation (nil for someone new).
    public func turnStart(channel: String, externalID: String, deliveryID: String) async throws -> TurnStart {
        try await run(StoreOperation(.read) { session, _ in
            if let outcome = try StoreEngine.storedOutcome(session, channel: channel, externalID: externalID, deliveryID: deliveryID) {
                return TurnStart(storedOutcome: outcome, conversation: nil)
            }
            return TurnStart(storedOutcome: nil,
                             conversation: try StoreEngine.conversation(session, channel: channel, externalID: externalID))
        })
    }

    /// The outcome stored for a resident's inbound message already processed,
    /// or nil. Lets the dialogue skip work on a redelivery; `commitTurn` checks again.
    public func storedOutcome(channel: String, externalID: String, deliveryID: String) async throws -> TurnOutcome? {
        try await run(StoreOperation(.read) { session, _ in
            try StoreEngine.storedOutcome(session, channel: channel, externalID: externalID, deliveryID: deliveryID)
        })
    }

    /// Commits one conversation turn in one transaction (see
    /// `ConversationTurn`). A redelivered message (same channel and delivery
    /// id) changes nothing and returns the first outcome with `committed == false`.
    public func commitTurn(_ turn: ConversationTurn) async throws -> TurnOutcome {
        do {
            return try await run(StoreOperation(.write) { session, context in
                try StoreEngine.commitTurn(session, turn: turn, now: context.now, targets: context.targets)
            })
        } catch let duplicate as DuplicateDelivery {
            return duplicate.outcome
        }
    }

    // MARK: Outbox

    /// Replies due to be sent (unsent, not cancelled, next attempt ≤ `now`), oldest first;
    /// only those of `channel` (and to `recipient`) when given.
    public func dueOutbox(now: Date, limit: Int = 100, channel: String? = nil, recipient: String? = nil) async throws -> [OutboxItem] {
        try await run(StoreOperation(.read) { session, _ in
            try StoreEngine.dueOutbox(session, now: now, limit: limit, channel: channel, recipient: recipient)
        })
    }

    /// Records that the channel accepted the reply (with its id for the message, if it gave one).
    public func markOutboxSent(id: Int64, deliveryID: String?) async throws {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.markOutboxSent(session, id: id, deliveryID: deliveryID, now: context.now)
        })
    }

    /// Records a failed attempt and when to try again. The error text is masked.
    public func markOutboxFailed(id: Int64, error: String, retryAt: Date) async throws {
        try await run(StoreOperation(.write) { session, _ in
            try StoreEngine.markOutboxFailed(session, id: id, error: error, retryAt: retryAt)
        })
    }

    /// Takes up to `limit` replies due at `now` (unsent, not cancelled, next
    /// attempt ≤ `now`) on `channels`, oldest first, and moves their next
    /// attempt to `now + lease`: until then no other worker — in this process
    /// or another server sharing the PostgreSQL database — takes them. Record
    /// each with `markOutboxSent`, `markOutboxFailed` or `abandonOutbox`; one
    /// whose worker died is taken again once the lease runs out. The items
    /// returned carry the lease's end as `nextAttemptAt`.
    public func claimOutbox(now: Date, lease: TimeInterval, limit: Int, channels: [String]) async throws -> [OutboxItem] {
        guard lease > 0 else { throw StoreError.invalidInput("an outbox lease must be positive, got \(lease) s") }
        // Whole milliseconds, as the store keeps times, so `releaseOutbox` can match the lease exactly.
        let leasedUntil = Date(millisecondsSince1970: now.addingTimeInterval(lease).millisecondsSince1970)
        return try await run(StoreOperation(.write) { session, _ in
            try StoreEngine.claimOutbox(session, now: now, leasedUntil: leasedUntil, limit: limit, channels: channels)
        })
    }

    /// Gives claimed replies that were not attempted back (a worker stopping
    /// mid-batch): they are due at `dueAt` instead of when the lease ends.
    /// Items whose lease is no longer `leasedUntil` are left alone. Returns
    /// how many were released.
    @discardableResult
    public func releaseOutbox(ids: [Int64], leasedUntil: Date, dueAt: Date) async throws -> Int {
        try await run(StoreOperation(.write) { session, _ in
            try StoreEngine.releaseOutbox(session, ids: ids, leasedUntil: leasedUntil, dueAt: dueAt)
        })
    }

    /// Gives up on a reply the channel refused for good (unknown chat, blocked
    /// bot, invalid number): it is cancelled with its error (masked) and never
    /// retried or marked sent. Counts as an attempt.
    public func abandonOutbox(id: Int64, error: String) async throws {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.abandonOutbox(session, id: id, error: error, now: context.now)
        })
    }

    // MARK: Corrections

    /// Staff corrections, oldest first; only those not yet exported unless `includeExported`.
    public func corrections(includeExported: Bool = false) async throws -> [Correction] {
        try await run(StoreOperation(.read) { session, _ in
            try StoreEngine.corrections(session, includeExported: includeExported)
        })
    }

    /// Marks corrections as written to the data pack.
    public func markCorrectionsExported(ids: [Int64]) async throws {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.markCorrectionsExported(session, ids: ids, now: context.now)
        })
    }

    // MARK: Privacy and retention

    /// Looks a resident up by numeric id or `channel:external-id`.
    public func resident(_ reference: String) async throws -> Resident {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.findResident(session, reference: reference) })
    }

    /// Erases a resident's personal data (see `ForgetReport`); tickets stay,
    /// anonymised, for statistics.
    public func forgetResident(_ reference: String, actor: ActorName) async throws -> ForgetReport {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.forgetResident(session, reference: reference, actor: actor, now: context.now)
        })
    }

    /// The retention purge: erases the text of tickets that reached a final
    /// status more than `days` days ago, and message text older than that in
    /// conversations with no open ticket.
    public func purge(olderThanDays days: Int, actor: ActorName) async throws -> PurgeReport {
        guard days >= 0 else { throw StoreError.invalidInput("retention days must not be negative, got \(days)") }
        return try await run(StoreOperation(.write) { session, context in
            let now = context.now
            return try StoreEngine.purge(session, olderThan: now.addingTimeInterval(-Double(days) * 86_400), actor: actor, now: now)
        })
    }

    // MARK: Maintenance

    /// Row counts and the schema version.
    public func statistics() async throws -> StoreStatistics {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.statistics(session) })
    }

    /// The schema version of the database.
    public func schemaVersion() async throws -> Int {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.schemaVersion(session) })
    }
}
