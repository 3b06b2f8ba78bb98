import Domain
import Foundation
import Store

/// `concierge report`'s renderings of an ``InsightsReport``.
enum InsightsText {
    /// Pretty JSON, keys snake_case, dates ISO 8601.
    static func json(_ report: InsightsReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = SnakeCaseKeys.encodingStrategy
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    /// The figures as tables, section by section.
    static func tables(_ report: InsightsReport, timeZone: TimeZone) -> String {
        let day = dayFormatter(timeZone)
        var out = "Insights for \(day(report.since)) to \(day(report.until.addingTimeInterval(-1))): "
            + "\(report.ticketsByWeek.reduce(0) { $0 + $1.count }) tickets\n"
        out += section("Tickets per week", weeklyTable(report, day: day))
        out += section("Language", countTable(report.byLanguage, heading: "language"))
        out += section("Channel", countTable(report.byChannel, heading: "channel"))
        out += section("First answer within the target", slaTable(report.sla, day: day))
        out += section("Time taken (hours)", durationTable(report.sla))
        out += section("Open now, by age", countTable(report.sla.backlogByAge, heading: "age"))
        out += section("Satisfaction", satisfactionText(report.satisfaction))
        let shown = report.recurringTotal > report.recurring.count ? ", the \(report.recurring.count) most frequent of \(report.recurringTotal)" : ""
        out += section("Recurring problems (\(InsightsReport.recurrenceMinimum)+ in 90 days\(shown))", recurringTable(report.recurring))
        out += section("Model health (per category as filed)", healthTable(report.modelHealth))
        return out
    }

    static func section(_ title: String, _ body: String) -> String {
        "\n" + Terminal.paint(title, .bold) + "\n" + body
    }

    static func weeklyTable(_ report: InsightsReport, day: (Date) -> String) -> String {
        let table = TextTable(columns: ["week of", "tickets", "most frequent"])
        for week in report.weeks {
            let rows = report.ticketsByWeek.filter { $0.week == week }.sorted { ($0.count, $1.label) > ($1.count, $0.label) }
            table.add([day(week), String(rows.reduce(0) { $0 + $1.count }),
                       rows.prefix(3).map { "\($0.label) \($0.count)" }.joined(separator: ", ")])
        }
        return table.render()
    }

    static func countTable(_ counts: [LabelCount], heading: String) -> String {
        guard !counts.isEmpty else { return "  none\n" }
        let table = TextTable(columns: [heading, "tickets"])
        for count in counts { table.add([count.label, String(count.count)]) }
        return table.render()
    }

    static func slaTable(_ sla: ServiceLevels, day: (Date) -> String) -> String {
        let table = TextTable(columns: ["", "in time", "late", "of which unanswered", "in time %"])
        for row in sla.byPriority + sla.byWeek {
            table.add([row.week.map { "week of " + day($0) } ?? row.label, String(row.met), String(row.breached),
                       String(row.unansweredLate), share(row.metShare)])
        }
        return table.render()
    }

    static func durationTable(_ sla: ServiceLevels) -> String {
        let table = TextTable(columns: ["", "tickets", "median", "90th percentile"])
        for (name, value) in [("to the first response", sla.firstResponseHours), ("to resolution", sla.resolutionHours)] {
            table.add([name, String(value.count), hours(value.median), hours(value.p90)])
        }
        return table.render()
    }

    static func satisfactionText(_ satisfaction: Satisfaction) -> String {
        var out = "  ratings: \(satisfaction.ratings)"
        if let mean = satisfaction.meanRating { out += String(format: ", mean %.2f of 5", mean) }
        out += "; 1–5: " + satisfaction.distribution.map(String.init).joined(separator: " / ") + "\n"
        out += "  resolved: \(satisfaction.resolved); reopened as not fixed: \(satisfaction.reopened)"
            + (satisfaction.resolved > 0 ? " (\(share(Double(satisfaction.reopened) / Double(satisfaction.resolved))))" : "") + "\n"
        guard !satisfaction.byCategory.isEmpty else { return out }
        let table = TextTable(columns: ["category", "ratings", "mean"])
        for row in satisfaction.byCategory { table.add([row.category, String(row.ratings), String(format: "%.2f", row.meanRating)]) }
        return out + table.render()
    }

    static func recurringTable(_ problems: [RecurringProblem]) -> String {
        guard !problems.isEmpty else { return "  none\n" }
        let table = TextTable(columns: ["category", "where", "times", "tickets", "days between"])
        for problem in problems {
            table.add([problem.category, problem.place, String(problem.tickets.count),
                       problem.tickets.map { "#\($0)" }.joined(separator: " "),
                       problem.daysBetween.map { String(format: "%.0f", $0) }.joined(separator: ", ")])
        }
        return table.render()
    }

    static func healthTable(_ health: [CategoryHealth]) -> String {
        guard !health.isEmpty else { return "  no tickets filed by the assistant\n" }
        let table = TextTable(columns: ["category", "filed", "corrected", "P1 lowered", "raised to P1", "clarified"])
        for row in health {
            table.add([row.category, String(row.filed), share(Double(row.corrected) / Double(max(1, row.filed))),
                       String(row.p1Lowered), String(row.raisedToP1),
                       row.clarifyRecorded == 0 ? "–" : share(Double(row.clarified) / Double(row.clarifyRecorded))])
        }
        return table.render()
    }

    // MARK: CSV

    /// One line per figure: `section,label,week,measure,value` (RFC 4180 quoting).
    static func csv(_ report: InsightsReport, timeZone: TimeZone) -> String {
        let day = dayFormatter(timeZone)
        var lines = [["section", "label", "week", "measure", "value"]]
        func add(_ section: String, _ label: String, _ week: Date?, _ measure: String, _ value: String) {
            lines.append([section, label, week.map(day) ?? "", measure, value])
        }
        for row in report.ticketsByWeek { add("tickets", row.label, row.week, "count", String(row.count)) }
        for row in report.byLanguage { add("language", row.label, nil, "count", String(row.count)) }
        for row in report.byChannel { add("channel", row.label, nil, "count", String(row.count)) }
        for row in report.sla.byPriority + report.sla.byWeek {
            add("sla", row.label, row.week, "in_time", String(row.met))
            add("sla", row.label, row.week, "late", String(row.breached))
            add("sla", row.label, row.week, "unanswered_late", String(row.unansweredLate))
        }
        for (name, value) in [("first_response_hours", report.sla.firstResponseHours), ("resolution_hours", report.sla.resolutionHours)] {
            add("durations", name, nil, "median", value.median.map { String(format: "%.2f", $0) } ?? "")
            add("durations", name, nil, "p90", value.p90.map { String(format: "%.2f", $0) } ?? "")
        }
        for row in report.sla.backlogByAge { add("backlog", row.label, nil, "open", String(row.count)) }
        for (index, count) in report.satisfaction.distribution.enumerated() { add("ratings", String(index + 1), nil, "count", String(count)) }
        add("satisfaction", "all", nil, "reopened", String(report.satisfaction.reopened))
        add("satisfaction", "all", nil, "resolved", String(report.satisfaction.resolved))
        for problem in report.recurring {
            add("recurring", "\(problem.category) at \(problem.place)", nil, "tickets", problem.tickets.map(String.init).joined(separator: " "))
        }
        for row in report.modelHealth {
            add("model_health", row.category, nil, "filed", String(row.filed))
            add("model_health", row.category, nil, "corrected", String(row.corrected))
            add("model_health", row.category, nil, "p1_lowered", String(row.p1Lowered))
            add("model_health", row.category, nil, "raised_to_p1", String(row.raisedToP1))
        }
        return lines.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    // MARK: Formatting

    static func dayFormatter(_ timeZone: TimeZone) -> (Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd"
        return { formatter.string(from: $0) }
    }

    static func share(_ value: Double?) -> String { value.map { String(format: "%.0f %%", $0 * 100) } ?? "–" }
    static func hours(_ value: Double?) -> String { value.map { String(format: "%.1f h", $0) } ?? "–" }
}
