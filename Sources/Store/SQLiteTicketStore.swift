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
                _ = try queue.read { db in try StoreEngine.inspect(GRDBSession(db), location: url.path) }
                try queue.close()
            } catch {
                throw Self.map(error, path: url.path)
            }
        } else if !fileManager.isWritableFile(atPath: directory.path) {
            throw StoreError.readOnly(path: url.path, detail: "cannot create a file in \(directory.path)")
        }

        var config = Configuration()
        config.label = "concierge"
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
            let applied = try pool.write { db in try StoreEngine.migrate(GRDBSession(db), location: location, now: now) }
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
            return try await pool.write { db in try body(GRDBSession(db)) }
        } catch {
            throw Self.map(error, path: path)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (GRDBSession) throws -> T) async throws -> T {
        do {
            return try await pool.read { db in try body(GRDBSession(db)) }
        } catch {
            throw Self.map(error, path: path)
        }
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
            let numbers = try StoreEngine.checkNumbers(session)
            problems += numbers.problems
            return IntegrityReport(problems: problems, tickets: numbers.tickets, highestNumber: numbers.highest)
        }
    }

    /// `EXPLAIN QUERY PLAN` of the queue listing.
    public func explainQueue(_ filter: QueueFilter) async throws -> String {
        try await read { session in
            let (sql, binds) = StoreEngine.queueQuery(filter)
            return try session.query("EXPLAIN QUERY PLAN " + sql, binds).map { row in
                row.string("detail") ?? ""
            }.joined(separator: "\n")
        }
    }

    public func close() async {
        try? pool.close()
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
