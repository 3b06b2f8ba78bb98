import Foundation
import Store

/// The data directory: everything Concierge keeps locally for one community.
///
/// ```
/// <home>/
///   concierge.sqlite   the ticket store (with -wal and -shm beside it while open)
///   models/            trained models
///   config.json        local settings (see `HomeConfig`)
/// ```
///
/// Chosen by, in order: `--home PATH`, the `CONCIERGE_HOME` environment
/// variable, then `~/.concierge`. Two communities run side by side with two
/// homes; tests always pass a temporary one.
///
/// This module knows where things live on disk; the store knows nothing of
/// it (`Store` does not depend on `Home`). Its errors are `StoreError`s, as
/// the command line reports them.
public struct ConciergeHome: Sendable, Equatable {
    /// The environment variable that names the home when `--home` is not given.
    public static let environmentVariable = "CONCIERGE_HOME"

    /// The folder.
    public let root: URL

    /// A home at `root` (nothing is created until `prepare()`).
    public init(root: URL) { self.root = root.standardizedFileURL }

    /// The home named by `explicit` (a `--home` value), else by
    /// `CONCIERGE_HOME`, else `~/.concierge`. A leading `~` is expanded.
    public static func resolve(explicit: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> ConciergeHome {
        if let explicit, !explicit.isEmpty { return ConciergeHome(root: url(for: explicit, environment: environment)) }
        if let variable = environment[environmentVariable], !variable.isEmpty {
            return ConciergeHome(root: url(for: variable, environment: environment))
        }
        return ConciergeHome(root: homeDirectory(environment).appendingPathComponent(".concierge", isDirectory: true))
    }

    private static func homeDirectory(_ environment: [String: String]) -> URL {
        if let home = environment["HOME"], !home.isEmpty { return URL(fileURLWithPath: home, isDirectory: true) }
        return FileManager.default.homeDirectoryForCurrentUser
    }

    private static func url(for path: String, environment: [String: String]) -> URL {
        if path == "~" { return homeDirectory(environment) }
        if path.hasPrefix("~/") {
            return homeDirectory(environment).appendingPathComponent(String(path.dropFirst(2)), isDirectory: true)
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// The SQLite ticket store.
    public var databaseURL: URL { root.appendingPathComponent("concierge.sqlite") }
    /// Where trained models are kept.
    public var modelsDirectory: URL { root.appendingPathComponent("models", isDirectory: true) }
    /// Local settings.
    public var configURL: URL { root.appendingPathComponent("config.json") }

    /// Creates the home and `models/` if missing (owner-only permissions: the
    /// home holds residents' messages).
    public func prepare() throws {
        let fileManager = FileManager.default
        for directory in [root, modelsDirectory] where !fileManager.fileExists(atPath: directory.path) {
            do {
                try fileManager.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError.cannotOpen(path: directory.path, detail: "cannot create the Concierge home folder: \(error.localizedDescription)")
            }
        }
    }

    /// The settings in `config.json`, or the defaults when there is none.
    /// Throws `StoreError.invalidInput` naming the file when it is not valid.
    public func loadConfig() throws -> HomeConfig {
        guard let data = FileManager.default.contents(atPath: configURL.path) else { return HomeConfig() }
        do {
            return try JSONDecoder().decode(HomeConfig.self, from: data)
        } catch {
            throw StoreError.invalidInput("\(configURL.path) is not a valid settings file: \(error). "
                + "Expected JSON such as {\"retention_days\": 365, \"store\": \"postgres://…\"}.")
        }
    }
}

/// Settings in `<home>/config.json`. Unknown keys are ignored, so other
/// features can add theirs.
public struct HomeConfig: Codable, Sendable, Equatable {
    /// Purge closed tickets' text and old messages after this many days
    /// (`concierge store purge`, also applied when `concierge queue` starts).
    /// Nil keeps everything.
    public var retentionDays: Int?
    /// The default `--store` (a postgres:// URL or a SQLite file path).
    public var store: String?

    public init(retentionDays: Int? = nil, store: String? = nil) {
        self.retentionDays = retentionDays
        self.store = store
    }

    enum CodingKeys: String, CodingKey {
        case retentionDays = "retention_days"
        case store
    }
}

extension StoreLocation {
    /// The store for a command: `option` (`--store`), else `CONCIERGE_STORE`,
    /// else `store` in the home's config, else the home's SQLite file.
    public static func resolve(option: String?, home: ConciergeHome,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreLocation {
        if let option, !option.isEmpty { return try StoreLocation(parsing: option) }
        if let variable = environment[environmentVariable], !variable.isEmpty { return try StoreLocation(parsing: variable) }
        if let configured = try home.loadConfig().store, !configured.isEmpty { return try StoreLocation(parsing: configured) }
        return .sqlite(home.databaseURL)
    }
}
