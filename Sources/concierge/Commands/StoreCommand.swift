import ArgumentParser
import Foundation
import Home
import Store

/// `concierge store …`: the database itself.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect, check, purge, seed and benchmark the ticket store.",
        subcommands: [Info.self, Check.self, Purge.self, Seed.self, Bench.self, StressWrite.self]
    )

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where the store is, its schema version and row counts.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let (location, stats) = try await withStore(storeOptions) { store in (store.location, try await store.statistics()) }
            if json {
                print(try jsonText(stats))
                return
            }
            print("Store: \(location)")
            print("Home:  \(storeOptions.home.home.root.path)")
            let table = TextTable(columns: ["what", "count"])
            table.add(["schema version", "\(stats.schemaVersion)"])
            table.add(["residents", "\(stats.residents)"])
            table.add(["conversations", "\(stats.conversations)"])
            table.add(["messages", "\(stats.messages)"])
            table.add(["tickets", "\(stats.tickets)"])
            table.add(["open tickets", "\(stats.openTickets)"])
            table.add(["audit events", "\(stats.events)"])
            table.add(["replies waiting to send", "\(stats.outboxPending)"])
            table.add(["corrections to export", "\(stats.correctionsPending)"])
            table.add(["photos (bytes)", "\(stats.attachments) (\(stats.attachmentBytes))"])
            print(table.render(), terminator: "")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the database: SQLite's integrity_check, and ticket numbers 1…N with an audit event each.")
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: ArgumentHelp("A file of `ack N` lines (from `store stress-write`): every N must be present.", visibility: .hidden))
        var acked: [String] = []

        func run() async throws {
            let (report, missing, ackedCount) = try await withStore(storeOptions) { store in
                let report = try await store.check()
                var acknowledged = Set<Int>()
                for path in acked {
                    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)") }
                    for line in text.split(separator: "\n") where line.hasPrefix("ack ") {
                        if let number = Int(line.dropFirst(4)) { acknowledged.insert(number) }
                    }
                }
                let present = acknowledged.isEmpty ? [] : try await store.ticketNumbers()
                return (report, acknowledged.subtracting(present).sorted(), acknowledged.count)
            }
            for problem in report.problems { print("problem: \(problem)") }
            var summary = "integrity \(report.isOK ? "ok" : "FAILED"); \(report.tickets) tickets, highest #\(report.highestNumber)"
            if !acked.isEmpty {
                summary += "; \(ackedCount) acknowledged, \(missing.count) missing"
                if !missing.isEmpty { summary += " (" + missing.prefix(20).map { "#\($0)" }.joined(separator: " ") + ")" }
            }
            print(summary)
            if !report.isOK || !missing.isEmpty { throw ExitCode.failure }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase the text of tickets closed more than N days ago, and older messages with no open ticket.",
            discussion: """
            Keeps the tickets (category, priority, status, times, audit log) for \
            statistics. N is --days, else retention_days in the home's \
            config.json. `concierge queue` also applies retention_days when it starts.
            """)
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Retention in days (default: retention_days of config.json).") var days: Int?

        func run() async throws {
            guard let retention = try days ?? storeOptions.home.home.loadConfig().retentionDays else {
                throw CLIError("no retention set: pass --days N or set \"retention_days\" in \(storeOptions.home.home.configURL.path)")
            }
            if retention < 0 { throw ValidationError("--days must not be negative") }
            let report = try await withStore(storeOptions) { store in try await store.purge(olderThanDays: retention, actor: "retention") }
            print("Purged the text of \(report.ticketsPurged) ticket(s) and \(report.messagesPurged) message(s), and \(report.attachmentsErased) photo(s), older than \(retention) day(s).")
        }
    }

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fill the store with realistic test tickets (for trying the queue, and benchmarks).",
            discussion: """
            Each ticket is filed through a full conversation turn; most are then \
            worked to a final status. Reproducible with --seed. With --demo, a \
            history for the insights page instead: --months of requests in both \
            languages from every channel up to now, heating tickets in the cold \
            months, a failing elevator in building 2, a noisy unit, weekend \
            answers waiting for Monday, staff re-labels (P1 false alarms among \
            them), "not fixed" replies and ratings.
            """)
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "How many tickets.") var tickets: Int = 100
        @Option(help: "Random seed.") var seed: UInt64 = 42
        @Option(help: "Share of tickets worked to a final status (0…1).") var finished: Double = 0.8
        @Flag(help: "A demo history for the insights page (see above) instead of --tickets test tickets.") var demo = false
        @Option(help: "With --demo: how many months of history.") var months: Int = 6

        func validate() throws {
            if tickets < 0 || !(0...1).contains(finished) { throw ValidationError("--tickets ≥ 0 and --finished between 0 and 1") }
            if !(1...24).contains(months) { throw ValidationError("--months is from 1 to 24") }
        }

        func run() async throws {
            if demo {
                let count = try await seedDemo(storeOptions, months: months, seed: seed)
                print("Seeded a demo history of \(months) months: \(count) tickets. See `concierge report` or /staff/insights.")
                return
            }
            let report = try await seedStore(storeOptions, count: tickets, seed: seed, finished: finished)
            print("Seeded \(report.tickets) tickets in \(String(format: "%.1f", report.insertSeconds)) s (\(Int(report.ticketsPerSecond)) tickets/s), worked most of them in \(String(format: "%.1f", report.lifecycleSeconds)) s.")
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load benchmark: file N tickets, then time the queue listing and the insights report (build with -c release).",
            discussion: """
            Files --tickets tickets into an EMPTY store, each through a full \
            conversation turn in its own transaction (resident, conversation, \
            two messages, ticket, audit event, outbox entry, idempotency key), \
            works 80% of them to a final status, then times the top-50 queue \
            listing (and prints its query plan) and `concierge report`'s \
            figures for the last 90 days.
            """)
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "How many tickets.") var tickets: Int = 100_000
        @Option(help: "Queue listings to time.") var rounds: Int = 200
        @Option(help: "Spread the tickets over this many days before now (the report covers the last 90).") var days: Double = 90
        @Flag(help: "Print the figures as JSON.") var json = false

        struct Figures: Codable {
            var store: String
            var tickets: Int
            var openTickets: Int
            var insertSeconds: Double
            var ticketsPerSecond: Double
            var lifecycleSeconds: Double
            var queueMillisecondsP50: Double
            var queueMillisecondsP95: Double
            var queueMillisecondsMax: Double
            var filteredQueueMillisecondsP50: Double
            /// `concierge report`'s figures for the last 90 days (`store.insights`), median and slowest of the rounds.
            var reportMillisecondsP50: Double
            var reportMillisecondsMax: Double
            var plan: String
        }

        /// The insights for the 90 days up to now, timed over up to 20 rounds after one warm-up; milliseconds, sorted.
        func timeReport(_ store: any TicketStore) async throws -> [Double] {
            let period = try InsightsPeriod(since: nil, until: nil, timeZone: TimeZone(identifier: "UTC")!, now: Date())
            let weekStart = InsightsReport.weekStart(onOrBefore: period.since)
            _ = try await store.insights(since: period.since, until: period.until, weekStart: weekStart)
            var samples: [Double] = []
            for _ in 0..<min(rounds, 20) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try await store.insights(since: period.since, until: period.until, weekStart: weekStart)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return samples.sorted()
        }

        func run() async throws {
            let existing = try await withStore(storeOptions) { store in try await store.statistics().tickets }
            if existing > 0 { throw CLIError("the store already has \(existing) tickets; benchmark an empty one (a fresh --home or database)") }
            guard days >= 1 else { throw ValidationError("--days is at least 1") }
            let seeded = try await seedStore(storeOptions, count: tickets, seed: 7, finished: 0.8, days: days, verbose: !json)
            let figures = try await withStore(storeOptions) { store in
                func time(_ filter: QueueFilter) async throws -> [Double] {
                    for _ in 0..<5 { _ = try await store.queue(filter) }
                    var samples: [Double] = []
                    for _ in 0..<rounds {
                        let start = DispatchTime.now().uptimeNanoseconds
                        let listed = try await store.queue(filter)
                        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                        if listed.count > filter.limit { throw CLIError("the queue returned more than \(filter.limit) tickets") }
                    }
                    return samples.sorted()
                }
                let report = try await timeReport(store)
                let plain = try await time(QueueFilter(limit: 50))
                let filtered = try await time(QueueFilter(categories: ["plumbing"], priorities: [.p2, .p3], unassignedOnly: true, limit: 50))
                func percentile(_ samples: [Double], _ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
                let stats = try await store.statistics()
                return Figures(store: store.location, tickets: stats.tickets, openTickets: stats.openTickets,
                               insertSeconds: seeded.insertSeconds, ticketsPerSecond: seeded.ticketsPerSecond,
                               lifecycleSeconds: seeded.lifecycleSeconds,
                               queueMillisecondsP50: percentile(plain, 0.5), queueMillisecondsP95: percentile(plain, 0.95),
                               queueMillisecondsMax: plain.last ?? 0, filteredQueueMillisecondsP50: percentile(filtered, 0.5),
                               reportMillisecondsP50: percentile(report, 0.5), reportMillisecondsMax: report.last ?? 0,
                               plan: try await store.explainQueue(QueueFilter(limit: 50)))
            }
            if json {
                print(try jsonText(figures))
                return
            }
            print("store:               \(figures.store)")
            print("tickets:             \(figures.tickets) (\(figures.openTickets) open)")
            print(String(format: "filing:              %.1f s, %.0f tickets/s (one conversation-turn transaction each)", figures.insertSeconds, figures.ticketsPerSecond))
            print(String(format: "working to final:    %.1f s (100 tickets a transaction)", figures.lifecycleSeconds))
            print(String(format: "queue top 50:        p50 %.2f ms, p95 %.2f ms, max %.2f ms (%d rounds)", figures.queueMillisecondsP50, figures.queueMillisecondsP95, figures.queueMillisecondsMax, rounds))
            print(String(format: "queue top 50 filtered (category, priorities, unassigned): p50 %.2f ms", figures.filteredQueueMillisecondsP50))
            print(String(format: "report, last 90 days: p50 %.1f ms, max %.1f ms (%d rounds)", figures.reportMillisecondsP50,
                         figures.reportMillisecondsMax, min(rounds, 20)))
            print("query plan:\n" + figures.plan.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
    }

    struct StressWrite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stress-write",
            abstract: "Write tickets in a loop, printing `ack N` after each commit (for the crash and concurrency tests).",
            shouldDisplay: false)
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "How many tickets (0: until killed).") var count: Int = 0
        @Option(help: "A name for this writer, stored in the audit log.") var writer: String = "writer"

        func run() async throws {
            try await withStore(storeOptions) { store in
                var written = 0
                while count == 0 || written < count {
                    let draft = TicketDraft(category: StoreSeeder.categories[written % StoreSeeder.categories.count],
                                            priority: Priority(level: 1 + written % 4) ?? .p3,
                                            description: "stress ticket \(written) from \(writer)", unit: "\(1 + written % 30)A",
                                            resident: written % 3 == 0 ? ResidentInfo(channel: "stress", externalID: "\(writer)-\(written % 10)") : nil)
                    let ticket = try await store.createTicket(draft, actor: writer)
                    FileHandle.standardOutput.write(Data("ack \(ticket.number)\n".utf8))
                    written += 1
                }
            }
        }
    }
}

/// Runs `body` on the store of `options`, opened with a clock the seeder moves, and closes it.
func withSeedingStore<T>(_ options: StoreOptions, _ body: (any TicketStore, ManualClock) async throws -> T) async throws -> T {
    StoreLogging.bootstrap()
    let home = options.home.home
    let location = try StoreLocation.resolve(option: options.store, home: home)
    if case .sqlite(let url) = location, url.deletingLastPathComponent().standardizedFileURL == home.root { try home.prepare() }
    let clock = ManualClock()
    let store = try await location.open(configuration: StoreConfiguration(now: { clock.now }))
    do {
        let result = try await body(store, clock)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// Seeds a demo history (``DemoSeeder``).
func seedDemo(_ options: StoreOptions, months: Int, seed: UInt64) async throws -> Int {
    try await withSeedingStore(options) { store, clock in
        try await DemoSeeder(seed: seed, months: months).run(store: store, clock: clock)
    }
}

/// Seeds test tickets (``StoreSeeder``).
func seedStore(_ options: StoreOptions, count: Int, seed: UInt64, finished: Double, days: Double = 90,
               verbose: Bool = true) async throws -> StoreSeeder.Report {
    try await withSeedingStore(options) { store, clock in
        try await StoreSeeder(seed: seed, finishedShare: finished).run(store: store, clock: clock, count: count, days: days) { done in
            if verbose && done % 10_000 == 0 { FileHandle.standardError.write(Data("  \(done) tickets filed\n".utf8)) }
        }
    }
}
