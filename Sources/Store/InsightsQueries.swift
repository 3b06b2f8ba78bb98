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
        return InsightsReport(
            since: since, until: until, weeks: (0..<max(1, weekCount)).map { origin.addingTimeInterval(Double($0) * 7 * 86_400) },
            ticketsByWeek: try ticketsByWeek(), byLanguage: try byResident("language", missing: "unknown"),
            byChannel: try byResident("channel", missing: "staff"), sla: try serviceLevels(), satisfaction: try satisfaction(),
            recurring: try recurring(), modelHealth: try modelHealth())
    }

    func weekDate(_ index: Int) -> Date { origin.addingTimeInterval(Double(index) * 7 * 86_400) }

    func ticketsByWeek() throws -> [WeeklyCount] {
        try session.query("""
            SELECT \(week) AS week, category, COUNT(*) AS n FROM tickets
            WHERE created_at >= ? AND created_at < ? AND \(Self.counted) GROUP BY \(week), category ORDER BY 1, category
            """, period).map { WeeklyCount(week: weekDate($0.int("week") ?? 0), label: $0.string("category") ?? "", count: $0.int("n") ?? 0) }
    }

    func byResident(_ column: String, missing: String) throws -> [LabelCount] {
        try session.query("""
            SELECT COALESCE(r.\(column), '\(missing)') AS label, COUNT(*) AS n FROM tickets t LEFT JOIN residents r ON r.id = t.resident_id
            WHERE t.created_at >= ? AND t.created_at < ? AND t.\(Self.counted) GROUP BY COALESCE(r.\(column), '\(missing)')
            ORDER BY 2 DESC, 1
            """, period).map { LabelCount(label: $0.string("label") ?? missing, count: $0.int("n") ?? 0) }
    }

    // MARK: Service levels

    func serviceLevels() throws -> ServiceLevels {
        let byPriority = try targets(groupedBy: "priority").map { row, counts in
            TargetCount(label: Priority(level: row.int("grouping") ?? 0)?.rawValue ?? "?", met: counts.0, breached: counts.1,
                        unansweredLate: counts.2)
        }
        let byWeek = try targets(groupedBy: week).map { row, counts in
            TargetCount(label: "week", week: weekDate(row.int("grouping") ?? 0), met: counts.0, breached: counts.1,
                        unansweredLate: counts.2)
        }
        return ServiceLevels(
            byPriority: byPriority, byWeek: byWeek,
            firstResponseHours: try percentiles("first_response_at - created_at", where: "first_response_at IS NOT NULL"),
            resolutionHours: try percentiles("COALESCE(resolved_at, closed_at) - created_at",
                                             where: "status IN ('resolved', 'closed') AND COALESCE(resolved_at, closed_at) IS NOT NULL"),
            backlogByAge: try backlog())
    }

    /// Met, breached and unanswered-late counts per `grouping` (an SQL expression over `tickets`).
    func targets(groupedBy grouping: String) throws -> [(SQLRow, (Int, Int, Int))] {
        let late = "first_response_at IS NULL AND sla_due_at < \(now.millisecondsSince1970)"
        return try session.query("""
            SELECT \(grouping) AS grouping,
                CAST(SUM(CASE WHEN first_response_at IS NOT NULL AND first_response_at <= sla_due_at THEN 1 ELSE 0 END) AS BIGINT) AS met,
                CAST(SUM(CASE WHEN first_response_at > sla_due_at OR (\(late)) THEN 1 ELSE 0 END) AS BIGINT) AS breached,
                CAST(SUM(CASE WHEN \(late) THEN 1 ELSE 0 END) AS BIGINT) AS late
            FROM tickets WHERE created_at >= ? AND created_at < ? AND sla_due_at IS NOT NULL AND \(Self.counted)
            GROUP BY \(grouping) ORDER BY 1
            """, period).map { ($0, ($0.int("met") ?? 0, $0.int("breached") ?? 0, $0.int("late") ?? 0)) }
    }

    /// The median and 90th percentile (nearest rank) of `duration` in hours, over the period's tickets matching `condition`.
    func percentiles(_ duration: String, where condition: String) throws -> Percentiles {
        let filter = "created_at >= ? AND created_at < ? AND \(Self.counted) AND \(condition)"
        let count = try session.scalarInt("SELECT COUNT(*) AS n FROM tickets WHERE \(filter)", period)
        func value(_ quantile: Double) throws -> Double? {
            guard count > 0 else { return nil }
            let rank = max(0, Int((quantile * Double(count)).rounded(.up)) - 1)
            return try session.queryOne("SELECT \(duration) AS d FROM tickets WHERE \(filter) ORDER BY 1 LIMIT 1 OFFSET ?",
                                        period + [.int(rank)])?.int64("d").map { Double($0) / 3_600_000 }
        }
        return Percentiles(count: count, median: try value(0.5), p90: try value(0.9))
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
        for row in try session.query("""
            SELECT rating, COUNT(*) AS n FROM tickets WHERE rating IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY rating
            """, period) {
            if let rating = row.int("rating"), (1...5).contains(rating) { distribution[rating - 1] = row.int("n") ?? 0 }
        }
        let ratings = distribution.reduce(0, +)
        let total = distribution.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        let byCategory = try session.query("""
            SELECT category, COUNT(*) AS n, CAST(SUM(rating) AS BIGINT) AS total FROM tickets
            WHERE rating IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY category ORDER BY 2 DESC, 1
            """, period).map { row in
            CategoryRating(category: row.string("category") ?? "", ratings: row.int("n") ?? 0,
                           meanRating: Double(row.int("total") ?? 0) / Double(max(1, row.int("n") ?? 0)))
        }
        return Satisfaction(ratings: ratings, meanRating: ratings == 0 ? nil : Double(total) / Double(ratings),
                            distribution: distribution, byCategory: byCategory,
                            resolved: try statusEvents("to_value = 'resolved'"),
                            reopened: try statusEvents("from_value = 'resolved' AND to_value = 'in_progress' AND actor = 'resident'"))
    }

    /// Tickets with a status change matching `condition` in the period.
    func statusEvents(_ condition: String) throws -> Int {
        try session.scalarInt("""
            SELECT COUNT(DISTINCT ticket_id) AS n FROM ticket_events
            WHERE kind = 'status' AND \(condition) AND created_at >= ? AND created_at < ?
            """, period)
    }

    // MARK: Recurring problems

    func recurring() throws -> [RecurringProblem] {
        let window: [SQLValue] = [.date(until.addingTimeInterval(-InsightsReport.recurrenceWindow)), .date(until)]
        let filter = "recurrence_key IS NOT NULL AND created_at >= ? AND created_at < ? AND \(Self.counted)"
        let groups = try session.query("""
            SELECT category, recurrence_key, COUNT(*) AS n FROM tickets WHERE \(filter)
            GROUP BY category, recurrence_key HAVING COUNT(*) >= \(InsightsReport.recurrenceMinimum) ORDER BY 3 DESC, 1, 2
            """, window)
        return try groups.map { group in
            let category = group.string("category") ?? "", place = group.string("recurrence_key") ?? ""
            let rows = try session.query("""
                SELECT number, created_at FROM tickets WHERE \(filter) AND category = ? AND recurrence_key = ? ORDER BY created_at, number
                """, window + [.text(category), .text(place)])
            let times = rows.compactMap { $0.date("created_at") }
            return RecurringProblem(category: category, place: place, tickets: rows.compactMap { $0.int("number") },
                                    daysBetween: zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) / 86_400 })
        }
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
