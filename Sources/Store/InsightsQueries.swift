import Foundation

extension TicketStore {
    /// The insights for tickets created in `since ..< until` (one read
    /// transaction), with weeks starting at `weekStart` (a week start on or
    /// before `since`, in the community's time zone: ``InsightsReport/weekStart(onOrBefore:timeZone:)``).
    /// The backlog and "unanswered past the target" are as of the store's clock.
    public func insights(since: Date, until: Date, weekStart: Date) async throws -> InsightsReport {
        guard since < until else { throw StoreError.invalidInput("the period's start must come before its end") }
        guard weekStart <= since else { throw StoreError.invalidInput("the first week must start on or before the period") }
        return try await run(StoreOperation(.read) { session, context in
            try InsightsQuery(session: session, since: since, until: until, origin: weekStart, now: context.now).report()
        })
    }
}

extension InsightsReport {
    /// Monday 00:00 in `timeZone` on or before `date`.
    public static func weekStart(onOrBefore date: Date, timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Date {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        return calendar.dateInterval(of: .weekOfYear, for: date)?.start ?? calendar.startOfDay(for: date)
    }

    /// The labels of ``ServiceLevels/backlogByAge``, youngest first, with their upper bounds.
    static let backlogBuckets: [(label: String, below: TimeInterval)] = [
        ("under 1 day", 86_400), ("1–3 days", 3 * 86_400), ("3–7 days", 7 * 86_400), ("1–4 weeks", 28 * 86_400),
        ("over 4 weeks", .infinity),
    ]
}

/// The report's queries over one session. Durations are milliseconds in SQL and hours in the report.
private struct InsightsQuery {
    let session: SQLSession
    let since: Date
    let until: Date
    let origin: Date
    let now: Date

    static let weekMilliseconds: Int64 = 7 * 86_400_000
    /// Requests that stand for themselves: merged duplicates and rejected ones are not counted.
    static let counted = "status NOT IN ('duplicate', 'rejected')"

    var period: [SQLValue] { [.date(since), .date(until)] }
    var week: String { "CAST((created_at - \(origin.millisecondsSince1970)) / \(Self.weekMilliseconds) AS BIGINT)" }

    func report() throws -> InsightsReport {
        let weekCount = Int((until.timeIntervalSince(origin) / (7 * 86_400)).rounded(.up))
        let volume = try volume()
        let residents = try byResident()
        let (recurring, recurringTotal) = try recurring()
        return InsightsReport(
            since: since, until: until, weeks: (0..<max(1, weekCount)).map(weekDate),
            ticketsByWeek: volume.byWeekAndCategory, byLanguage: residents.language, byChannel: residents.channel,
            sla: ServiceLevels(byPriority: volume.targetsByPriority, byWeek: volume.targetsByWeek,
                               firstResponseHours: try percentiles("first_response_at - created_at", where: "first_response_at IS NOT NULL"),
                               resolutionHours: try percentiles("COALESCE(resolved_at, closed_at) - created_at",
                                                                where: "status IN ('resolved', 'closed') AND COALESCE(resolved_at, closed_at) IS NOT NULL"),
                               backlogByAge: try backlog()),
            satisfaction: try satisfaction(), recurring: recurring, recurringTotal: recurringTotal, modelHealth: try modelHealth())
    }

    func weekDate(_ index: Int) -> Date { origin.addingTimeInterval(Double(index) * 7 * 86_400) }

    /// The period's tickets counted once, by week, category and priority, with
    /// their response targets met, breached and unanswered past due; the
    /// report's volume and service-level figures are sums of these rows.
    func volume() throws -> (byWeekAndCategory: [WeeklyCount], targetsByPriority: [TargetCount], targetsByWeek: [TargetCount]) {
        let late = "first_response_at IS NULL AND sla_due_at < \(now.millisecondsSince1970)"
        let rows = try session.query("""
            SELECT \(week) AS week, category, priority, COUNT(*) AS n,
                CAST(SUM(CASE WHEN first_response_at IS NOT NULL AND first_response_at <= sla_due_at THEN 1 ELSE 0 END) AS BIGINT) AS met,
                CAST(SUM(CASE WHEN first_response_at > sla_due_at OR (\(late)) THEN 1 ELSE 0 END) AS BIGINT) AS breached,
                CAST(SUM(CASE WHEN \(late) THEN 1 ELSE 0 END) AS BIGINT) AS late
            FROM tickets WHERE created_at >= ? AND created_at < ? AND \(Self.counted) GROUP BY 1, category, priority ORDER BY 1, category, priority
            """, period)
        var counts: [Int: [String: Int]] = [:]
        var byPriority: [Int: TargetCount] = [:], byWeek: [Int: TargetCount] = [:]
        for row in rows {
            let week = row.int("week") ?? 0, priority = row.int("priority") ?? 0
            counts[week, default: [:]][row.string("category") ?? "", default: 0] += row.int("n") ?? 0
            let (met, breached, late) = (row.int("met") ?? 0, row.int("breached") ?? 0, row.int("late") ?? 0)
            byPriority[priority, default: TargetCount(label: Priority(level: priority)?.rawValue ?? "?", met: 0, breached: 0, unansweredLate: 0)]
                .add(met: met, breached: breached, late: late)
            byWeek[week, default: TargetCount(label: "week", week: weekDate(week), met: 0, breached: 0, unansweredLate: 0)]
                .add(met: met, breached: breached, late: late)
        }
        let weekly = counts.keys.sorted().flatMap { week in
            counts[week, default: [:]].sorted { $0.key < $1.key }.map { WeeklyCount(week: weekDate(week), label: $0.key, count: $0.value) }
        }
        let decided = { (row: TargetCount) in row.met + row.breached > 0 }
        return (weekly, byPriority.keys.sorted().compactMap { byPriority[$0] }.filter(decided), byWeek.keys.sorted().compactMap { byWeek[$0] })
    }

    /// Tickets per language of the resident and per channel, from one count per (language, channel).
    func byResident() throws -> (language: [LabelCount], channel: [LabelCount]) {
        var language: [String: Int] = [:], channel: [String: Int] = [:]
        for row in try session.query("""
            SELECT COALESCE(r.language, 'unknown') AS language, COALESCE(r.channel, 'staff') AS channel, COUNT(*) AS n
            FROM tickets t LEFT JOIN residents r ON r.id = t.resident_id
            WHERE t.created_at >= ? AND t.created_at < ? AND t.\(Self.counted) GROUP BY 1, 2
            """, period) {
            language[row.string("language") ?? "unknown", default: 0] += row.int("n") ?? 0
            channel[row.string("channel") ?? "staff", default: 0] += row.int("n") ?? 0
        }
        func sorted(_ counts: [String: Int]) -> [LabelCount] {
            counts.map { LabelCount(label: $0.key, count: $0.value) }.sorted { ($0.count, $1.label) > ($1.count, $0.label) }
        }
        return (sorted(language), sorted(channel))
    }

    /// The median and 90th percentile (nearest rank) of `duration` in hours,
    /// over the period's tickets matching `condition`: one sort, ranks picked by a window.
    func percentiles(_ duration: String, where condition: String) throws -> Percentiles {
        let rows = try session.query("""
            SELECT d, rn, n FROM (
                SELECT \(duration) AS d, ROW_NUMBER() OVER (ORDER BY \(duration)) AS rn, COUNT(*) OVER () AS n
                FROM tickets WHERE created_at >= ? AND created_at < ? AND \(Self.counted) AND \(condition)) ranked
            WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 90 + 99) / 100 ORDER BY rn
            """, period)
        let count = rows.first?.int("n") ?? 0
        func hours(_ quantile: Int) -> Double? {
            let rank = (count * quantile + 99) / 100
            return rows.first { $0.int("rn") == rank }?.int64("d").map { Double($0) / 3_600_000 }
        }
        return Percentiles(count: count, median: hours(50), p90: hours(90))
    }

    /// Tickets open now, by age.
    func backlog() throws -> [LabelCount] {
        let buckets = InsightsReport.backlogBuckets
        let cases = buckets.enumerated().dropLast().map { index, bucket in
            "WHEN \(now.millisecondsSince1970) - created_at < \(Int64(bucket.below * 1_000)) THEN \(index)"
        }.joined(separator: " ")
        let open = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        var counts = [Int](repeating: 0, count: buckets.count)
        for row in try session.query("""
            SELECT CASE \(cases) ELSE \(buckets.count - 1) END AS bucket, COUNT(*) AS n FROM tickets
            WHERE status IN (\(open)) GROUP BY 1
            """, []) {
            if let bucket = row.int("bucket"), counts.indices.contains(bucket) { counts[bucket] = row.int("n") ?? 0 }
        }
        return zip(buckets, counts).map { LabelCount(label: $0.label, count: $1) }
    }
}

extension InsightsQuery {
    // MARK: Satisfaction

    func satisfaction() throws -> Satisfaction {
        var distribution = [Int](repeating: 0, count: 5)
        var byCategory: [String: (ratings: Int, total: Int)] = [:]
        for row in try session.query("""
            SELECT category, rating, COUNT(*) AS n FROM tickets
            WHERE rating IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY category, rating
            """, period) {
            guard let rating = row.int("rating"), (1...5).contains(rating) else { continue }
            let n = row.int("n") ?? 0
            distribution[rating - 1] += n
            byCategory[row.string("category") ?? "", default: (0, 0)].ratings += n
            byCategory[row.string("category") ?? "", default: (0, 0)].total += n * rating
        }
        let ratings = distribution.reduce(0, +)
        let total = distribution.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        let events = try session.queryOne("""
            SELECT COUNT(DISTINCT CASE WHEN to_value = 'resolved' THEN ticket_id END) AS resolved,
                COUNT(DISTINCT CASE WHEN from_value = 'resolved' AND to_value = 'in_progress' AND actor = 'resident' THEN ticket_id END) AS reopened
            FROM ticket_events WHERE kind = 'status' AND created_at >= ? AND created_at < ?
            """, period)
        return Satisfaction(ratings: ratings, meanRating: ratings == 0 ? nil : Double(total) / Double(ratings), distribution: distribution,
                            byCategory: byCategory.map { CategoryRating(category: $0.key, ratings: $0.value.ratings,
                                                                        meanRating: Double($0.value.total) / Double($0.value.ratings)) }
                                .sorted { ($0.ratings, $1.category) > ($1.ratings, $0.category) },
                            resolved: events?.int("resolved") ?? 0, reopened: events?.int("reopened") ?? 0)
    }

    // MARK: Recurring problems

    /// The most frequent recurring problems (at most ``InsightsReport/recurringShown``) with their tickets, and how many there are in all.
    func recurring() throws -> ([RecurringProblem], Int) {
        let window: [SQLValue] = [.date(until.addingTimeInterval(-InsightsReport.recurrenceWindow)), .date(until)]
        let filter = "recurrence_key IS NOT NULL AND created_at >= ? AND created_at < ? AND \(Self.counted)"
        let groups = try session.query("""
            SELECT category, recurrence_key, COUNT(*) AS n FROM tickets WHERE \(filter)
            GROUP BY category, recurrence_key HAVING COUNT(*) >= \(InsightsReport.recurrenceMinimum) ORDER BY 3 DESC, 1, 2
            """, window)
        let shown = groups.prefix(InsightsReport.recurringShown).map { ($0.string("category") ?? "", $0.string("recurrence_key") ?? "") }
        guard !shown.isEmpty else { return ([], 0) }
        let pairs = Array(repeating: "(category = ? AND recurrence_key = ?)", count: shown.count).joined(separator: " OR ")
        var tickets: [String: [(number: Int, at: Date)]] = [:]
        for row in try session.query("""
            SELECT category, recurrence_key, number, created_at FROM tickets WHERE \(filter) AND (\(pairs)) ORDER BY created_at, number
            """, window + shown.flatMap { [SQLValue.text($0.0), .text($0.1)] }) {
            guard let number = row.int("number"), let at = row.date("created_at") else { continue }
            tickets["\(row.string("category") ?? "")\u{1}\(row.string("recurrence_key") ?? "")", default: []].append((number, at))
        }
        let problems = shown.map { category, place in
            let found = tickets["\(category)\u{1}\(place)"] ?? []
            return RecurringProblem(category: category, place: place, tickets: found.map(\.number),
                                    daysBetween: zip(found.dropFirst(), found).map { $0.at.timeIntervalSince($1.at) / 86_400 })
        }
        return (problems, groups.count)
    }

    // MARK: Model health

    /// Per category as the assistant filed it (the first category correction's
    /// `from`, else the category): filed, corrected, P1 lowered or raised, clarified.
    func modelHealth() throws -> [CategoryHealth] {
        func any(_ condition: String) -> String {
            "CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM corrections c WHERE c.ticket_id = t.id\(condition)) THEN 1 ELSE 0 END) AS BIGINT)"
        }
        let filedAs = "COALESCE(fc.from_value, t.category)"
        return try session.query("""
            SELECT \(filedAs) AS filed_as, COUNT(*) AS filed, \(any("")) AS corrected,
                \(any(" AND c.field = 'priority' AND c.from_value = 'P1' AND c.to_value <> 'P1'")) AS p1_lowered,
                \(any(" AND c.field = 'priority' AND c.to_value = 'P1'")) AS raised_to_p1,
                CAST(SUM(CASE WHEN t.clarified THEN 1 ELSE 0 END) AS BIGINT) AS clarified,
                CAST(SUM(CASE WHEN t.clarified IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS clarify_recorded
            FROM tickets t
            LEFT JOIN corrections fc ON fc.id = (SELECT MIN(c.id) FROM corrections c WHERE c.ticket_id = t.id AND c.field = 'category')
            WHERE t.model_version IS NOT NULL AND t.created_at >= ? AND t.created_at < ?
            GROUP BY \(filedAs) ORDER BY 2 DESC, 1
            """, period).map { row in
            CategoryHealth(category: row.string("filed_as") ?? "", filed: row.int("filed") ?? 0, corrected: row.int("corrected") ?? 0,
                           p1Lowered: row.int("p1_lowered") ?? 0, raisedToP1: row.int("raised_to_p1") ?? 0,
                           clarified: row.int("clarified") ?? 0, clarifyRecorded: row.int("clarify_recorded") ?? 0)
        }
    }
}
