import DataPack
import Foundation

/// When the management office is staffed, in the community's time zone.
public struct OfficeHoursCalendar: Sendable {
    public let hours: [OfficeHours]
    public let timeZone: TimeZone

    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(community: Community) {
        hours = community.officeHours
        timeZone = TimeZone(identifier: community.timezone) ?? .current
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// Minutes since midnight of "HH:MM", nil when malformed.
    static func minutes(_ time: String) -> Int? {
        let parts = time.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, (0..<24).contains(parts[0]) || time == "24:00", (0..<60).contains(parts[1]) else { return nil }
        return parts[0] * 60 + parts[1]
    }

    /// The office hours on weekday `day` (`mon`…`sun`) as minute ranges.
    func ranges(on day: String) -> [Range<Int>] {
        hours.filter { $0.days.contains(day) }.compactMap { entry in
            guard let open = Self.minutes(entry.open), let close = Self.minutes(entry.close), open < close else { return nil }
            return open..<close
        }
    }

    /// True when the office is open at `date`.
    public func isOpen(at date: Date) -> Bool {
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        let day = Self.dayNames[(parts.weekday ?? 1) - 1]
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        return ranges(on: day).contains { $0.contains(minute) }
    }

    /// The next time the office opens after `date` (within a week), or nil.
    public func nextOpening(after date: Date) -> Date? {
        let startOfDay = calendar.startOfDay(for: date)
        for offset in 0...7 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: startOfDay) else { continue }
            let weekday = Self.dayNames[(calendar.component(.weekday, from: day)) - 1]
            for range in ranges(on: weekday).sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let opening = calendar.date(byAdding: .minute, value: range.lowerBound, to: day), opening > date {
                    return opening
                }
            }
        }
        return nil
    }

    /// "Mon–Fri 09:00–17:00, Sat 10:00–14:00" (or the Chinese form).
    public func summary(chinese: Bool) -> String {
        let english = ["mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"]
        let han = ["mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六", "sun": "周日"]
        let names = chinese ? han : english
        return hours.map { entry in
            let days = entry.days.count > 2
                ? "\(names[entry.days.first!] ?? "")–\(names[entry.days.last!] ?? "")"
                : entry.days.compactMap { names[$0] }.joined(separator: chinese ? "、" : ", ")
            return "\(days) \(entry.open)–\(entry.close)"
        }.joined(separator: chinese ? "，" : ", ")
    }

    /// "Mon 09:00" / "周一 09:00" in the community's time zone.
    public func describe(_ date: Date, chinese: Bool) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = timeZone
        formatter.locale = Locale(identifier: chinese ? "zh_CN" : "en_US_POSIX")
        formatter.dateFormat = chinese ? "EEEE HH:mm" : "EEE HH:mm"
        return formatter.string(from: date)
    }
}
