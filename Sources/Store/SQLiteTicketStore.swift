import Foundation
import GRDB
import Logging

/// The embedded ticket store: one SQLite file through GRDB.
///
/// - WAL mode with a `DatabasePool`: readers (the queue, `ticket show`) never
///   block the writer, and the writer never blocks readers.
/// - Every write is one `BEGIN IMMEDIATE` transaction, so writers in several
///   processes on the same file queue up on the busy timeout instead of failing.
/// - `synchronous = FULL`: a committed ticket survives a power cut, not only a
///   crashed process.
/// - Group commit: write operations that arrive while a transaction is being
///   written wait and then go together in the next one, each inside its own
///   savepoint (one that fails is rolled back alone and gets its error), with
///   one commit and one `fdatasync` for all of them; no caller hears back
///   before its transaction is on disk. Under load this turns one disk
///   flush per conversation turn into one per batch (see `WriteBatcher`).
/// - Foreign keys are enforced; the schema is versioned (`Migrations`).
///
/// Opening never writes to a file it should not: a damaged file, a read-only
/// file, a database of a newer schema, or another program's database is
/// reported as a `StoreError` before anything is changed.
public final class SQLiteTicketStore: TicketStore {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    let context: StoreContext
    private let batcher: WriteBatcher

    /// Opens (creating if needed) the database at `url` and migrates it to
    /// the latest schema.
    ///
    /// - Parameters:
    ///   - busyTimeout: how long a write waits for another process's
    ///     transaction before failing.
    public init(url: URL, configuration: StoreConfiguration = .init(), busyTimeout: TimeInterval = 10) throws {
        path = url.path
        context = StoreContext(configuration: configuration, location: url.path)
        let fileManager = FileManager.default
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError.cannotOpen(path: url.path, detail: "the folder \(directory.path) does not exist")
        }
        let exists = fileManager.fileExists(atPath: url.path)
        if exists {
            try Self.checkWritable(url: url)
            // Look before touching: a plain connection reading in a read-only
            // transaction tells whether this is a database, and whose, without
            // changing a byte (and, being the last to close, it leaves no -wal
            // or -shm file behind, unlike a read-only connection).
            var inspect = Configuration()
            inspect.label = "concierge-inspect"
            inspect.busyMode = .timeout(busyTimeout)
            do {
                let queue = try DatabaseQueue(path: url.path, configuration: inspect)
                _ = try queue.read { db in try GRDBSession(db).inspectSchema(location: url.path) }
                try queue.close()
            } catch {
                throw Self.map(error, path: url.path)
            }
        } else if !fileManager.isWritableFile(atPath: directory.path) {
            throw StoreError.readOnly(path: url.path, detail: "cannot create a file in \(directory.path)")
        }

        var config = Configuration()
        config.label = "concierge"
        // Set before `pool` so every path below may throw without leaving it unset.
        batcher = WriteBatcher(label: url.lastPathComponent)
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: url.path, configuration: config)
            // After GRDB's WAL setup, which chooses NORMAL: the writer syncs
            // the WAL on every commit (readers never commit).
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let location = url.path
            let now = configuration.now()
            let applied = try pool.write { db in try GRDBSession(db).migrate(location: location, now: now) }
            if !applied.isEmpty {
                configuration.logger.info("migrated \(location) to schema version \(Migrations.latestVersion)")
            }
        } catch {
            throw Self.map(error, path: url.path)
        }
    }

    /// Refuses files nobody may write (mode without any write bit), even for
    /// root, who SQLite would otherwise let write to them.
    static func checkWritable(url: URL) throws {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let permissions = attributes?[.posixPermissions] as? Int, permissions & 0o222 == 0 {
            throw StoreError.readOnly(path: url.path, detail: "the file is read-only (mode \(String(permissions, radix: 8)))")
        }
        if !FileManager.default.isWritableFile(atPath: url.path) {
            throw StoreError.readOnly(path: url.path, detail: "no write permission")
        }
    }

    /// Translates SQLite failures into `StoreError`.
    static func map(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        let message = error.message ?? "\(error.resultCode)"
        switch error.resultCode.primaryResultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError.corruptDatabase(path: path, detail: message)
        case .SQLITE_READONLY:
            return StoreError.readOnly(path: path, detail: message)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreError.cannotOpen(path: path, detail: message)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError.database("the database \(path) stayed locked by another process: \(message)")
        case .SQLITE_FULL:
            return StoreError.database("the disk holding \(path) is full: \(message)")
        default:
            return StoreError.database(PrivacyMask.mask(message))
        }
    }

    public var location: String { path }

    func write<T: Sendable>(_ body: @escaping @Sendable (GRDBSession) throws -> T) async throws -> T {
        do {
            return try await batcher.write(on: pool) { db in try body(GRDBSession(db)) }
        } catch {
            throw Self.map(error, path: path)
        }
    }

    /// Reads run on the caller's thread: they are short (an indexed lookup or
    /// a page of the queue), and a WAL reader never waits for the writer, so
    /// this costs less than the two thread switches of handing it to a queue.
    func read<T: Sendable>(_ body: @escaping @Sendable (GRDBSession) throws -> T) async throws -> T {
        do {
            return try readOnThisThread(body)
        } catch {
            throw Self.map(error, path: path)
        }
    }

    private func readOnThisThread<T>(_ body: (GRDBSession) throws -> T) throws -> T {
        try pool.read { db in try body(GRDBSession(db)) }
    }

    public func run<T: Sendable>(_ operation: StoreOperation<T>) async throws -> T {
        let context = context
        switch operation.access {
        case .read: return try await read { session in try operation.body(session, context) }
        case .write: return try await write { session in try operation.body(session, context) }
        }
    }

    /// Runs `PRAGMA integrity_check` and the ticket-number checks.
    public func check() async throws -> IntegrityReport {
        try await read { session in
            let rows = try session.query("PRAGMA integrity_check", [])
            var problems = rows.compactMap { $0.values.first }.compactMap { value -> String? in
                if case .text(let text) = value, text != "ok" { return text }
                return nil
            }
            let numbers = try session.checkTicketNumbers()
            problems += numbers.problems
            return IntegrityReport(problems: problems, tickets: numbers.tickets, highestNumber: numbers.highest)
        }
    }

    /// `EXPLAIN QUERY PLAN` of the queue listing.
    public func explainQueue(_ filter: QueueFilter) async throws -> String {
        try await read { session in
            let (sql, binds) = filter.listingQuery()
            return try session.query("EXPLAIN QUERY PLAN " + sql, binds).map { row in
                row.string("detail") ?? ""
            }.joined(separator: "\n")
        }
    }

    public func close() async {
        try? pool.close()
    }
}

/// Group commit for one database pool: write operations queue up while a
/// transaction is being written, then run together in the next transaction,
/// each in a savepoint, under one commit. When the store is idle an operation
/// starts at once (no waiting for company), so a lone write costs what it did.
final class WriteBatcher: @unchecked Sendable {
    /// One queued operation: runs inside the batch's transaction, then hears
    /// how the commit went.
    private struct Job {
        /// Runs the operation in a savepoint; records its own result.
        var run: (Database) -> Void
        /// Resumes the caller: with its result, or with the commit's error.
        var finish: ((any Error)?) -> Void
    }

    /// The most operations one transaction takes, so a long queue still commits often.
    static let maximumBatch = 64

    private let lock = NSLock()
    private var pending: [Job] = []
    private var draining = false
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: "concierge.store.group-commit.\(label)")
    }

    /// Runs `body` in a savepoint of the next batch transaction; returns once
    /// that transaction is committed (or throws its error, or the commit's).
    func write<T: Sendable>(on pool: DatabasePool, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            nonisolated(unsafe) var outcome: Result<T, any Error>?
            let job = Job(
                run: { db in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        outcome = value.map { .success($0) }
                    } catch {
                        outcome = .failure(error)
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else if let outcome {
                        continuation.resume(with: outcome)
                    } else {
                        continuation.resume(throwing: StoreError.database("a write was not run"))
                    }
                })
            let start = lock.withLock {
                pending.append(job)
                if draining { return false }
                draining = true
                return true
            }
            if start { queue.async { self.drain(pool) } }
        }
    }

    /// Writes batches until the queue is empty.
    private func drain(_ pool: DatabasePool) {
        while true {
            let batch: [Job] = lock.withLock {
                guard !pending.isEmpty else {
                    draining = false
                    return []
                }
                let count = min(pending.count, Self.maximumBatch)
                let batch = Array(pending.prefix(count))
                pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in batch {
                            job.run(db)
                            // Some failures (a full disk, an I/O error) make SQLite roll the
                            // whole transaction back: then nothing of this batch is kept,
                            // and every operation in it hears so.
                            guard db.isInsideTransaction else {
                                throw StoreError.database("SQLite rolled the transaction back; nothing was written")
                            }
                        }
                        return .commit
                    }
                }
                for job in batch { job.finish(nil) }
            } catch {
                for job in batch { job.finish(error) }
            }
        }
    }
}

/// `SQLSession` over a GRDB connection (inside `pool.write` or `pool.read`).
struct GRDBSession: SQLSession {
    let db: Database
    init(_ db: Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }

    static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(binds.map { value -> DatabaseValue in
            switch value {
            case .null: .null
            case .integer(let value): value.databaseValue
            case .real(let value): value.databaseValue
            case .text(let value): value.databaseValue
            case .blob(let value): value.databaseValue
            case .bool(let value): (value ? 1 : 0).databaseValue
            }
        })
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: dialect.render(sql))
        let rows = try Row.fetchAll(statement, arguments: Self.arguments(binds))
        guard let first = rows.first else { return [] }
        let names = Array(first.columnNames)
        return rows.map { row in
            SQLRow(names: names, values: row.databaseValues.map { value in
                switch value.storage {
                case .null: .null
                case .int64(let value): .integer(value)
                case .double(let value): .real(value)
                case .string(let value): .text(value)
                case .blob(let value): .blob(value)
                }
            })
        }
    }

    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> Int {
        let statement = try db.cachedStatement(sql: dialect.render(sql))
        try statement.execute(arguments: Self.arguments(binds))
        return db.changesCount
    }
}
