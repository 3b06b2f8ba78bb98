import Foundation
import Logging
import PostgresNIO
import Store
import Testing
import TestSupport

/// The engines the shared suite runs against.
///
/// PostgreSQL needs a real server: `bash .ci/run` starts one and sets
/// `CONCIERGE_TEST_POSTGRES_URL` (any superuser URL; each test makes and drops
/// its own database). Without it the PostgreSQL cases FAIL, saying so — unless
/// `CONCIERGE_TEST_SKIP_POSTGRES=1` is set, an explicit opt-out for local runs.
public enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public static let urlVariable = "CONCIERGE_TEST_POSTGRES_URL"
    public static let skipVariable = "CONCIERGE_TEST_SKIP_POSTGRES"

    public static var postgresSkipped: Bool { ProcessInfo.processInfo.environment[skipVariable] == "1" }
    public static var postgresURL: String? { ProcessInfo.processInfo.environment[urlVariable].flatMap { $0.isEmpty ? nil : $0 } }

    /// Both engines, or SQLite only when PostgreSQL is explicitly skipped.
    public static var all: [Backend] { postgresSkipped ? [.sqlite] : [.sqlite, .postgres] }

    public var testDescription: String { rawValue }
}

public struct MissingPostgres: Error, CustomStringConvertible {
    public init() {}

    public var description: String {
        "no PostgreSQL server for the tests: set \(Backend.urlVariable)=postgres://USER:PASSWORD@127.0.0.1:PORT/postgres "
            + "(bash .ci/run starts one), or set \(Backend.skipVariable)=1 to run the SQLite half only"
    }
}

/// A store on a fresh, empty database that is deleted afterwards.
public final class TestDatabase: Sendable {
    public let backend: Backend
    /// The store's clock, unless `realTime`.
    public let clock: ManualClock
    /// The store reads the real clock (`clock` is then unused).
    public let realTime: Bool
    /// For SQLite: the temporary home. For PostgreSQL: nil.
    public let directory: URL?
    /// For PostgreSQL: the test database's URL.
    public let postgresURL: PostgresURL?
    public let databaseName: String?

    public init(_ backend: Backend, clock: ManualClock = ManualClock(Date()), realTime: Bool = false) async throws {
        self.backend = backend
        self.clock = clock
        self.realTime = realTime
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

    public var location: StoreLocation {
        switch backend {
        case .sqlite: .sqlite(directory!.appendingPathComponent("concierge.sqlite"))
        case .postgres: .postgres(postgresURL!)
        }
    }

    public func open(targets: ResponseTargets = .standard) async throws -> any TicketStore {
        let clock = clock
        var logger = Logger(label: "concierge.store.test")
        logger.logLevel = .warning
        let realTime = realTime
        let now: @Sendable () -> Date = { realTime ? Date() : clock.now }
        return try await location.open(configuration: StoreConfiguration(responseTargets: targets, now: now, logger: logger))
    }

    public func destroy() async {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        if let databaseName, let text = Backend.postgresURL, let admin = try? PostgresURL(text) {
            try? await PostgresAdmin.execute(admin, "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
        }
    }
}

/// Plain SQL against a PostgreSQL server, outside the store (setting up and
/// tearing down test databases, tampering with them).
public enum PostgresAdmin {
    public static func execute(_ url: PostgresURL, _ sql: String) async throws {
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

