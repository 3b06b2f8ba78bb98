import ArgumentParser
import DataPack
import Domain
import Foundation
import Store

/// `concierge report`: the insights for a period, as tables, JSON or CSV.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How the building's requests went: volume, response targets, satisfaction, recurring problems, model health.",
        discussion: """
        Tickets created from --since to --until, both days included (default: \
        the 90 days up to today): per week and \
        category, per language and channel; first answers within the \
        priority's target, per priority and week; median and 90th percentile \
        hours to the first response and to resolution; open tickets by age; \
        ratings and "not fixed" reopenings; the same category at the same \
        unit or shared place 3 or more times in the 90 days up to --until; \
        and per category, how often staff corrected the assistant. Weeks \
        start on Monday in --time-zone (default: the data pack's community \
        timezone, else UTC). The same figures are on the staff page at \
        /staff/insights.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var packOptions: PackOptions

    @Option(help: ArgumentHelp("The first day of the period (YYYY-MM-DD; default: 90 days before --until).", valueName: "date"))
    var since: String?
    @Option(help: ArgumentHelp("The last day of the period (YYYY-MM-DD; default: today).", valueName: "date"))
    var until: String?
    @Option(help: ArgumentHelp("The time zone days and weeks are read in (e.g. Asia/Shanghai).", valueName: "zone"))
    var timeZone: String?
    @Flag(help: "Print JSON (snake_case keys) instead of tables.") var json = false
    @Flag(help: "Print CSV (section, label, week, measure, value) for a spreadsheet.") var csv = false

    func validate() throws {
        if json && csv { throw ValidationError("choose one of --json and --csv") }
        if let timeZone, TimeZone(identifier: timeZone) == nil { throw ValidationError("unknown time zone '\(timeZone)'") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, InsightsPeriod.day(value, in: TimeZone(identifier: "UTC")!) == nil {
                throw ValidationError("\(name) must be a date like 2026-12-07, got '\(value)'")
            }
        }
    }

    func run() async throws {
        let zone = timeZone.flatMap(TimeZone.init(identifier:)) ?? packTimeZone() ?? TimeZone(identifier: "UTC")!
        let period = try InsightsPeriod(since: since, until: until, timeZone: zone, now: Date())
        let report = try await withStore(storeOptions) { store in
            try await store.insights(since: period.since, until: period.until,
                                     weekStart: InsightsReport.weekStart(onOrBefore: period.since, timeZone: zone))
        }
        if json {
            print(try InsightsText.json(report))
        } else if csv {
            print(InsightsText.csv(report, timeZone: zone), terminator: "")
        } else {
            print(InsightsText.tables(report, timeZone: zone), terminator: "")
        }
    }

    /// The community's time zone (`community.yaml`), when the data pack has one.
    func packTimeZone() -> TimeZone? {
        guard let files = try? ProjectFiles.locate(), let community = DataPackLoader.community(directory: packOptions.directory(files)) else {
            return nil
        }
        return TimeZone(identifier: community.timezone)
    }
}
