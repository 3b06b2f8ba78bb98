import Foundation

/// What a building manager reads on Monday morning: how many requests, how
/// fast they were answered against their targets, how residents rated the
/// service, what keeps breaking, and how often staff corrected the
/// assistant. Every figure is an SQL aggregate over the store (the same
/// queries on SQLite and PostgreSQL); see ``TicketStore/insights(since:until:weekStart:)``.
public struct InsightsReport: Sendable, Equatable, Codable {
    /// The period: tickets created in `since ..< until`.
    public var since: Date
    public var until: Date
    /// The start of each week in the period (the first may begin before `since`).
    public var weeks: [Date]
    /// Tickets created per week and category.
    public var ticketsByWeek: [WeeklyCount]
    /// Tickets per language of the resident (`unknown` when not known) and per channel (`staff` for tickets filed by staff).
    public var byLanguage: [LabelCount]
    public var byChannel: [LabelCount]
    public var sla: ServiceLevels
    public var satisfaction: Satisfaction
    /// The same category at the same unit or shared place at least
    /// ``InsightsReport/recurrenceMinimum`` times in the ``InsightsReport/recurrenceWindow`` before `until`, most frequent first.
    public var recurring: [RecurringProblem]
    /// How many recurring problems there are in all (``recurring`` lists the most frequent ``InsightsReport/recurringShown``).
    public var recurringTotal: Int
    public var modelHealth: [CategoryHealth]

    /// A problem recurs when it comes back this many times…
    public static let recurrenceMinimum = 3
    /// …within this long.
    public static let recurrenceWindow: TimeInterval = 90 * 86_400
    /// The most recurring problems listed.
    public static let recurringShown = 50
}

/// A count for one week and one label (a category).
public struct WeeklyCount: Sendable, Equatable, Codable {
    public var week: Date
    public var label: String
    public var count: Int
}

/// A count for one label.
public struct LabelCount: Sendable, Equatable, Codable {
    public var label: String
    public var count: Int
}

/// First answers against the priority's target (`sla_due_at`), and how long things take.
public struct ServiceLevels: Sendable, Equatable, Codable {
    /// Per priority: answered in time, late, and still unanswered past the target.
    public var byPriority: [TargetCount]
    /// Per week of creation, all priorities together.
    public var byWeek: [TargetCount]
    /// Hours from creation to the first response (answered tickets), and to resolution (resolved or closed ones).
    public var firstResponseHours: Percentiles
    public var resolutionHours: Percentiles
    /// Open tickets (at `until`'s end of the store: now) by age.
    public var backlogByAge: [LabelCount]
}

/// How many tickets met their response target, for a priority (`label`) or a week (`week`).
public struct TargetCount: Sendable, Equatable, Codable {
    public var label: String
    /// The week's start, for a week's row.
    public var week: Date?
    public var met: Int
    public var breached: Int
    /// Breached among them: unanswered and past the target.
    public var unansweredLate: Int

    mutating func add(met: Int, breached: Int, late: Int) {
        self.met += met
        self.breached += breached
        unansweredLate += late
    }

    /// The share answered within the target, of those whose target is decided; nil when none is.
    public var metShare: Double? { met + breached == 0 ? nil : Double(met) / Double(met + breached) }

    public init(label: String, week: Date? = nil, met: Int, breached: Int, unansweredLate: Int) {
        self.label = label
        self.week = week
        self.met = met
        self.breached = breached
        self.unansweredLate = unansweredLate
    }
}

/// The median and 90th percentile of a duration, and how many it is of.
public struct Percentiles: Sendable, Equatable, Codable {
    public var count: Int
    public var median: Double?
    public var p90: Double?
}

/// Residents' answers to "is it fixed?" and "how did we do?".
public struct Satisfaction: Sendable, Equatable, Codable {
    public var ratings: Int
    public var meanRating: Double?
    /// How many gave 1, 2, 3, 4, 5 (always five entries).
    public var distribution: [Int]
    public var byCategory: [CategoryRating]
    /// Tickets resolved in the period, and how many of them a resident reopened ("not fixed").
    public var resolved: Int
    public var reopened: Int
}

public struct CategoryRating: Sendable, Equatable, Codable {
    public var category: String
    public var ratings: Int
    public var meanRating: Double
}

/// One recurring problem: its tickets (numbers, oldest first) and the days between them.
public struct RecurringProblem: Sendable, Equatable, Codable {
    public var category: String
    /// `building 2 · elevator`, `lobby`, or `unit 4B`.
    public var place: String
    public var tickets: [Int]
    public var daysBetween: [Double]
}

/// The live counterpart of `concierge evaluate` for one category (as the assistant filed it).
public struct CategoryHealth: Sendable, Equatable, Codable {
    public var category: String
    /// Tickets the assistant filed in the period.
    public var filed: Int
    /// Of them, how many staff re-labelled (category or priority).
    public var corrected: Int
    /// P1 tickets staff lowered (false alarms), and tickets staff raised to P1 (misses).
    public var p1Lowered: Int
    public var raisedToP1: Int
    /// Of those filed, how many needed a clarifying question first (of those recorded).
    public var clarified: Int
    public var clarifyRecorded: Int
}

/// A report's period from days as people type them (`2026-12-07`), read in
/// the community's time zone: from the start of the first day to the end of
/// the last (both included); ``until`` is the start of the day after.
public struct InsightsPeriod: Sendable, Equatable {
    public var since: Date
    public var until: Date

    /// Without days, the period is the 90 days up to and including today.
    public static let defaultDays = 90

    /// `since` and `until` are the first and last days; throws
    /// `StoreError.invalidInput` for a day that is not `YYYY-MM-DD` or a
    /// period that ends before it starts.
    public init(since: String?, until: String?, timeZone: TimeZone, now: Date) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        func parse(_ text: String?, _ name: String) throws -> Date? {
            guard let text, !text.isEmpty else { return nil }
            guard let day = Self.day(text, in: timeZone) else { throw StoreError.invalidInput("\(name) must be a date like 2026-12-07") }
            return day
        }
        let lastDay = try parse(until, "until") ?? calendar.startOfDay(for: now)
        self.until = calendar.date(byAdding: .day, value: 1, to: lastDay) ?? lastDay
        self.since = try parse(since, "since") ?? calendar.date(byAdding: .day, value: -Self.defaultDays, to: self.until) ?? self.until
        guard self.since < self.until else { throw StoreError.invalidInput("the period must start before it ends") }
    }

    /// The start of day `text` (`YYYY-MM-DD`) in `timeZone`, or nil.
    public static func day(_ text: String, in timeZone: TimeZone) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = DateComponents(year: parts[0], month: parts[1], day: parts[2])
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
