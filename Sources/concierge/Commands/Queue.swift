import ArgumentParser
import Foundation
import Store

/// `concierge queue`: the staff work list.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List open tickets, most urgent first.",
        discussion: """
        Open tickets (new, triaged, in_progress, pending_resident) sorted by \
        priority, then age, with the time left before the response target \
        (SLA) or how long ago it was breached. Colours only when printing to a \
        terminal (set NO_COLOR to turn them off). --json prints the same list \
        for scripts. When the home's config.json sets retention_days, the \
        retention purge runs first.
        """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("status"), help: "Only this status (repeatable; e.g. new, in_progress, resolved).")
    var statuses: [String] = []

    @Option(name: .customLong("category"), help: "Only this category (repeatable).")
    var categories: [String] = []

    @Option(name: .customLong("priority"), help: "Only this priority, P1–P4 (repeatable).")
    var priorities: [String] = []

    @Option(help: "Only tickets assigned to this person.")
    var assignee: String?

    @Flag(help: "Only tickets nobody is assigned to.")
    var unassigned = false

    @Option(help: "Show at most this many tickets.")
    var limit: Int = 50

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if assignee != nil && unassigned { throw ValidationError("--assignee and --unassigned exclude each other") }
    }

    func filter() throws -> QueueFilter {
        let statusValues = try statuses.map { text in
            guard let status = TicketStatus(parsing: text) else {
                throw ValidationError("unknown status \"\(text)\" (\(TicketStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return status
        }
        let priorityValues = try priorities.map { text in
            guard let priority = Priority(parsing: text) else { throw ValidationError("unknown priority \"\(text)\" (P1, P2, P3 or P4)") }
            return priority
        }
        return QueueFilter(statuses: statusValues, categories: categories, priorities: priorityValues,
                           assignee: assignee, unassignedOnly: unassigned, limit: limit)
    }

    func run() async throws {
        let filter = try filter()
        let retention = try storeOptions.home.home.loadConfig().retentionDays
        let (tickets, purged) = try await withStore(storeOptions) { store in
            var purged: PurgeReport?
            if let retention {
                purged = try await store.purge(olderThanDays: retention, actor: "retention")
            }
            return (try await store.queue(filter), purged)
        }
        let now = Date()
        if json {
            print(try jsonText(tickets.map { QueueEntry($0, now: now) }))
            return
        }
        if let purged, purged.ticketsPurged + purged.messagesPurged > 0 {
            FileHandle.standardError.write(Data("retention: purged the text of \(purged.ticketsPurged) closed ticket(s) and \(purged.messagesPurged) message(s)\n".utf8))
        }
        if tickets.isEmpty {
            print("No tickets match.")
            return
        }
        let table = TextTable(columns: ["#", "P", "status", "category", "unit", "age", "SLA", "assignee", "description"])
        var styles: [Terminal.Style?] = []
        for ticket in tickets {
            let sla = ticket.sla(now: now)
            let category = ticket.isRecurring ? "\(ticket.category) ↻\(ticket.recurrenceCount)" : ticket.category
            table.add(["\(ticket.number)", ticket.priority.rawValue, ticket.status.rawValue, category, ticket.unit ?? "",
                       Terminal.duration(now.timeIntervalSince(ticket.createdAt)), Terminal.describe(sla), ticket.assignee ?? "—",
                       Terminal.truncate(ticket.description ?? "[purged]", width: 48)])
            switch sla {
            case .breached: styles.append(.red)
            case .due(let seconds) where seconds < 3600: styles.append(.yellow)
            default: styles.append(ticket.priority == .p1 ? .bold : nil)
            }
        }
        print(Terminal.style(table: table.render(), rowStyles: styles), terminator: "")
        if tickets.count == filter.limit { print("(the \(filter.limit) most urgent; --limit shows more)") }
    }
}

/// A queue line for `--json`.
struct QueueEntry: Codable {
    var number: Int
    var priority: String
    var status: String
    var category: String
    var unit: String?
    var assignee: String?
    var description: String?
    var createdAt: Date
    var slaDueAt: Date?
    /// `none`, `met`, `missed`, `due` or `breached`.
    var sla: String
    /// Seconds until due (negative: overdue); nil without a due time or once responded.
    var slaSecondsLeft: Int?
    /// How many times this problem came up at its place or unit in 90 days (itself included).
    var recurrenceCount: Int

    init(_ ticket: Ticket, now: Date) {
        recurrenceCount = ticket.recurrenceCount
        number = ticket.number
        priority = ticket.priority.rawValue
        status = ticket.status.rawValue
        category = ticket.category
        unit = ticket.unit
        assignee = ticket.assignee
        description = ticket.description
        createdAt = ticket.createdAt
        slaDueAt = ticket.slaDueAt
        switch ticket.sla(now: now) {
        case .none: sla = "none"
        case .met: sla = "met"
        case .missed: sla = "missed"
        case .due(let seconds): sla = "due"; slaSecondsLeft = Int(seconds)
        case .breached(let seconds): sla = "breached"; slaSecondsLeft = -Int(seconds)
        }
    }

    enum CodingKeys: String, CodingKey {
        case number, priority, status, category, unit, assignee, description
        case createdAt = "created_at", slaDueAt = "sla_due_at", sla, slaSecondsLeft = "sla_seconds_left"
        case recurrenceCount = "recurrence_count"
    }
}

/// JSON for scripts: sorted keys, ISO 8601 dates, no escaped slashes.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Terminal output helpers: colour only on a TTY, short durations.
enum Terminal {
    enum Style: String {
        case red = "\u{1B}[31m", yellow = "\u{1B}[33m", bold = "\u{1B}[1m", dim = "\u{1B}[2m"
    }

    /// Colour when stdout is a terminal and NO_COLOR is not set.
    static let colour: Bool = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func paint(_ text: String, _ style: Style) -> String {
        colour ? style.rawValue + text + "\u{1B}[0m" : text
    }

    /// Styles whole rows of a rendered `TextTable` (header and rule are the first two lines).
    static func style(table: String, rowStyles: [Style?]) -> String {
        guard colour else { return table }
        var lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (index, style) in rowStyles.enumerated() where index + 2 < lines.count {
            if let style { lines[index + 2] = paint(lines[index + 2], style) }
        }
        return lines.joined(separator: "\n")
    }

    /// `45s`, `12m`, `3h 05m`, `4d 2h`.
    static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(max(0, seconds))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m" }
        if total < 86_400 { return String(format: "%dh %02dm", total / 3600, (total % 3600) / 60) }
        return "\(total / 86_400)d \((total % 86_400) / 3600)h"
    }

    static func describe(_ sla: SLAState) -> String {
        switch sla {
        case .none: "—"
        case .met: "met"
        case .missed: "missed"
        case .due(let seconds): "\(duration(seconds)) left"
        case .breached(let seconds): "BREACHED \(duration(seconds))"
        }
    }

    /// At most `width` terminal columns, with `…` when cut; one line.
    static func truncate(_ text: String, width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        guard TextTable.displayWidth(flat) > width else { return flat }
        var result = ""
        for character in flat {
            if TextTable.displayWidth(result + String(character)) > width - 1 { break }
            result.append(character)
        }
        return result + "…"
    }

    static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter
    }()

    static func time(_ date: Date) -> String { timeFormatter.string(from: date) }
}
