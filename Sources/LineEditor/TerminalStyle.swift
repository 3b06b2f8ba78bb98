import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ANSI styling for terminal output that turns itself off when it should.
///
/// Colour is on only when the output is a terminal, `TERM` is not `dumb` and
/// `NO_COLOR` is not set to a non-empty value (https://no-color.org). When it
/// is off every styling function returns its text unchanged, so output piped
/// into a file or another program stays plain.
///
/// ```swift
/// let style = TerminalStyle.standardOutput
/// print(style.bold("Concierge") + " " + style.dim("type /help"))
/// ```
public struct TerminalStyle: Sendable {
    /// Whether styling functions add escape sequences.
    public let isEnabled: Bool

    /// A style that adds escape sequences when `isEnabled` is true and returns
    /// text unchanged otherwise.
    public init(isEnabled: Bool) {
        self.isEnabled = isEnabled
    }

    /// The style for standard output, decided once from `isatty(1)`, `TERM`
    /// and `NO_COLOR`.
    public static let standardOutput = TerminalStyle(
        isEnabled: colourIsAppropriate(fileDescriptor: STDOUT_FILENO, environment: ProcessInfo.processInfo.environment))

    /// The style for standard error, decided once from `isatty(2)`, `TERM`
    /// and `NO_COLOR`.
    public static let standardError = TerminalStyle(
        isEnabled: colourIsAppropriate(fileDescriptor: STDERR_FILENO, environment: ProcessInfo.processInfo.environment))

    /// A style that never adds escape sequences.
    public static let plain = TerminalStyle(isEnabled: false)

    /// Whether the file descriptor is a terminal (`isatty`).
    public static func isTerminal(_ fileDescriptor: Int32) -> Bool {
        isatty(fileDescriptor) == 1
    }

    /// Whether colour suits output to `fileDescriptor` given these environment
    /// variables: it is a terminal, `TERM` is not `dumb`, and `NO_COLOR` is
    /// absent or empty.
    public static func colourIsAppropriate(fileDescriptor: Int32, environment: [String: String]) -> Bool {
        guard isTerminal(fileDescriptor) else { return false }
        return colourIsAllowed(environment: environment)
    }

    /// The environment half of `colourIsAppropriate`: `TERM` is not `dumb`
    /// and `NO_COLOR` is absent or empty.
    static func colourIsAllowed(environment: [String: String]) -> Bool {
        if environment["TERM"] == "dumb" { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return true
    }

    /// Bold text.
    public func bold(_ text: String) -> String { styled(text, code: "1") }
    /// Dim (faint) text.
    public func dim(_ text: String) -> String { styled(text, code: "2") }
    /// Red text.
    public func red(_ text: String) -> String { styled(text, code: "31") }
    /// Green text.
    public func green(_ text: String) -> String { styled(text, code: "32") }
    /// Yellow text.
    public func yellow(_ text: String) -> String { styled(text, code: "33") }
    /// Cyan text.
    public func cyan(_ text: String) -> String { styled(text, code: "36") }

    private func styled(_ text: String, code: String) -> String {
        guard isEnabled, !text.isEmpty else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// The text with ANSI CSI sequences (`ESC [ … final`) and other
    /// two-byte `ESC x` sequences removed, to measure what a terminal shows.
    static func removingEscapeSequences(from text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        var result = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "\u{1B}" else {
                result.append(scalar)
                continue
            }
            guard let introducer = scalars.next() else { break }
            if introducer == "[" {
                // Parameters and intermediates run until a final byte in @…~.
                while let next = scalars.next() {
                    if (0x40...0x7E).contains(next.value) { break }
                }
            }
        }
        return String(result)
    }
}
