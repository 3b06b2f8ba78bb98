import Foundation
import Hummingbird
import Store
import Triage

/// The queue's filters, read from the query string (`?status=new&category=plumbing&priority=P1&assignee=ivy&mine=1`).
/// Unknown values are ignored rather than refused: the page is a view.
struct QueueFilters: Sendable {
    var status: TicketStatus?
    var category: String?
    var priority: Priority?
    var assignee: String?
    var unassigned: Bool
    var mine: Bool

    /// The filters from query parameters, looked up by `query`.
    init(query: (String) -> String?) {
        func value(_ name: String) -> String? {
            guard let raw = query(name)?.trimmingCharacters(in: .whitespaces), !raw.isEmpty, raw.count <= 200 else {
                return nil
            }
            return raw
        }
        status = value("status").flatMap(TicketStatus.init(parsing:))
        category = value("category")
        priority = value("priority").flatMap(Priority.init(parsing:))
        let who = value("assignee")
        unassigned = who == "-"
        assignee = unassigned ? nil : who
        mine = value("mine") == "1"
    }

    /// The store's filter for `me`: "mine" wins over a named assignee.
    func storeFilter(me: String) -> QueueFilter {
        QueueFilter(statuses: status.map { [$0] } ?? [], categories: category.map { [$0] } ?? [],
                    priorities: priority.map { [$0] } ?? [], assignee: mine ? me : assignee,
                    unassignedOnly: !mine && unassigned, limit: 200)
    }

    /// The same filters as a query string (for the refresh URL), percent-encoded.
    var queryString: String {
        var pairs: [(String, String)] = []
        if let status { pairs.append(("status", status.rawValue)) }
        if let category { pairs.append(("category", category)) }
        if let priority { pairs.append(("priority", priority.rawValue)) }
        if unassigned { pairs.append(("assignee", "-")) } else if let assignee { pairs.append(("assignee", assignee)) }
        if mine { pairs.append(("mine", "1")) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
    }
}

/// One ticket as a row of the queue.
struct QueueRow: Sendable {
    var number: Int
    var priority: String
    /// `p1`…`p4`, for the badge's colour.
    var priorityClass: String
    var sla: SLAView
    var category: String
    var status: String
    var location: String?
    var language: String?
    var confidence: String?
    var assignee: String?
    var age: String
    /// The resident said it was not fixed after staff resolved it.
    var reopened: Bool
    /// The resident sent photos.
    var hasPhotos: Bool
    /// The third or later of its kind at its place or unit in 90 days.
    var recurring: Bool
    var recurrenceCount: Int
    /// The start of the resident's words.
    var summary: String?

    init(_ ticket: Ticket, language: String?, catalog: StaffCatalog, format: StaffFormatting) {
        number = ticket.number
        priority = ticket.priority.rawValue
        priorityClass = ticket.priority.rawValue.lowercased()
        sla = format.sla(ticket)
        category = catalog.name(of: ticket.category)
        status = StaffFormatting.label(ticket.status)
        let place = [ticket.unit, ticket.location].compactMap { $0 }.filter { !$0.isEmpty }
        location = place.isEmpty ? nil : place.joined(separator: " · ")
        self.language = language
        confidence = StaffFormatting.percent(ticket.confidence)
        assignee = ticket.assignee
        age = format.age(ticket.createdAt)
        reopened = ticket.residentConfirmation == .notFixed && ticket.status.isOpen
        hasPhotos = ticket.photoCount > 0
        recurring = ticket.isRecurring
        recurrenceCount = ticket.recurrenceCount
        summary = ticket.description.map { $0.count > 90 ? String($0.prefix(90)) + "…" : $0 }
    }
}

/// The queue page (and the rows the page polls for).
struct QueuePage: Sendable {
    var title = "Queue"
    var staff: StaffHeader
    var rows: [QueueRow]
    var count: Int
    var statusOptions: [StaffOption]
    var categoryOptions: [StaffOption]
    var priorityOptions: [StaffOption]
    var assignee: String?
    var unassigned: Bool
    var mine: Bool
    /// The fragment URL the script polls, with the same filters.
    var rowsURL: String
    var updatedAt: String
    var zone: String

    /// `languages`: the residents' languages by resident id (`TicketStore.residentLanguages`).
    init(staff: StaffHeader, tickets: [Ticket], languages: [Int64: String], filters: QueueFilters, catalog: StaffCatalog,
         format: StaffFormatting) {
        self.staff = staff
        rows = tickets.map { QueueRow($0, language: $0.residentID.flatMap { languages[$0] }, catalog: catalog, format: format) }
        count = tickets.count
        statusOptions = [StaffOption(value: "", label: "open (any)", selected: filters.status == nil)]
            + TicketStatus.allCases.map { StaffOption(value: $0.rawValue, label: StaffFormatting.label($0), selected: $0 == filters.status) }
        categoryOptions = [StaffOption(value: "", label: "any", selected: filters.category == nil)]
            + catalog.options(selected: filters.category)
        priorityOptions = [StaffOption(value: "", label: "any", selected: filters.priority == nil)]
            + Priority.allCases.map { StaffOption(value: $0.rawValue, label: $0.rawValue, selected: $0 == filters.priority) }
        assignee = filters.assignee
        unassigned = filters.unassigned
        mine = filters.mine
        let query = filters.queryString
        rowsURL = "/staff/queue/rows" + (query.isEmpty ? "" : "?" + query)
        updatedAt = format.time(format.now)
        zone = format.zoneName
    }
}

/// The ticket's stored triage decision (`tickets.triage`), or nil when there
/// is none or it does not decode.
enum StoredTriage {
    static func decode(_ json: String?) -> TriageDecision? {
        guard let json else { return nil }
        return try? TriageDecision.decode(jsonLine: json)
    }
}
