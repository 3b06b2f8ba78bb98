import AssistantTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// A real Open311 client against the real binary: `georeport` from PyPI,
/// driven by `Tests/Open311Client/georeport_client_test.py`, against
/// `concierge serve` with keys made by `concierge apikey add`.
///
/// The Python comes from `CONCIERGE_TEST_PYTHON`, else the virtual
/// environment `.ci/run` makes (`.build/georeport-venv`), else `python3`. A
/// missing Python or package FAILS the test, saying how to install it.
@Suite(.serialized) struct Open311ClientTests {
    static var python: String {
        if let chosen = ProcessInfo.processInfo.environment["CONCIERGE_TEST_PYTHON"], !chosen.isEmpty { return chosen }
        let venv = packageRoot.appendingPathComponent(".build/georeport-venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    @Test func georeportReadsFilesAndSearchesRequests() async throws {
        _ = await CommunityFixture.preparedTriager()
        let home = try CommunityFixture.homeWithModel()
        defer { home.remove() }
        let homeArguments = ["--home", home.url.path]
        let publicKey = try await Self.addKey(["apikey", "add", "city-311"] + homeArguments)
        let fullKey = try await Self.addKey(["apikey", "add", "works-dept", "--full"] + homeArguments)

        let server = try ServeProcess(home: home.url)
        defer { server.terminate() }
        let port = try await server.waitUntilReady()

        let script = packageRoot.appendingPathComponent("Tests/Open311Client/georeport_client_test.py").path
        let python = Self.python
        let result = try await onOwnThread {
            // A key may begin with "-": passed as "--flag=value" so argparse
            // never reads it as an option.
            try runProcess("/usr/bin/env", [python, script, "--base=http://127.0.0.1:\(port)/open311/v2",
                                            "--public-key=\(publicKey)", "--full-key=\(fullKey)"])
        }
        #expect(result.status != 127, "no Python at \"\(python)\": install python3, or run bash .ci/run")
        #expect(result.status != 2, "the script's arguments were refused: \(result.output)")
        #expect(result.status != 3, "georeport is missing: \(result.output)")
        #expect(result.status == 0, "the georeport client test failed:\n\(result.output)")
        let summary = result.output.firstMatch(of: /georeport client: (\d+) checks passed, (\d+) failed/)
        #expect(summary.map { Int($0.1)! > 20 && Int($0.2)! == 0 } == true, "\(result.output)")
        #expect(try await server.stop() == 0, "the server stopped cleanly on SIGTERM")
    }

    /// Runs `concierge apikey add …` and returns the key it printed.
    static func addKey(_ arguments: [String]) async throws -> String {
        let result = try await onOwnThread { try runConcierge(arguments) }
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(result.stdout.split(separator: "\n").last.map(String.init), "\(result.stdout)")
    }
}

/// Runs a program to the end; its standard output and error together.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
