/// How urgent a service request is, the same four levels everywhere: in the
/// data pack's examples, the triage's decision, the conversation, the ticket
/// store, the staff page and Open311. `P1` is the most urgent; ordering is by
/// urgency (`.p1 < .p2`). Written and stored as `P1`…`P4` (its raw value);
/// the ticket store's column holds the level (1…4) so that ordering by the
/// column orders by urgency.
///
/// What each level means is the pack's rubric (`intents/README.md`).
public enum Priority: String, CaseIterable, Codable, Sendable, Comparable, CustomStringConvertible {
    case p1 = "P1", p2 = "P2", p3 = "P3", p4 = "P4"

    /// 1 for `P1` … 4 for `P4`.
    public var level: Int {
        switch self {
        case .p1: 1
        case .p2: 2
        case .p3: 3
        case .p4: 4
        }
    }

    /// The priority of a level (1…4), nil outside that range.
    public init?(level: Int) {
        switch level {
        case 1: self = .p1
        case 2: self = .p2
        case 3: self = .p3
        case 4: self = .p4
        default: return nil
        }
    }

    /// Parses `P1`…`P4` (case-insensitive, surrounding spaces ignored) or `1`…`4`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace().uppercased()
        if let value = Priority(rawValue: trimmed) { self = value; return }
        if let level = Int(trimmed), let value = Priority(level: level) { self = value; return }
        return nil
    }

    /// `P1`…`P4`, as residents and staff read it.
    public var description: String { rawValue }

    /// More urgent first: `P1` < `P2`.
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.level < rhs.level }
}

extension String {
    /// Without leading and trailing spaces and tabs (no Foundation here).
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
