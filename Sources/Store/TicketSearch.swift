import Foundation

/// Which tickets `searchTickets` finds: by number, or by when they were made,
/// their category and status. Unlike the staff queue, closed tickets are included.
public struct TicketSearch: Sendable, Equatable {
    /// These tickets only (in this order; unknown numbers are left out). When
    /// set, every other condition but `limit` is ignored.
    public var numbers: [Int]?
    /// Tickets made at or after this time.
    public var createdFrom: Date?
    /// Tickets made at or before this time.
    public var createdTo: Date?
    /// Any of these categories; empty means every category.
    public var categories: [String]
    /// Any of these statuses; empty means every status.
    public var statuses: [TicketStatus]
    /// At most this many tickets, the newest first.
    public var limit: Int

    public init(numbers: [Int]? = nil, createdFrom: Date? = nil, createdTo: Date? = nil, categories: [String] = [],
                statuses: [TicketStatus] = [], limit: Int = 1000) {
        self.numbers = numbers
        self.createdFrom = createdFrom
        self.createdTo = createdTo
        self.categories = categories
        self.statuses = statuses
        self.limit = limit
    }
}

/// A ticket as published to other systems: with its latest public note and,
/// when asked for, its resident.
public struct PublishedTicket: Sendable, Equatable {
    public var ticket: Ticket
    /// The newest public note (what the resident was last told), if any.
    public var latestPublicNote: Note?
    /// The resident who asked, when `searchTickets(_:withResidents:)` was asked for them.
    public var resident: Resident?
    /// The ticket's first photo not erased (read with the residents).
    public var firstPhotoID: Int64? = nil
}

extension TicketStore {
    /// Tickets matching `search` (see `TicketSearch`), with their latest
    /// public note; with their residents when `withResidents`.
    public func searchTickets(_ search: TicketSearch, withResidents: Bool = false) async throws -> [PublishedTicket] {
        guard search.limit > 0 else { return [] }
        return try await run(StoreOperation(.read) { session, _ in
            let tickets: [Ticket]
            if let numbers = search.numbers {
                tickets = try session.tickets(numbered: numbers, limit: search.limit)
            } else {
                tickets = try session.tickets(matching: search)
            }
            let notes = try session.latestPublicNotes(tickets: tickets)
            let residents = withResidents ? try session.residentsByID(tickets.compactMap(\.residentID)) : [:]
            let photos = withResidents ? try session.firstPhotos(tickets: tickets) : [:]
            return tickets.map { ticket in
                PublishedTicket(ticket: ticket, latestPublicNote: notes[ticket.id], resident: ticket.residentID.flatMap { residents[$0] },
                                firstPhotoID: photos[ticket.id])
            }
        })
    }
}

extension SQLSession {
    /// The first `limit` of `numbers` that exist, in that order, each once.
    fileprivate func tickets(numbered numbers: [Int], limit: Int) throws -> [Ticket] {
        let wanted = Array(numbers.prefix(limit))
        var found: [Int: Ticket] = [:]
        for chunk in chunks(Array(Set(wanted)).sorted()) {
            for row in try query("SELECT \(Ticket.columns) FROM tickets t WHERE t.number IN (\(placeholders(chunk.count)))",
                                 chunk.map(SQLValue.int)) {
                let ticket = try Ticket(row: row)
                found[ticket.number] = ticket
            }
        }
        var seen = Set<Int>()
        return wanted.compactMap { number in seen.insert(number).inserted ? found[number] : nil }
    }

    /// The tickets matching the search's dates, categories and statuses, newest first.
    fileprivate func tickets(matching search: TicketSearch) throws -> [Ticket] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let from = search.createdFrom { conditions.append("t.created_at >= ?"); binds.append(.date(from)) }
        if let to = search.createdTo { conditions.append("t.created_at <= ?"); binds.append(.date(to)) }
        if !search.categories.isEmpty {
            conditions.append("t.category IN (\(placeholders(search.categories.count)))")
            binds += search.categories.map(SQLValue.text)
        }
        if !search.statuses.isEmpty {
            conditions.append("t.status IN (\(placeholders(search.statuses.count)))")
            binds += search.statuses.map { .text($0.rawValue) }
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try query("SELECT \(Ticket.columns) FROM tickets t \(filter) ORDER BY t.created_at DESC, t.id DESC LIMIT ?",
                         binds + [.int(search.limit)]).map(Ticket.init(row:))
    }

    /// The newest public note of each ticket that has one, by ticket id.
    fileprivate func latestPublicNotes(tickets: [Ticket]) throws -> [Int64: Note] {
        let numbers = Dictionary(tickets.map { ($0.id, $0.number) }, uniquingKeysWith: { first, _ in first })
        var latest: [Int64: Note] = [:]
        for chunk in chunks(Array(numbers.keys).sorted()) {
            let rows = try query("""
                SELECT n.id, n.ticket_id, n.author, n.text, n.created_at FROM notes n
                WHERE n.visibility = 'public' AND n.ticket_id IN (\(placeholders(chunk.count)))
                AND n.id = (SELECT MAX(m.id) FROM notes m WHERE m.ticket_id = n.ticket_id AND m.visibility = 'public')
                """, chunk.map(SQLValue.integer))
            for row in rows {
                let ticketID = try row.required(row.int64("ticket_id"), "ticket_id")
                latest[ticketID] = Note(id: try row.required(row.int64("id"), "id"), ticketNumber: numbers[ticketID] ?? 0,
                                        author: row.string("author") ?? "", visibility: .public, text: row.string("text"),
                                        createdAt: try row.required(row.date("created_at"), "created_at"))
            }
        }
        return latest
    }

    /// The first stored photo (not erased, not still being fetched) of each ticket that has one, by ticket id.
    fileprivate func firstPhotos(tickets: [Ticket]) throws -> [Int64: Int64] {
        var first: [Int64: Int64] = [:]
        for chunk in chunks(tickets.map(\.id).sorted()) {
            for row in try query("""
                SELECT ticket_id, MIN(id) AS id FROM attachments
                WHERE data IS NOT NULL AND ticket_id IN (\(placeholders(chunk.count))) GROUP BY ticket_id
                """, chunk.map(SQLValue.integer)) {
                if let ticket = row.int64("ticket_id"), let id = row.int64("id") { first[ticket] = id }
            }
        }
        return first
    }

    /// The residents with these ids, by id.
    fileprivate func residentsByID(_ ids: [Int64]) throws -> [Int64: Resident] {
        var residents: [Int64: Resident] = [:]
        for chunk in chunks(Array(Set(ids)).sorted()) {
            for row in try query("SELECT * FROM residents WHERE id IN (\(placeholders(chunk.count)))", chunk.map(SQLValue.integer)) {
                let resident = try Resident(row: row)
                residents[resident.id] = resident
            }
        }
        return residents
    }
}

/// Binds per statement, well under both engines' limits.
private let searchChunk = 500

private func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

private func chunks<T>(_ values: [T]) -> [[T]] {
    stride(from: 0, to: values.count, by: searchChunk).map { Array(values[$0..<min($0 + searchChunk, values.count)]) }
}
