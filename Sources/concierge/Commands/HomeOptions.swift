import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Home
import Logging
import Server
import Store

/// `--home PATH`: the data directory (database, models, config). Every
/// command that keeps local state takes this option group.
struct HomeOptions: ParsableArguments {
    @Option(name: .customLong("home"), help: ArgumentHelp(
        "The Concierge data directory (default: $CONCIERGE_HOME, else ~/.concierge).",
        valueName: "path"))
    var path: String?

    /// The resolved home (not created yet).
    var home: ConciergeHome { ConciergeHome.resolve(explicit: path) }
}

/// `--home` and `--store`: which ticket store a command uses.
struct StoreOptions: ParsableArguments {
    @OptionGroup var home: HomeOptions

    @Option(name: .customLong("store"), help: ArgumentHelp(
        "The ticket store: postgres://USER:PASSWORD@HOST:PORT/DATABASE, or a SQLite file (default: $CONCIERGE_STORE, else the home's config.json \"store\", else <home>/concierge.sqlite).",
        valueName: "url"))
    var store: String?

    /// Opens the store, creating the home first when the store lives there.
    func open(targets: ResponseTargets = .standard) async throws -> any TicketStore {
        StoreLogging.bootstrap()
        let home = home.home
        let location = try StoreLocation.resolve(option: store, home: home)
        if case .sqlite(let url) = location, url.deletingLastPathComponent().standardizedFileURL == home.root {
            try home.prepare()
        }
        var logger = Logger(label: "concierge.store")
        logger.logLevel = StoreLogging.level
        return try await location.open(configuration: StoreConfiguration(responseTargets: targets, logger: logger))
    }
}

/// `--as NAME`: who the audit log records for a staff action.
struct ActorOptions: ParsableArguments {
    @Option(name: .customLong("as"), help: ArgumentHelp(
        "Your name in the audit log (default: $CONCIERGE_STAFF, else $USER).", valueName: "name"))
    var name: String?

    var actor: String {
        let environment = ProcessInfo.processInfo.environment
        for candidate in [name, environment["CONCIERGE_STAFF"], environment["USER"], environment["LOGNAME"]] {
            if let candidate, !candidate.trimmingCharacters(in: .whitespaces).isEmpty {
                return candidate.trimmingCharacters(in: .whitespaces)
            }
        }
        return "staff"
    }
}

/// Logging for store commands: to stderr, phone numbers and emails masked,
/// level from `CONCIERGE_LOG_LEVEL` (default `warning`).
enum StoreLogging {
    nonisolated(unsafe) private static var done = false
    private static let lock = NSLock()

    static var level: Logger.Level { level(default: .warning) }

    /// `CONCIERGE_LOG_LEVEL`, else `fallback`.
    static func level(default fallback: Logger.Level) -> Logger.Level {
        ProcessInfo.processInfo.environment["CONCIERGE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? fallback
    }

    /// Sets up logging once per process: text lines (or JSON objects, one
    /// per line) on stderr, masked.
    static func bootstrap(json: Bool = false, level: Logger.Level? = nil) {
        lock.withLock {
            guard !done else { return }
            done = true
            let level = level ?? Self.level
            LoggingSystem.bootstrap { label in
                var handler = MaskingLogHandler(wrapping: LineLogHandler(label: label, format: json ? .json : .text))
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// What the CLI needs from the data pack for tickets: the categories (to
/// check a category, and its default priority) and the response targets.
struct PackFacts {
    var targets: ResponseTargets
    /// Category id → default priority; empty when the pack was not found.
    var categories: [String: Priority]
    /// How residents are told about status changes; nil when the pack was not found.
    var wording: StatusUpdateWording?

    /// Reads `intents/` (or `--intents`); when it cannot be found, standard
    /// targets and no category check, with a note on stderr.
    static func load(intents: String?) -> PackFacts {
        let directory = intents.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? (try? ProjectFiles.locate())?.intentsDirectory
        guard let directory, let pack = DataPackLoader.read(directory: directory).pack else {
            FileHandle.standardError.write(Data("note: data pack not found (pass --intents); categories are not checked and the standard response targets apply\n".utf8))
            return PackFacts(targets: .standard, categories: [:])
        }
        return PackFacts(pack: pack)
    }

    /// The facts of a loaded pack.
    init(pack: DataPack) {
        var hours: [Priority: Double] = [:]
        for (priority, target) in pack.community.responseTargets {
            if let value = target.hours, let key = Priority(rawValue: priority.rawValue) { hours[key] = value }
        }
        var categories: [String: Priority] = [:]
        for category in pack.categories {
            categories[category.id] = Priority(rawValue: category.defaultPriority.rawValue) ?? .p3
        }
        self.init(targets: ResponseTargets(hours: hours), categories: categories)
        wording = StatusUpdateWording(pack: pack)
    }

    init(targets: ResponseTargets, categories: [String: Priority]) {
        self.targets = targets
        self.categories = categories
    }

    /// Throws unless `category` is one of the pack's (when the pack was found).
    func check(category: String) throws {
        guard !categories.isEmpty, categories[category] == nil else { return }
        throw CLIError("unknown category \"\(category)\"; the data pack has: \(categories.keys.sorted().joined(separator: ", "))")
    }
}

/// Runs an async store command body and always closes the store.
func withStore<T>(_ options: StoreOptions, targets: ResponseTargets = .standard,
                  _ body: (any TicketStore) async throws -> T) async throws -> T {
    let store = try await options.open(targets: targets)
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
