import AssistantTestSupport
import Foundation
import Testing
import TestSupport

/// The staff page in a real browser: runs Tests/Browser/staff_browser_test.py
/// (headless Chromium through Selenium) against the real `concierge serve`
/// on a home holding the trained model. Missing Chromium, chromedriver,
/// Selenium or Python fails this test; it never skips (`.ci/run` installs them).
/// Screenshots: .build/test-artifacts/staff-browser/.
@Suite struct StaffBrowserTests {
    @Test func theStaffPageWorksInHeadlessChromium() async throws {
        _ = await CommunityFixture.preparedTriager()
        let home = try CommunityFixture.homeWithModel()
        defer { home.remove() }
        let artifacts = packageRoot.appendingPathComponent(".build/test-artifacts/staff-browser")
        try? FileManager.default.removeItem(at: artifacts)
        let arguments = ["python3", packageRoot.appendingPathComponent("Tests/Browser/staff_browser_test.py").path,
                         "--concierge", try conciergeExecutable().path, "--home", home.url.path,
                         "--package-dir", packageRoot.path, "--artifacts", artifacts.path]
        let result = try await onOwnThread { try Self.run(arguments) }
        #expect(result.status == 0, "the browser test failed:\n\(result.output)")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output)")
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: artifacts.path)) ?? []
        #expect(screenshots.filter { $0.hasSuffix(".png") }.count >= 9, "screenshots saved: \(screenshots)")
    }

    /// Runs `/usr/bin/env arguments…`, stdout and stderr together; blocks the calling thread.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
