import Foundation
import Store

/// Times, durations and labels as the staff page prints them, in the
/// community's time zone (UTC until the data pack is loaded).
struct StaffFormatting: Sendable {
    /// A byte count for people: "820 B", "14 KB", "2.3 MB".
    static func size(_ bytes: Int) -> String {
        if bytes < 1_000 { return "\(bytes) B" }
        if bytes < 1_000_000 { return "\(bytes / 1_000) KB" }
        return String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    let now: Date
    let timeZone: TimeZone

    init(now: Date, timeZoneIdentifier: String?) {
        self.now = now
        timeZone = timeZoneIdentifier.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
    }

    /// `2026-11-23 09:41`.
    func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0)
    }

    /// The zone's abbreviation (`PST`), for a page footer.
    var zoneName: String { timeZone.abbreviation(for: now) ?? timeZone.identifier }

    /// `45 min`, `3 h 5 min`, `2 d 4 h`.
    static func duration(_ seconds: TimeInterval) -> String {
        let minutes = max(0, Int((seconds / 60).rounded(.down)))
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 48 { return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min" }
        return hours % 24 == 0 ? "\(hours / 24) d" : "\(hours / 24) d \(hours % 24) h"
    }

    /// How long ago: `12 min ago`.
    func age(_ date: Date) -> String { Self.duration(now.timeIntervalSince(date)) + " ago" }

    /// The SLA in words and whether it is breached (shown in red).
    func sla(_ ticket: Ticket) -> SLAView {
        switch ticket.sla(now: now) {
        case .none: SLAView(text: "no target", breached: false, urgent: false)
        case .met: SLAView(text: "responded in time", breached: false, urgent: false)
        case .missed: SLAView(text: "responded late", breached: false, urgent: false)
        case .due(let seconds): SLAView(text: Self.duration(seconds) + " left", breached: false, urgent: seconds < 3600)
        case .breached(let seconds): SLAView(text: "breached " + Self.duration(seconds) + " ago", breached: true, urgent: false)
        }
    }

    /// `87 %`.
    static func percent(_ value: Double?) -> String? {
        guard let value, value.isFinite else { return nil }
        return "\(Int((value * 100).rounded())) %"
    }

    /// `in_progress` → `in progress`.
    static func label(_ status: TicketStatus) -> String { status.rawValue.replacingOccurrences(of: "_", with: " ") }
}

/// A ticket's SLA as a badge.
struct SLAView: Sendable {
    var text: String
    /// Overdue with no response yet: red.
    var breached: Bool
    /// Less than an hour left.
    var urgent: Bool
}
