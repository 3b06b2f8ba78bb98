import Foundation
import Logging
import Store
import Synchronization
import Testing
@testable import Server

/// A value a client sent never forges a log line: text logs escape control
/// characters, JSON logs keep each event on one line.
@Suite struct LogLineTests {
    final class Capture: Sendable {
        let lines = Mutex<[String]>([])
        var output: LogOutput { LogOutput { data in self.lines.withLock { $0.append(String(decoding: data, as: UTF8.self)) } } }
        var text: String { lines.withLock { $0.joined() } }
    }

    static let hostile = "U1\n2026-12-07T08:45:23+0000 error concierge.server: FORGED-LINE\r\u{2028}\u{1B}[31m"

    @Test func theTextFormatEscapesControlCharacters() {
        let capture = Capture()
        let logger = Logger(label: "concierge.server") { label in
            MaskingLogHandler(wrapping: LineLogHandler(label: label, format: .text, output: capture.output))
        }
        logger.error("internal failure \(Self.hostile)", metadata: ["error": "\(Self.hostile)", "nested": ["user": "\(Self.hostile)"]])
        let written = capture.text
        #expect(written.filter { $0 == "\n" }.count == 1 && written.hasSuffix("\n"), "one line: \(written)")
        #expect(!written.contains("\r") && !written.contains("\u{1B}") && !written.contains("\u{2028}"))
        #expect(written.contains("U1\\n2026-12-07T08:45:23+0000 error concierge.server: FORGED-LINE\\r\\u{2028}\\u{1b}[31m"))
        #expect(written.contains(" error concierge.server: internal failure U1\\n"))
    }

    @Test func theJSONFormatKeepsOneEventPerLineAndTheValueIntact() throws {
        let capture = Capture()
        let logger = Logger(label: "concierge.server") { label in
            MaskingLogHandler(wrapping: LineLogHandler(label: label, format: .json, output: capture.output))
        }
        logger.error("internal failure", metadata: ["error": "\(Self.hostile)"])
        let written = capture.text
        #expect(written.filter { $0 == "\n" }.count == 1 && written.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])
        #expect((object["metadata"] as? [String: Any])?["error"] as? String == Self.hostile)
    }

    @Test func plainTextIsLeftAlone() {
        #expect(LogText.escapingControlCharacters("厨房 漏水, unit 4B \\ ok") == "厨房 漏水, unit 4B \\ ok")
    }
}
