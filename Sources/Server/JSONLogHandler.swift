import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one JSON object per line (for log
/// collectors): `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
/// Wrap it in `MaskingLogHandler` (as `concierge serve` does) so phone
/// numbers and emails never reach the output.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: JSONLogOutput

    /// A handler writing to standard error.
    public init(label: String) {
        self.init(label: label, output: .standardError)
    }

    init(label: String, output: JSONLogOutput) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: Any] = [
            "time": Self.timestamp(),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if !merged.isEmpty { fields["metadata"] = merged.mapValues(Self.plain) }
        guard JSONSerialization.isValidJSONObject(fields),
              var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(UInt8(ascii: "\n"))
        output.write(line)
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        case .array(let array): array.map(plain)
        }
    }

    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func timestamp() -> String { timeStyle.format(Date()) }
}

/// Where JSON log lines go: standard error, or a collector in tests.
final class JSONLogOutput: Sendable {
    private let sink: @Sendable (Data) -> Void
    private let lock = Mutex(())

    init(_ sink: @escaping @Sendable (Data) -> Void) { self.sink = sink }

    static let standardError = JSONLogOutput { FileHandle.standardError.write($0) }

    /// Writes whole lines, one at a time, so lines from several threads never interleave.
    func write(_ line: Data) { lock.withLock { _ in sink(line) } }
}
