import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
@_exported import AssistantTestSupport
@testable import Store

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
        (9, ["DROP INDEX tickets_recurrence", "DROP INDEX corrections_ticket", "DROP INDEX tickets_insights", "DROP INDEX ticket_events_kind",
             "DROP INDEX tickets_resolved", "CREATE INDEX tickets_resolved ON tickets(status, resolved_at)",
             "DROP INDEX tickets_queue",
             "CREATE INDEX tickets_queue ON tickets(priority, created_at, id) WHERE status IN ('new', 'triaged', 'in_progress', 'pending_resident')",
             "ALTER TABLE tickets DROP COLUMN clarified", "ALTER TABLE tickets DROP COLUMN recurrence_key",
             "ALTER TABLE tickets DROP COLUMN place"]),
        (8, ["DROP INDEX attachments_fetch_due"] + ["fetch_failed_at", "fetch_error", "fetch_next_at", "fetch_attempts", "fetch_locator",
                                                     "fetch_channel"].map { "ALTER TABLE attachments DROP COLUMN \($0)" }),
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
