import Foundation
import Store

/// `/staff/insights`: the report of `concierge report` as charts (SVG drawn
/// on the server), each with its summary and the table behind it.
struct InsightsPage: Sendable {
    struct Row: Sendable { var cells: [String] }
    struct Recurring: Sendable {
        var category: String, place: String, times: Int, days: String
        var tickets: [TicketLink]
    }
    struct TicketLink: Sendable { var number: Int }

    var title = "Insights"
    var staff: StaffHeader
    var period: String
    var since: String
    var until: String
    var total: Int
    var charts: [SVGBarChart]
    var slaRows: [Row]
    var durationRows: [Row]
    var languageRows: [Row]
    var channelRows: [Row]
    var satisfactionSummary: String
    var ratingRows: [Row]
    var recurring: [Recurring]
    var hasRecurring: Bool
    var recurringNote: String?
    var healthRows: [Row]
    var error: String?
    var notice: String?

    /// Series beyond this many categories are drawn together as "other".
    static let shownCategories = 6

    init(staff: StaffHeader, report: InsightsReport, catalog: StaffCatalog, format: StaffFormatting, since: String, until: String) {
        self.staff = staff
        let day = Self.dayFormatter(format.timeZone)
        self.since = since
        self.until = until
        period = "\(day(report.since)) to \(day(report.until.addingTimeInterval(-1)))"
        total = report.ticketsByWeek.reduce(0) { $0 + $1.count }
        let weeks = report.weeks.map(day)
        charts = [Self.volumeChart(report, weeks: weeks, catalog: catalog), Self.slaChart(report, day: day),
                  Self.backlogChart(report), Self.ratingChart(report)]
        slaRows = report.sla.byPriority.map { Row(cells: [$0.label, String($0.met), String($0.breached), String($0.unansweredLate),
                                                          Self.share($0.metShare)]) }
        durationRows = [("First response", report.sla.firstResponseHours), ("Resolution", report.sla.resolutionHours)].map {
            Row(cells: [$0.0, String($0.1.count), Self.hours($0.1.median), Self.hours($0.1.p90)])
        }
        languageRows = report.byLanguage.map { Row(cells: [$0.label, String($0.count)]) }
        channelRows = report.byChannel.map { Row(cells: [$0.label, String($0.count)]) }
        let satisfaction = report.satisfaction
        satisfactionSummary = "\(satisfaction.ratings) ratings"
            + (satisfaction.meanRating.map { String(format: ", mean %.2f of 5", $0) } ?? "")
            + "; \(satisfaction.reopened) of \(satisfaction.resolved) resolved tickets reopened as not fixed"
            + (satisfaction.resolved > 0 ? " (\(Self.share(Double(satisfaction.reopened) / Double(satisfaction.resolved))))." : ".")
        ratingRows = satisfaction.byCategory.map { Row(cells: [catalog.name(of: $0.category), String($0.ratings),
                                                                String(format: "%.2f", $0.meanRating)]) }
        recurring = report.recurring.map { problem in
            Recurring(category: catalog.name(of: problem.category), place: problem.place, times: problem.tickets.count,
                      days: problem.daysBetween.map { String(format: "%.0f", $0) }.joined(separator: ", "),
                      tickets: problem.tickets.map(TicketLink.init(number:)))
        }
        hasRecurring = !recurring.isEmpty
        recurringNote = report.recurringTotal > recurring.count ? "The \(recurring.count) most frequent of \(report.recurringTotal)." : nil
        healthRows = report.modelHealth.map { row in
            Row(cells: [catalog.name(of: row.category), String(row.filed), Self.share(Double(row.corrected) / Double(max(1, row.filed))),
                        String(row.p1Lowered), String(row.raisedToP1),
                        row.clarifyRecorded == 0 ? "–" : Self.share(Double(row.clarified) / Double(row.clarifyRecorded))])
        }
    }

    /// Tickets per week, stacked by the most frequent categories (the rest as "other").
    static func volumeChart(_ report: InsightsReport, weeks: [String], catalog: StaffCatalog) -> SVGBarChart {
        var totals: [String: Int] = [:]
        for row in report.ticketsByWeek { totals[row.label, default: 0] += row.count }
        let shown = totals.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(shownCategories).map(\.key)
        let hasOther = totals.count > shown.count
        var series: [(name: String, values: [Int])] = shown.map { category in
            (catalog.name(of: category), report.weeks.map { week in
                report.ticketsByWeek.first { $0.week == week && $0.label == category }?.count ?? 0
            })
        }
        if hasOther {
            series.append(("Other", report.weeks.map { week in
                report.ticketsByWeek.filter { $0.week == week && !shown.contains($0.label) }.reduce(0) { $0 + $1.count }
            }))
        }
        let busiest = zip(weeks, report.weeks.map { week in report.ticketsByWeek.filter { $0.week == week }.reduce(0) { $0 + $1.count } })
            .max { $0.1 < $1.1 }
        let summary = "\(totals.values.reduce(0, +)) tickets in \(weeks.count) weeks"
            + (busiest.map { "; the busiest week began \($0.0) (\($0.1))." } ?? ".")
            + (shown.first.map { " Most frequent: \(catalog.name(of: $0))." } ?? "")
        return SVGBarChart(id: "chart-volume", title: "Tickets per week, by category", summary: summary, groups: weeks, series: series,
                           colours: Array(SVGBarChart.palette.prefix(shown.count)) + (hasOther ? ["#999999"] : []))
    }

    /// First answers in time and late, per week.
    static func slaChart(_ report: InsightsReport, day: (Date) -> String) -> SVGBarChart {
        let rows = report.sla.byWeek
        let met = rows.reduce(0) { $0 + $1.met }, late = rows.reduce(0) { $0 + $1.breached }
        let summary = met + late == 0 ? "No response targets decided yet."
            : "\(share(Double(met) / Double(met + late))) of first answers came within the priority's target (\(met) in time, \(late) late)."
        return SVGBarChart(id: "chart-sla", title: "First answers within the target, per week", summary: summary,
                           groups: rows.map { $0.week.map(day) ?? $0.label },
                           series: [("In time", rows.map(\.met)), ("Late", rows.map(\.breached))], colours: ["#0072B2", "#D55E00"])
    }

    static func backlogChart(_ report: InsightsReport) -> SVGBarChart {
        let rows = report.sla.backlogByAge
        let old = rows.suffix(2).reduce(0) { $0 + $1.count }
        return SVGBarChart(id: "chart-backlog", title: "Open tickets by age",
                           summary: "\(rows.reduce(0) { $0 + $1.count }) tickets open now; \(old) older than a week.",
                           groups: rows.map(\.label), series: [("Open", rows.map(\.count))], colours: ["#E69F00"])
    }

    static func ratingChart(_ report: InsightsReport) -> SVGBarChart {
        let satisfaction = report.satisfaction
        let summary = satisfaction.meanRating.map { String(format: "%d ratings, mean %.2f of 5.", satisfaction.ratings, $0) }
            ?? "No ratings yet."
        return SVGBarChart(id: "chart-ratings", title: "Ratings, 1 to 5", summary: summary, groups: ["1", "2", "3", "4", "5"],
                           series: [("Ratings", satisfaction.distribution)], colours: ["#009E73"])
    }

    static func dayFormatter(_ timeZone: TimeZone) -> (Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return { date in
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        }
    }

    static func share(_ value: Double?) -> String { value.map { String(format: "%.0f %%", $0 * 100) } ?? "–" }
    static func hours(_ value: Double?) -> String { value.map { String(format: "%.1f h", $0) } ?? "–" }
}
