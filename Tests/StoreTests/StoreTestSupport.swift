import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
@testable import Store

/// The engines the shared suite runs against.
///
/// PostgreSQL needs a real server: `bash .ci/run` starts one and sets
/// `CONCIERGE_TEST_POSTGRES_URL` (any superuser URL; each test makes and drops
/// its own database). Without it the PostgreSQL cases FAIL, saying so — unless
/// `CONCIERGE_TEST_SKIP_POSTGRES=1` is set, an explicit opt-out for local runs.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static let urlVariable = "CONCIERGE_TEST_POSTGRES_URL"
    static let skipVariable = "CONCIERGE_TEST_SKIP_POSTGRES"

    static var postgresSkipped: Bool { ProcessInfo.processInfo.environment[skipVariable] == "1" }
    static var postgresURL: String? { ProcessInfo.processInfo.environment[urlVariable].flatMap { $0.isEmpty ? nil : $0 } }

    /// Both engines, or SQLite only when PostgreSQL is explicitly skipped.
    static var all: [Backend] { postgresSkipped ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }
}

struct MissingPostgres: Error, CustomStringConvertible {
    var description: String {
        "no PostgreSQL server for the tests: set \(Backend.urlVariable)=postgres://USER:PASSWORD@127.0.0.1:PORT/postgres "
            + "(bash .ci/run starts one), or set \(Backend.skipVariable)=1 to run the SQLite half only"
    }
}

/// A store on a fresh, empty database that is deleted afterwards.
final class TestDatabase: Sendable {
    let backend: Backend
    let clock: ManualClock
    /// For SQLite: the temporary home. For PostgreSQL: nil.
    let directory: URL?
    /// For PostgreSQL: the test database's URL.
    let postgresURL: PostgresURL?
    let databaseName: String?

    init(_ backend: Backend, clock: ManualClock) async throws {
        self.backend = backend
        self.clock = clock
        switch backend {
        case .sqlite:
            directory = try TemporaryDirectory().url
            postgresURL = nil
            databaseName = nil
        case .postgres:
            guard let text = Backend.postgresURL else { throw MissingPostgres() }
            let admin = try PostgresURL(text)
            let name = "concierge_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            try await PostgresAdmin.execute(admin, "CREATE DATABASE \(name)")
            var url = admin
            url.database = name
            directory = nil
            postgresURL = url
            databaseName = name
        }
    }

    var location: StoreLocation {
        switch backend {
        case .sqlite: .sqlite(directory!.appendingPathComponent("concierge.sqlite"))
        case .postgres: .postgres(postgresURL!)
        }
    }

    func open(targets: ResponseTargets = .standard) async throws -> any TicketStore {
        let clock = clock
        var logger = Logger(label: "concierge.store.test")
        logger.logLevel = .warning
        return try await location.open(configuration: StoreConfiguration(responseTargets: targets, now: { clock.now }, logger: logger))
    }

    func destroy() async {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        if let databaseName, let text = Backend.postgresURL, let admin = try? PostgresURL(text) {
            try? await PostgresAdmin.execute(admin, "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
        }
    }
}

/// Runs `body` with a store on a fresh database of `backend`, then removes it.
func withTestStore(_ backend: Backend, clock: ManualClock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000)),
                   targets: ResponseTargets = .standard,
                   _ body: (any TicketStore, TestDatabase) async throws -> Void) async throws {
    let database = try await TestDatabase(backend, clock: clock)
    do {
        let store = try await database.open(targets: targets)
        do {
            try await body(store, database)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    } catch {
        await database.destroy()
        throw error
    }
    await database.destroy()
}

/// Plain SQL against a PostgreSQL server, outside the store (setting up and
/// tearing down test databases, tampering with them).
enum PostgresAdmin {
    static func execute(_ url: PostgresURL, _ sql: String) async throws {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user,
                                                             password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1,
                                                              logger: Logger(label: "test-admin"))
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-admin")).get()
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

/// Runs raw SQL through the store's own session (inside one transaction).
func rawSQL(_ store: any TicketStore, _ sql: String) async throws -> Int {
    try await store.run(StoreOperation(.write) { session, _ in try session.execute(sql, []) })
}

func rawInt(_ store: any TicketStore, _ sql: String) async throws -> Int {
    try await store.run(StoreOperation(.read) { session, _ in try session.scalarInt(sql) })
}

/// A ticket draft with sensible defaults.
func draft(_ category: String = "plumbing", _ priority: Priority = .p3, _ text: String = "the kitchen tap drips",
           unit: String? = "4B", resident: ResidentInfo? = nil) -> TicketDraft {
    TicketDraft(category: category, priority: priority, description: text, unit: unit, resident: resident)
}

/// Expects `body` to throw a `StoreError` matching `match`; returns it.
@discardableResult
func expectStoreError(_ body: () async throws -> some Any, sourceLocation: SourceLocation = #_sourceLocation,
                      _ match: (StoreError) -> Bool) async -> StoreError? {
    do {
        _ = try await body()
        Issue.record("expected a StoreError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(match(error), "unexpected StoreError: \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a StoreError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}


/// Text rows from a PostgreSQL query outside the store (first column of each row).
enum PostgresAdminQuery {
    static func rows(_ url: PostgresURL, _ sql: String) async throws -> [String] {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user,
                                                             password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        let logger = Logger(label: "test-admin")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        do {
            let result = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).get()
            let values = try result.rows.map { row in try row.first.map { try $0.decode(String.self) } ?? "" }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// A plumbing P3 draft with this text.
func draft(text: String) -> TicketDraft { draft("plumbing", .p3, text) }

extension StoreConfiguration {
    /// Standard targets, logging only warnings (tests stay readable); the clock when given.
    static func quiet(_ clock: ManualClock? = nil) -> StoreConfiguration {
        var logger = Logger(label: "concierge.store.test")
        logger.logLevel = .warning
        if let clock { return StoreConfiguration(now: { clock.now }, logger: logger) }
        return StoreConfiguration(logger: logger)
    }
}

/// SQL that takes a store's database back to schema `version`, newest
/// migration first (to test that an older database is migrated when opened).
func rollback(to version: Int) -> [String] {
    let undo: [(version: Int, statements: [String])] = [
        (7, ["DROP TABLE attachments"]),
        (6, ["DROP INDEX tickets_resolved", "ALTER TABLE tickets DROP COLUMN rating_comment",
             "ALTER TABLE tickets DROP COLUMN rating", "ALTER TABLE tickets DROP COLUMN resident_confirmation",
             "ALTER TABLE tickets DROP COLUMN resolved_at"]),
        (5, ["ALTER TABLE tickets DROP COLUMN emergency"]),
        (4, ["DROP TABLE api_keys", "DROP INDEX tickets_created"]),
        (3, ["DROP TABLE staff_sessions", "DROP TABLE staff_accounts"]),
    ]
    return undo.filter { $0.version > version }
        .flatMap { $0.statements + ["DELETE FROM schema_migrations WHERE version = \($0.version)"] }
}
