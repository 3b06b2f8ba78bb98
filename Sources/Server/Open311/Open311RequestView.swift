import DataPack
import Dialogue
import Foundation
import Store

/// Who is reading the Open311 API: anyone (no key, or a `public` key), or
/// the holder of a `full` key.
enum Open311Audience: Sendable, Equatable {
    case everyone
    case fullAccess

    init(key: APIKey?) { self = key?.scope == .full ? .fullAccess : .everyone }
}

/// A ticket as a GeoReport service request.
///
/// Everyone sees: the number, open or closed, the latest public note (contact
/// details masked), the service, the times (requested, updated, expected
/// from the SLA) and the address when it is a common area. A `full` key also sees the resident's
/// own words (`description`), the unit, the priority, the safety rule, the
/// response target, and who asked (`resident_name`, `resident_channel`,
/// `resident_contact`: an email, a phone number or a chat id) and `media_url`,
/// the first photo's link on the staff page (signed-in staff only).
struct Open311RequestView {
    let services: Open311Services
    let audience: Open311Audience
    /// The server's public address (`public_url`), for `media_url`; without
    /// it, a path on this server.
    var publicURL: String? = nil

    var pack: DataPack { services.pack }

    /// The GeoReport statuses: a ticket staff still work on is `open`; one
    /// resolved, closed, merged into another or rejected is `closed`.
    static func status(_ status: TicketStatus) -> String {
        switch status {
        case .new, .triaged, .inProgress, .pendingResident: "open"
        case .resolved, .closed, .duplicate, .rejected: "closed"
        }
    }

    /// The ticket statuses a GeoReport status stands for.
    static func ticketStatuses(_ status: String) -> [TicketStatus]? {
        switch status {
        case "open": TicketStatus.allCases.filter { Self.status($0) == "open" }
        case "closed": TicketStatus.allCases.filter { Self.status($0) == "closed" }
        default: nil
        }
    }

    func document(_ tickets: [PublishedTicket]) -> Open311Document {
        Open311Document(root: "service_requests", body: .list(item: "request", tickets.map(request)))
    }

    func request(_ published: PublishedTicket) -> Open311Value {
        let ticket = published.ticket
        let full = audience == .fullAccess
        let clock = Open311Clock(timeZoneIdentifier: pack.community.timezone)
        let closed = Self.status(ticket.status) == "closed"
        var fields = [
            Open311Field("service_request_id", .string(String(ticket.number))),
            Open311Field("status", .string(Self.status(ticket.status))),
            Open311Field("status_notes", .text(statusNotes(published))),
            Open311Field("service_name", .string(services.name(of: ticket.category))),
            Open311Field("service_code", .string(ticket.category)),
            Open311Field("description", .text(full ? ticket.description : nil)),
            Open311Field("agency_responsible", .text(pack.community.name[.en])),
            Open311Field("service_notice", .text(full ? responseTarget(ticket.priority) : nil)),
            Open311Field("requested_datetime", .string(clock.string(ticket.createdAt))),
            Open311Field("updated_datetime", .string(clock.string(closed ? (ticket.closedAt ?? ticket.updatedAt) : ticket.updatedAt))),
            Open311Field("expected_datetime", .text(ticket.slaDueAt.map(clock.string))),
            Open311Field("address", .string(address(ticket))),
            Open311Field("address_id", .null),
            Open311Field("zipcode", .text(Self.postalCode(in: pack.community.address))),
            Open311Field("lat", .null),
            Open311Field("long", .null),
            Open311Field("media_url", .text(full ? mediaURL(published) : nil)),
        ]
        if full {
            let resident = published.resident
            fields += [
                Open311Field("priority", .string(ticket.priority.rawValue)),
                Open311Field("safety_rule", .text(ticket.safetyRule)),
                Open311Field("unit", .text(ticket.unit)),
                Open311Field("access_notes", .text(ticket.accessNotes)),
                Open311Field("resident_name", .text(resident?.displayName)),
                Open311Field("resident_channel", .text(resident?.channel)),
                Open311Field("resident_contact", .text(resident?.forgottenAt == nil ? resident?.externalID : nil)),
            ]
        }
        return .object(fields)
    }

    /// A `full` key's link to the ticket's first photo: the staff page's
    /// address for it, which serves it only to a signed-in staff session.
    func mediaURL(_ published: PublishedTicket) -> String? {
        published.firstPhotoID.map { (publicURL ?? "") + "/staff/tickets/\(published.ticket.number)/attachments/\($0)" }
    }

    /// What the resident was last told (the latest public note; for
    /// everyone with phone numbers and emails masked), or for a merged
    /// ticket without one, which request it duplicates.
    func statusNotes(_ published: PublishedTicket) -> String? {
        if let text = published.latestPublicNote?.text { return audience == .fullAccess ? text : PrivacyMask.mask(text) }
        if published.ticket.status == .duplicate, let original = published.ticket.duplicateOf {
            return "Duplicate of request \(original)."
        }
        return nil
    }

    /// The community's response target for a priority, in English.
    func responseTarget(_ priority: Priority) -> String? {
        Priority(rawValue: priority.rawValue).flatMap { pack.community.responseTargets[$0]?.text[.en] }
    }

    /// Most specific first: the place (a common area for everyone; with a
    /// `full` key any place and the unit), then the community's address.
    func address(_ ticket: Ticket) -> String {
        var parts: [String] = []
        if let location = ticket.location?.trimmingCharacters(in: .whitespacesAndNewlines), !location.isEmpty,
           audience == .fullAccess || Self.isCommonArea(location) {
            parts.append(location)
        }
        if audience == .fullAccess, let unit = ticket.unit, !parts.contains(where: { $0.localizedCaseInsensitiveContains(unit) }) {
            parts.append("unit \(unit)")
        }
        parts.append(pack.community.address)
        return parts.joined(separator: ", ")
    }

    /// True when `location` names shared areas only (the lobby, floor 3's
    /// hallway), never a unit or a room in one: those point at a resident.
    static func isCommonArea(_ location: String) -> Bool {
        let places = TextCues.places(in: location)
        return !places.isEmpty && places.allSatisfy(\.isCommonArea) && TextCues.unit(in: location) == nil
    }

    /// The postal code at the end of an address (`V5N 0A1`, `94122`), if it has one.
    static func postalCode(in address: String) -> String? {
        let patterns = [#"[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]"#, #"\b[0-9]{5}(?:-[0-9]{4})?\b"#]
        for pattern in patterns {
            if let range = address.range(of: pattern, options: [.regularExpression, .backwards]) { return String(address[range]) }
        }
        return nil
    }
}

/// Date-times as GeoReport v2 writes them: ISO 8601 with the offset from
/// UTC, in the community's time zone (`2026-01-05T09:15:00-08:00`).
struct Open311Clock {
    let timeZone: TimeZone

    init(timeZoneIdentifier: String) {
        timeZone = TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(secondsFromGMT: 0)!
    }

    func string(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = timeZone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return String(format: "%04d", parts.year ?? 0) + "-\(two(parts.month))-\(two(parts.day))T\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
            + "\(sign)\(two(minutes / 60)):\(two(minutes % 60))"
    }

    /// Parses a GeoReport date-time: ISO 8601 with `Z` or an offset, with or
    /// without fractional seconds, or a plain date (midnight in the
    /// community's time zone). Nil when it is none of these.
    func date(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) { return date }
        }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withFullDate]
        plain.timeZone = timeZone
        return trimmed.count == 10 ? plain.date(from: trimmed) : nil
    }
}
