import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// The real `concierge serve` on a free loopback port (REST on, token
/// `t0ken`), its log (standard error) collected.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let output = Pipe()
    private let errors = Pipe()
    private let logLock = NSLock()
    private var logData = Data()
    private let logDrained = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - arguments: more options for `serve` (`--log-format json`).
    ///   - environment: more environment variables (`CONCIERGE_LOG_LEVEL`).
    init(home: URL, arguments: [String] = [], environment extra: [String: String] = [:]) throws {
        process.executableURL = try conciergeExecutable()
        process.arguments = ["serve", "--home", home.path, "--channel", "rest", "--port", "0"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CONCIERGE_REST_TOKEN"] = "t0ken"
        environment["CONCIERGE_PACKAGE_DIR"] = packageRoot.path
        environment.removeValue(forKey: "CONCIERGE_STORE")
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain the log so a full pipe never blocks the server, and keep it.
        let log = errors.fileHandleForReading
        Thread { [self] in
            let data = log.readDataToEndOfFile()
            logLock.withLock { logData = data }
            logDrained.signal()
        }.start()
    }

    /// Everything the server wrote to standard error; complete once `stop()` returned.
    var log: String { logLock.withLock { String(decoding: logData, as: UTF8.self) } }

    /// The port from "Concierge listening on http://127.0.0.1:PORT", once `/readyz` says ready.
    func waitUntilReady() async throws -> Int {
        let reader = output.fileHandleForReading
        let printed = try await onOwnThread {
            var printed = ""
            while !printed.contains("\n") {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                printed += String(decoding: chunk, as: UTF8.self)
            }
            return printed
        }
        guard let port = printed.firstMatch(of: /127\.0\.0\.1:(\d+)/).flatMap({ Int($0.1) }) else {
            throw HTTPTestClient.Failure(description: "concierge serve did not say where it listens: \(printed)")
        }
        for _ in 0..<600 {
            if (try? await HTTPTestClient.get(port: port, path: "/readyz").status) == 200 { return port }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HTTPTestClient.Failure(description: "concierge serve did not become ready")
    }

    /// Sends SIGTERM if it still runs, without waiting.
    func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }

    /// Sends SIGTERM and waits (on a thread of its own) for the exit status.
    func stop() async throws -> Int32 {
        terminate()
        let process = process
        let drained = logDrained
        return try await onOwnThread {
            process.waitUntilExit()
            drained.wait()
            return process.terminationStatus
        }
    }
}

