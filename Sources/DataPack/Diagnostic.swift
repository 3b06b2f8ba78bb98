/// A problem found in the data pack, with the place it was found.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible, Error {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var location: SourceLocation?
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation?, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `file:line:column: error: message`, the form editors and terminals link.
    public var description: String {
        if let location { "\(location): \(severity.rawValue): \(message)" } else { "\(severity.rawValue): \(message)" }
    }
}

/// Loading failed: the pack has errors (every one is listed).
public struct DataPackError: Error, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String {
        let errors = diagnostics.filter { $0.severity == .error }
        return "the data pack has \(errors.count) error(s):\n" + errors.map(\.description).joined(separator: "\n")
    }
}
