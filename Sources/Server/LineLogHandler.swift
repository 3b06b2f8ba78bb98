import Foundation
import Logging
import Store
import Synchronization

/// A swift-log handler writing one line per event, in one of two formats:
///
/// - `text`, as swift-log's `StreamLogHandler` writes it
///   (`2026-12-07T08:45:23Z info concierge.server: request channel=rest status=200`),
///   except that every control character in the message and the metadata is
///   escaped (`LogText`): a value a client sent (a Slack user id holding a
///   newline, say) can never start a line of its own and pass for one the
///   server wrote;
/// - `json`, one object per line for log collectors:
///   `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}` (JSON
///   escapes control characters itself).
///
/// Wrap it in `MaskingLogHandler` (as `concierge serve` does) so phone
/// numbers and emails never reach the output.
public struct LineLogHandler: LogHandler {
    public enum Format: Sendable { case text, json }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format
    private let output: LogOutput

    /// A handler writing to standard error.
    public init(label: String, format: Format) {
        self.init(label: label, format: format, output: .standardError)
    }

    init(label: String, format: Format, output: LogOutput) {
        self.label = label
        self.format = format
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line: Data? = switch format {
        case .text: Data(textLine(event, merged).utf8)
        case .json: jsonLine(event, merged)
        }
        if var line {
            line.append(UInt8(ascii: "\n"))
            output.write(line)
        }
    }

    private func textLine(_ event: LogEvent, _ merged: Logger.Metadata) -> String {
        let fields = merged.sorted { $0.key < $1.key }.map { "\(LogText.escapingControlCharacters($0.key))=\(Self.text($0.value))" }
        return ([Self.textTime.format(Date()), event.level.rawValue, label + ":",
                 LogText.escapingControlCharacters(event.message.description)] + fields).joined(separator: " ")
    }

    private func jsonLine(_ event: LogEvent, _ merged: Logger.Metadata) -> Data? {
        var fields: [String: Any] = [
            "time": Self.jsonTime.format(Date()), "level": event.level.rawValue, "label": label, "message": event.message.description,
        ]
        if !merged.isEmpty { fields["metadata"] = merged.mapValues(Self.plain) }
        guard JSONSerialization.isValidJSONObject(fields) else { return nil }
        return try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): LogText.escapingControlCharacters(text)
        case .stringConvertible(let convertible): LogText.escapingControlCharacters(convertible.description)
        case .dictionary(let dictionary):
            "[" + dictionary.sorted { $0.key < $1.key }
                .map { "\(LogText.escapingControlCharacters($0.key)): \(text($0.value))" }.joined(separator: ", ") + "]"
        case .array(let array): "[" + array.map(text).joined(separator: ", ") + "]"
        }
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        case .array(let array): array.map(plain)
        }
    }

    private static let textTime = Date.ISO8601FormatStyle(timeZone: .gmt)
    private static let jsonTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

/// Where log lines go: standard error, or a collector in tests.
final class LogOutput: Sendable {
    private let sink: @Sendable (Data) -> Void
    private let lock = Mutex(())

    init(_ sink: @escaping @Sendable (Data) -> Void) { self.sink = sink }

    static let standardError = LogOutput { FileHandle.standardError.write($0) }

    /// Writes whole lines, one at a time, so lines from several threads never interleave.
    func write(_ line: Data) { lock.withLock { _ in sink(line) } }
}
