import Foundation
import Logging

/// Masks personal contact details — phone numbers and email addresses — in
/// text bound for logs. Staff screens show the real text; logs never do.
public enum PrivacyMask {
    private static let email = try! NSRegularExpression(
        pattern: "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}")
    /// A run of digits with the usual separators, optionally after `+`.
    private static let phone = try! NSRegularExpression(
        pattern: "\\+?\\(?\\d[\\d ().-]{5,}\\d")
    private static let isoDate = try! NSRegularExpression(pattern: "^\\d{4}-\\d{2}-\\d{2}$")

    /// `text` with every email address replaced by `[email]` and every phone
    /// number (7 to 15 digits, with spaces, dashes, dots or brackets) by
    /// `[phone …NN]` (its last two digits). Dates (`2026-11-23`) are left alone.
    public static func mask(_ text: String) -> String {
        guard text.contains(where: { $0.isNumber || $0 == "@" }) else { return text }
        var result = text as NSString
        for match in email.matches(in: result as String, range: NSRange(location: 0, length: result.length)).reversed() {
            result = result.replacingCharacters(in: match.range, with: "[email]") as NSString
        }
        for match in phone.matches(in: result as String, range: NSRange(location: 0, length: result.length)).reversed() {
            let candidate = result.substring(with: match.range)
            let digits = candidate.filter(\.isASCII).filter(\.isNumber)
            guard (7...15).contains(digits.count),
                  isoDate.firstMatch(in: candidate, range: NSRange(location: 0, length: (candidate as NSString).length)) == nil
            else { continue }
            result = result.replacingCharacters(in: match.range, with: "[phone …\(digits.suffix(2))]") as NSString
        }
        return result as String
    }
}

/// Text bound for a line-oriented log.
public enum LogText {
    /// `text` with every control character escaped (`\n` → `\\n`, other
    /// controls and line separators as `\u{…}`), so a value a client sent
    /// (a Slack user id with a newline in it) cannot start a forged log line.
    public static func escapingControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case _ where needsEscape(scalar): out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}

/// A swift-log handler that masks phone numbers and emails (`PrivacyMask`)
/// in every message and metadata value before passing it on.
///
/// Metadata is kept as given and masked only when an event is actually
/// logged: a server sets a request id on every request, and masking it each
/// time (a regular expression) cost more than the request's own logging.
public struct MaskingLogHandler: LogHandler {
    private var wrapped: any LogHandler

    /// Wraps `handler`; everything it receives is masked first.
    public init(wrapping handler: any LogHandler) { wrapped = handler }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    /// This handler's metadata, unmasked until logged (the wrapped handler keeps none of its own).
    public var metadata: Logger.Metadata = [:]

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: clean(event.message.description))
        let merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        event.metadata = merged.isEmpty ? nil : merged.mapValues(clean)
        wrapped.log(event: event)
    }

    private func clean(_ text: String) -> String { PrivacyMask.mask(text) }

    private func clean(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(clean(text))
        case .stringConvertible(let convertible): .string(clean(convertible.description))
        case .dictionary(let dictionary): .dictionary(dictionary.mapValues(clean))
        case .array(let array): .array(array.map(clean))
        }
    }
}
