import Foundation
import Testing
import TestSupport
import Triage

/// The real `concierge chat` binary in a real terminal (tmux): typing with
/// line editing, reading the screen, filing a ticket, and the same through a
/// pipe. The home gets a copy of the test model, so nothing retrains.
@Suite(.serialized) struct ChatTerminalTests {
    /// A home folder holding the fixture's trained model.
    static func homeWithModel() throws -> TemporaryDirectory {
        let home = try TemporaryDirectory()
        let model = CommunityFixture.model
        let target = home.url.appendingPathComponent("models").appendingPathComponent(model.directory.url.lastPathComponent)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: model.directory.url, to: target)
        return home
    }

    struct Tmux {
        let socket = "concierge-test-\(UUID().uuidString.prefix(8))"

        /// Runs a tmux client command; returns what it printed. (`new-session`
        /// starts the tmux server, which would hold a pipe open for ever: its
        /// output goes to /dev/null.)
        @discardableResult
        func run(_ arguments: [String], output: Bool = true) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["tmux", "-L", socket] + arguments
            let out = Pipe()
            process.standardOutput = output ? out : FileHandle.nullDevice
            process.standardError = output ? out : FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = output ? out.fileHandleForReading.readDataToEndOfFile() : Data()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        func screen() throws -> String { try run(["capture-pane", "-p", "-J", "-S", "-200", "-t", "chat"]) }

        /// Waits until the screen contains `text` (the model loads in a few seconds).
        func waitFor(_ text: String, timeout: TimeInterval = 120) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            var last = ""
            while Date() < deadline {
                last = try screen()
                if last.contains(text) { return last }
                Thread.sleep(forTimeInterval: 0.2)
            }
            Issue.record("timed out waiting for \"\(text)\"; screen:\n\(last)")
            return last
        }

        func type(_ text: String) throws { try run(["send-keys", "-t", "chat", "-l", text]) }
        func key(_ name: String) throws { try run(["send-keys", "-t", "chat", name]) }
    }

    static func tmuxAvailable() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "-V"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test func residentReportsALeakInARealTerminal() throws {
        try #require(Self.tmuxAvailable(), "tmux is needed for this test: apt-get install tmux (.ci/run installs it)")
        let home = try Self.homeWithModel()
        defer { home.remove() }
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"], output: false) }
        let command = [try conciergeExecutable().path, "chat", "--home", home.url.path, "--resident", "ana", "--unit", "4B"]
            .map { "'\($0)'" }.joined(separator: " ")
        try tmux.run(["new-session", "-d", "-s", "chat", "-x", "160", "-y", "50",
                      "env CONCIERGE_PACKAGE_DIR='\(packageRoot.path)' TERM=xterm-256color \(command); sleep 5"], output: false)
        _ = try tmux.waitFor("ana@4B>")

        // A typo fixed with the arrow keys: the line editor works in the real binary.
        try tmux.type("my kitchen sink is leakng")
        try tmux.key("Left"); try tmux.key("Left")
        try tmux.type("i")
        try tmux.key("End")
        try tmux.key("Enter")
        let asked = try tmux.waitFor("May maintenance enter")
        #expect(asked.contains("my kitchen sink is leaking"))
        #expect(asked.lowercased().contains("plumbing"))
        try tmux.type("yes"); try tmux.key("Enter")
        _ = try tmux.waitFor("good time")
        try tmux.type("weekday evenings"); try tmux.key("Enter")
        _ = try tmux.waitFor("Shall I file it?")
        try tmux.type("yes"); try tmux.key("Enter")
        let filed = try tmux.waitFor("is filed")
        #expect(filed.contains("ticket #1"))

        // History: the up arrow brings back the last line.
        try tmux.key("Up")
        let recalled = try tmux.waitFor("ana@4B> yes")
        #expect(recalled.contains("ana@4B> yes"))
        try tmux.key("C-u")
        try tmux.key("C-d")
        _ = try tmux.waitFor("Bye.")

        // Staff see it in the queue.
        let queue = try runConcierge(["queue", "--home", home.url.path])
        #expect(queue.status == 0)
        #expect(queue.stdout.contains("plumbing"))
    }

    @Test func pipedInputPrintsPlainReplies() throws {
        let home = try Self.homeWithModel()
        defer { home.remove() }
        let result = try runConcierge(["chat", "--home", home.url.path, "--resident", "bo"],
                                      input: "when is the pool open?\n楼道的灯坏了\n")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "got \(lines)")
        #expect(!result.stdout.contains("\u{1b}["), "no escape codes when piped")
        #expect(!result.stdout.contains("bo>"), "no prompt when piped")
        #expect(lines.last?.contains("照明") == true || lines.last?.contains("位置") == true || lines.last?.contains("哪里") == true,
                "a Chinese reply to a Chinese message: \(lines.last ?? "")")
    }

    @Test func triageCommandPrintsOneDecisionPerLine() throws {
        let home = try Self.homeWithModel()
        defer { home.remove() }
        let input = "my sink leaks\n{\"text\": \"楼道灯坏了\"}\n{\"txt\": 1}\n\nI smell gas in the lobby\n"
        let result = try runConcierge(["triage", "--home", home.url.path], input: input)
        #expect(result.status == 1, "a malformed line makes the exit status 1")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "got \(lines)")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == 4)
        #expect(objects[0]["category"] as? String == "plumbing")
        #expect(objects[1]["language"] as? String == "zh")
        #expect(objects[2]["line"] as? Int == 3)
        #expect(objects[2]["error"] != nil)
        #expect(objects[3]["priority"] as? String == "P1")
        #expect((objects[3]["explanation"] as? [String: Any])?["intentWords"] != nil)
        #expect(try ticketCount(home: home) == 0, "triage files no tickets")
    }

    /// The number of tickets in the home's store, through the CLI.
    func ticketCount(home: TemporaryDirectory) throws -> Int? {
        let info = try runConcierge(["store", "info", "--home", home.url.path, "--json"])
        let object = try? JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        return object?["tickets"] as? Int
    }
}
