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
///
/// The operations are declared in extensions, by what they work on:
/// `Tickets.swift` (tickets, notes, merges, corrections), `Conversations.swift`
/// and `ResidentTickets.swift` (conversation turns, handoff, a resident's
/// tickets), `OutboxQueue.swift`, `Residents.swift` (lookup, forgetting,
/// retention), `StaffAccounts.swift`, `StaffSessions.swift`, `APIKeys.swift`,
/// `TicketSearch.swift` and `Schema.swift` (statistics, migrations, checks).
/// Each is written once against `SQLSession` and runs unchanged on both engines.
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
