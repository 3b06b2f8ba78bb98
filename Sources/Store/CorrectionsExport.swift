import Foundation

/// Turns staff corrections into a reviewable data-pack file
/// (`intents/corrections/staff-YYYYMMDD.yaml`, the schema the data pack
/// loader reads: `examples:` with `text`, `intent`, `priority`).
public enum CorrectionsExport {
    /// One example per ticket: the resident's text with the category and
    /// priority of the ticket's latest correction.
    public struct Example: Sendable, Equatable {
        public var ticketNumber: Int
        public var text: String
        public var intent: String
        public var priority: Priority
        /// What staff changed, for the comment above the example.
        public var changes: [String]
    }

    /// Groups corrections by ticket; corrections whose text was erased are skipped.
    public static func examples(from corrections: [Correction]) -> [Example] {
        var order: [Int] = []
        var byTicket: [Int: Example] = [:]
        for correction in corrections.sorted(by: { $0.id < $1.id }) {
            guard let text = correction.text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { continue }
            let change = "\(correction.field) \(correction.from) → \(correction.to) by \(correction.actor)"
            if var example = byTicket[correction.ticketNumber] {
                example.intent = correction.category
                example.priority = correction.priority
                example.text = text
                example.changes.append(change)
                byTicket[correction.ticketNumber] = example
            } else {
                order.append(correction.ticketNumber)
                byTicket[correction.ticketNumber] = Example(ticketNumber: correction.ticketNumber, text: text,
                                                            intent: correction.category, priority: correction.priority,
                                                            changes: [change])
            }
        }
        return order.compactMap { byTicket[$0] }
    }

    /// The YAML file for `examples`.
    public static func yaml(_ examples: [Example], exportedAt: Date) -> String {
        var out = """
            # Staff corrections exported by `concierge corrections export` on \(dayString(exportedAt, separator: "-")).
            # Each example is a resident's message with the category (intent) and
            # priority staff gave the ticket. Review, edit or delete entries, run
            # `concierge check`, then train. See intents/README.md.
            examples:

            """
        for example in examples {
            out += "  # ticket #\(example.ticketNumber): \(example.changes.joined(separator: "; ").replacingOccurrences(of: "\n", with: " "))\n"
            out += "  - text: \(quoted(example.text))\n"
            out += "    intent: \(quoted(example.intent))\n"
            out += "    priority: \(example.priority.rawValue)\n"
        }
        if examples.isEmpty { out = out.replacingOccurrences(of: "examples:\n", with: "examples: []\n") }
        return out
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0xFEFF || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func dayString(_ date: Date, separator: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(parts.year, 4) + separator + pad(parts.month, 2) + separator + pad(parts.day, 2)
    }

    /// `<intents>/corrections/staff-YYYYMMDD.yaml`, or `-2`, `-3`… when taken.
    public static func fileURL(intents: URL, date: Date) -> URL {
        let folder = intents.appendingPathComponent("corrections", isDirectory: true)
        let base = "staff-\(dayString(date, separator: ""))"
        var candidate = folder.appendingPathComponent("\(base).yaml")
        var suffix = 2
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = folder.appendingPathComponent("\(base)-\(suffix).yaml")
            suffix += 1
        }
        return candidate
    }
}
