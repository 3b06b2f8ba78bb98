import Foundation
import Hummingbird
import Store

/// The arguments of `GET requests.json`, read and checked:
///
/// - `service_request_id`: comma-separated request ids; overrides every other argument;
/// - `service_code`: comma-separated service codes;
/// - `start_date`, `end_date`: ISO 8601; the range may span at most 90 days
///   and defaults to the 90 days before `end_date` (or after `start_date`, or before now);
/// - `status`: `open`, `closed` or both, comma-separated.
///
/// At most 1000 requests, the newest first.
struct Open311Query {
    static let maximumRequests = 1000
    static let maximumSpan: TimeInterval = 90 * 86_400

    var search: TicketSearch

    init(_ parameters: [String: String], services: Open311Services, clock: Open311Clock, now: Date,
         format: Open311Format) throws {
        func list(_ name: String) -> [String]? {
            guard let value = parameters[name] else { return nil }
            let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return items.isEmpty ? nil : items
        }
        if let ids = list("service_request_id") {
            guard ids.count <= Self.maximumRequests else {
                throw Open311Error.badRequest("service_request_id lists \(ids.count) ids; at most \(Self.maximumRequests) at once", format: format)
            }
            // An id that is not a number names no request: it is left out, as an unknown number is.
            search = TicketSearch(numbers: ids.compactMap { Int($0) }.filter { $0 > 0 }, limit: Self.maximumRequests)
            return
        }
        var categories: [String] = []
        for code in list("service_code") ?? [] {
            guard services.category(code) != nil else {
                throw Open311Error.badRequest("service_code \"\(code.prefix(80))\" is not a service here (services.json lists them)", format: format)
            }
            categories.append(code)
        }
        var statuses: [TicketStatus] = []
        for status in list("status") ?? [] {
            guard let matching = Open311RequestView.ticketStatuses(status.lowercased()) else {
                throw Open311Error.badRequest("status must be open, closed or both (comma-separated), not \"\(status.prefix(40))\"", format: format)
            }
            statuses += matching
        }
        func date(_ name: String) throws -> Date? {
            guard let text = parameters[name], !text.isEmpty else { return nil }
            guard let date = clock.date(text) else {
                throw Open311Error.badRequest("\(name) must be an ISO 8601 date-time such as 2026-01-31T09:00:00Z, not \"\(text.prefix(40))\"",
                                              format: format)
            }
            return date
        }
        let start = try date("start_date")
        let end = try date("end_date")
        let range: (from: Date, to: Date)
        switch (start, end) {
        case let (start?, end?): range = (start, end)
        case let (start?, nil): range = (start, start.addingTimeInterval(Self.maximumSpan))
        case let (nil, end?): range = (end.addingTimeInterval(-Self.maximumSpan), end)
        case (nil, nil): range = (now.addingTimeInterval(-Self.maximumSpan), now)
        }
        let (from, to) = range
        guard from <= to else { throw Open311Error.badRequest("start_date is after end_date", format: format) }
        guard to.timeIntervalSince(from) <= Self.maximumSpan else {
            throw Open311Error.badRequest("start_date to end_date spans more than 90 days; ask for 90 days at a time", format: format)
        }
        search = TicketSearch(createdFrom: from, createdTo: to, categories: categories, statuses: Array(Set(statuses)).sorted { $0.rawValue < $1.rawValue },
                              limit: Self.maximumRequests)
    }
}

extension Request {
    /// The query string's parameters, decoded as a form (`+` is a space,
    /// `%XX` a byte). A repeated name's values are joined with commas, as
    /// GeoReport lists are written. Throws 400 for a broken escape.
    func open311Parameters() throws -> [String: String] {
        guard let query = uri.query, !query.isEmpty else { return [:] }
        return Self.joinedParameters(try FormBody.parse(Array(query.utf8)))
    }

    /// Name/value pairs as a dictionary, repeated names' values joined with commas.
    static func joinedParameters(_ pairs: [(name: String, value: String)]) -> [String: String] {
        var parameters: [String: String] = [:]
        for (name, value) in pairs {
            parameters[name] = parameters[name].map { $0 + "," + value } ?? value
        }
        return parameters
    }
}
