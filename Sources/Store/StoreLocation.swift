import Foundation

/// Which database to use: a SQLite file, or a PostgreSQL server.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(URL)
    case postgres(PostgresURL)

    /// The environment variable that names the store when `--store` is not given.
    public static let environmentVariable = "CONCIERGE_STORE"

    /// Parses a `--store` value: `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a file path.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(trimmed))
        } else if lower.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw StoreError.invalidStoreURL(text, reason: "no file path after sqlite:") }
            self = .sqlite(URL(fileURLWithPath: path))
        } else if trimmed.contains("://") {
            throw StoreError.invalidStoreURL(PostgresURL.masked(text), reason: "unknown scheme (postgres:// or a file path)")
        } else if trimmed.isEmpty {
            throw StoreError.invalidStoreURL(text, reason: "empty")
        } else {
            self = .sqlite(URL(fileURLWithPath: trimmed))
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let url): url.path
        case .postgres(let url): url.description
        }
    }

    /// Opens the store (creating and migrating it as needed).
    public func open(configuration: StoreConfiguration = .init()) async throws -> any TicketStore {
        switch self {
        case .sqlite(let url): try SQLiteTicketStore(url: url, configuration: configuration)
        case .postgres(let url): try await PostgresTicketStore(url: url, configuration: configuration)
        }
    }
}
