import Foundation
import Logging
import PostgresNIO

/// A parsed `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE` URL.
/// `sslmode` is `disable`, `prefer` (the default: TLS when the server offers
/// it) or `require`.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// Parses a URL; throws `StoreError.invalidStoreURL` saying what is wrong.
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw StoreError.invalidStoreURL(Self.masked(text), reason: "not a URL")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.invalidStoreURL(Self.masked(text), reason: "the scheme must be postgres://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.invalidStoreURL(Self.masked(text), reason: "no host name")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError.invalidStoreURL(Self.masked(text), reason: "no user name (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError.invalidStoreURL(Self.masked(text), reason: "no database name after the host (…/DATABASE)")
        }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw StoreError.invalidStoreURL(Self.masked(text), reason: "unknown sslmode \"\(item.value ?? "")\" (disable, prefer or require)")
                }
            default:
                throw StoreError.invalidStoreURL(Self.masked(text), reason: "unknown option \"\(item.name)\" (only sslmode)")
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.percentEncodedUser?.removingPercentEncoding ?? user
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
    }

    /// The URL with the password replaced by `***`, for messages.
    public var description: String { "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)" }

    /// `host:port`, for messages.
    public var server: String { "\(host):\(port)" }

    /// Replaces the password of a URL-like text by `***`.
    static func masked(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.range(of: "://")?.upperBound, schemeEnd < at else { return text }
        let credentials = text[schemeEnd..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

/// The shared ticket store: a PostgreSQL database that several Concierge
/// servers can use at once, through postgres-nio.
///
/// It runs the same operations (the `TicketStore` extensions) and the same migrations, with
/// the same version numbers, as `SQLiteTicketStore`. Each operation is one
/// transaction (READ COMMITTED) on a pooled connection; rows that an
/// operation changes are locked (`SELECT … FOR UPDATE`, the ticket-number
/// counter row), so concurrent servers never hand out the same number or
/// interleave a status change with its audit event. A transaction that the
/// server aborts for a deadlock or serialization failure is retried.
///
/// Connecting checks the server, credentials and database at once and
/// reports a `StoreError` (`unreachable`, `authenticationFailed`,
/// `databaseMissing`, `schemaTooNew`, …) before anything is written.
public final class PostgresTicketStore: TicketStore {
    public let url: PostgresURL
    let pool: PostgresPool
    let context: StoreContext
    /// Transactions block one thread each while they talk to the server (the
    /// store's logic is synchronous, shared with SQLite); they run here, never
    /// on Swift's cooperative pool or on an event loop.
    private let queue = DispatchQueue(label: "concierge.postgres", attributes: .concurrent)

    public var location: String { url.description }

    /// Connects, checks the schema, and migrates it to the latest version.
    ///
    /// - Parameter maximumConnections: the pool size (transactions beyond it wait).
    public init(url: PostgresURL, configuration: StoreConfiguration = .init(), maximumConnections: Int = 8) async throws {
        self.url = url
        context = StoreContext(configuration: configuration, location: url.description)
        pool = try PostgresPool(url: url, maximumConnections: maximumConnections, logger: configuration.logger)
        let location = url.description
        let now = configuration.now()
        do {
            _ = try await transaction(.read) { session in try session.inspectSchema(location: location) }
            let applied = try await transaction(.write) { session in
                try session.migrate(location: location, now: now)
            }
            if !applied.isEmpty { configuration.logger.info("migrated \(location) to schema version \(Migrations.latestVersion)") }
        } catch {
            await pool.closeAllAndWait()
            throw error
        }
    }

    /// Parses `url` and connects (see `init(url:configuration:maximumConnections:)`).
    public convenience init(url: String, configuration: StoreConfiguration = .init(), maximumConnections: Int = 8) async throws {
        try await self.init(url: PostgresURL(url), configuration: configuration, maximumConnections: maximumConnections)
    }

    deinit { pool.closeAll() }

    func transaction<T: Sendable>(_ access: StoreAccess,
                                  _ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        let pool = pool
        let url = url
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try pool.transaction(access: access, url: url, body) })
            }
        }
    }

    public func run<T: Sendable>(_ operation: StoreOperation<T>) async throws -> T {
        let context = context
        return try await transaction(operation.access) { session in try operation.body(session, context) }
    }

    /// Row checks (numbers without gaps or repeats, an event per ticket);
    /// PostgreSQL checks its own pages.
    public func check() async throws -> IntegrityReport {
        try await transaction(.read) { session in
            let numbers = try session.checkTicketNumbers()
            return IntegrityReport(problems: numbers.problems, tickets: numbers.tickets, highestNumber: numbers.highest)
        }
    }

    /// `EXPLAIN ANALYZE` of the queue listing.
    public func explainQueue(_ filter: QueueFilter) async throws -> String {
        try await transaction(.read) { session in
            let (sql, binds) = filter.listingQuery()
            return try session.query("EXPLAIN ANALYZE " + sql, binds).compactMap { $0.values.first }.map { value in
                if case .text(let line) = value { return line }
                return ""
            }.joined(separator: "\n")
        }
    }

    public func close() async {
        await pool.closeAllAndWait()
    }
}

/// A small blocking connection pool: at most `maximumConnections` open,
/// created on demand, dropped when broken.
final class PostgresPool: @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let url: PostgresURL
    let logger: Logger
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var closed = false
    private var nextID = 1
    private let slots: DispatchSemaphore

    init(url: PostgresURL, maximumConnections: Int, logger: Logger) throws {
        self.url = url
        self.logger = logger
        slots = DispatchSemaphore(value: max(1, maximumConnections))
        let tls: PostgresConnection.Configuration.TLS
        switch url.tls {
        case .disable:
            tls = .disable
        case .prefer, .require:
            do {
                let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                tls = url.tls == .require ? .require(context) : .prefer(context)
            } catch {
                throw StoreError.database("cannot set up TLS: \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user,
                                                             password: url.password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
    }

    private func connect() throws -> PostgresConnection {
        let id: Int = lock.withLock {
            defer { nextID += 1 }
            return nextID
        }
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                  id: id, logger: logger).wait()
        } catch {
            throw PostgresSession.map(error, url: url, connecting: true)
        }
    }

    /// Runs `body` between BEGIN and COMMIT on a pooled connection, rolling
    /// back on error and retrying deadlocks and serialization failures.
    func transaction<T>(access: StoreAccess, url: PostgresURL,
                        _ body: (PostgresSession) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        var attempt = 0
        while true {
            attempt += 1
            let connection = try lease()
            let session = PostgresSession(connection: connection, url: url, logger: logger)
            do {
                try session.execute(access == .read ? "BEGIN READ ONLY" : "BEGIN", [])
                let result = try body(session)
                try session.execute("COMMIT", [])
                release(connection)
                return result
            } catch {
                if !connection.isClosed, (try? session.execute("ROLLBACK", [])) != nil {
                    release(connection)
                } else {
                    try? connection.close().wait()
                }
                if attempt < 5, let storeError = error as? PostgresRetry {
                    logger.debug("retrying a transaction after \(storeError.reason)")
                    Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.02) * Double(attempt))
                    continue
                }
                throw error
            }
        }
    }

    private func lease() throws -> PostgresConnection {
        let reused: PostgresConnection? = try lock.withLock {
            if closed { throw StoreError.database("the store was closed") }
            while let connection = idle.popLast() {
                if !connection.isClosed { return connection }
            }
            return nil
        }
        return try reused ?? connect()
    }

    private func release(_ connection: PostgresConnection) {
        let keep: Bool = lock.withLock {
            if closed { return false }
            idle.append(connection)
            return true
        }
        if !keep { try? connection.close().wait() }
    }

    /// Marks the pool closed and takes its idle connections.
    private func drain() -> [PostgresConnection] {
        lock.withLock {
            closed = true
            defer { idle.removeAll() }
            return idle
        }
    }

    /// Closes every idle connection, without waiting (for `deinit`); each
    /// connection is kept alive until its close completes.
    func closeAll() {
        for connection in drain() {
            let closing: EventLoopFuture<Void> = connection.close()
            closing.whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// Closes every idle connection and waits for them to close.
    func closeAllAndWait() async {
        for connection in drain() {
            let closing: EventLoopFuture<Void> = connection.close()
            try? await closing.get()
        }
    }
}

/// Thrown for server aborts worth retrying (deadlock, serialization failure).
struct PostgresRetry: Error {
    var reason: String
}

/// `SQLSession` over one PostgreSQL connection.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let url: PostgresURL
    let logger: Logger

    var dialect: SQLDialect { .postgres }

    /// `?` placeholders become `$1`, `$2`, … (outside quoted text).
    static func numberPlaceholders(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var index = 0
        var inQuote = false
        for character in sql {
            if character == "'" { inQuote.toggle() }
            if character == "?" && !inQuote {
                index += 1
                result += "$\(index)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    func run(_ sql: String, _ binds: [SQLValue]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: binds.count)
        do {
            for value in binds {
                switch value {
                case .null: bindings.appendNull()
                case .integer(let value): bindings.append(value)
                case .real(let value): bindings.append(value)
                case .text(let value): bindings.append(value)
                case .blob(let value): try bindings.append(value)
                case .bool(let value): bindings.append(value)
                }
            }
            let query = PostgresQuery(unsafeSQL: Self.numberPlaceholders(dialect.render(sql)), binds: bindings)
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw Self.map(error, url: url, connecting: false)
        }
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let result = try run(sql, binds)
        guard let first = result.rows.first else { return [] }
        let names = first.map(\.columnName)
        return try result.rows.map { row in SQLRow(names: names, values: try row.map(Self.value(of:))) }
    }

    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> Int {
        try run(sql, binds).metadata.rows ?? 0
    }

    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8, .numeric: return .real(try cell.decode(Double.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .bytea: return .blob(try cell.decode(Data.self))
        case .void: return .null
        default:
            if let text = try? cell.decode(String.self) { return .text(text) }
            return .null
        }
    }

    /// Translates postgres-nio failures into `StoreError` (or `PostgresRetry`).
    static func map(_ error: any Error, url: PostgresURL, connecting: Bool) -> any Error {
        if error is StoreError || error is PostgresRetry { return error }
        guard let error = error as? PSQLError else {
            return connecting ? StoreError.unreachable(server: url.server, detail: PrivacyMask.mask("\(error)"))
                              : StoreError.database(PrivacyMask.mask("\(error)"))
        }
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = PrivacyMask.mask(error.serverInfo?[.message] ?? "")
        switch error.code {
        case .server:
            switch state {
            case "28P01", "28000":
                return StoreError.authenticationFailed(server: url.server, user: url.user, detail: message)
            case "3D000":
                return StoreError.databaseMissing(server: url.server, database: url.database)
            case "40001", "40P01":
                return PostgresRetry(reason: message)
            case "53300", "57P03":
                return StoreError.unreachable(server: url.server, detail: message)
            default:
                let detail = error.serverInfo?[.detail].map { " (\(PrivacyMask.mask($0)))" } ?? ""
                return StoreError.database("\(message)\(detail) [SQLSTATE \(state)]")
            }
        case .authMechanismRequiresPassword:
            return StoreError.authenticationFailed(server: url.server, user: url.user, detail: "the server wants a password and the URL has none")
        case .sslUnsupported:
            return StoreError.unreachable(server: url.server, detail: "the server does not offer TLS; add ?sslmode=disable for a local server")
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            let underlying = error.underlying.map { PrivacyMask.mask("\($0)") } ?? "\(error.code)"
            return StoreError.unreachable(server: url.server, detail: underlying)
        default:
            let underlying = error.underlying.map { ": \(PrivacyMask.mask("\($0)"))" } ?? ""
            return StoreError.database("\(error.code)\(underlying)")
        }
    }
}
