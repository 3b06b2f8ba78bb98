import AssistantTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
import Triage

/// The real `concierge chat` binary in a real terminal (a pseudo-terminal):
/// typing with line editing, reading what it draws, filing a ticket; and the
/// same through a pipe. The home gets a copy of the test model, so nothing retrains.
@Suite(.serialized) struct ChatTerminalTests {
    static func homeWithModel() throws -> TemporaryDirectory { try CommunityFixture.homeWithModel() }

    /// The real binary on a pseudo-terminal (`openpty` + `posix_spawn`): the
    /// test types into the master side and reads what the program draws.
    final class TerminalSession: @unchecked Sendable {
        let master: Int32
        let pid: pid_t
        private let lock = NSLock()
        private var output = [UInt8]()

        init(arguments: [String], environment: [String: String]) throws {
            var master: Int32 = -1
            var slave: Int32 = -1
            var size = winsize(ws_row: 50, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0)
            guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw SpawnFailed(reason: "openpty failed") }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            for target in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { posix_spawn_file_actions_adddup2(&actions, slave, target) }
            posix_spawn_file_actions_addclose(&actions, master)
            let argv = arguments.map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { (argv + envp).forEach { free($0) } }
            var child: pid_t = 0
            let status = posix_spawn(&child, arguments[0], &actions, nil, argv, envp)
            close(slave)
            guard status == 0 else { close(master); throw SpawnFailed(reason: "posix_spawn failed: \(status)") }
            self.master = master
            pid = child
            let descriptor = master
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count <= 0 { return }
                    lock.withLock { output.append(contentsOf: buffer[0..<count]) }
                }
            }
        }

        struct SpawnFailed: Error { var reason: String }

        /// Everything the program wrote, escape sequences removed.
        var screen: String {
            let text = lock.withLock { String(decoding: output, as: UTF8.self) }
            return text.replacingOccurrences(of: "\u{1b}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
        }

        /// Waits until the output contains `text` after `offset` characters; returns the new offset.
        @discardableResult
        func waitFor(_ text: String, after offset: Int = 0, timeout: TimeInterval = 120) -> Int {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let current = screen
                let tail = String(current.dropFirst(offset))
                if let range = tail.range(of: text) { return offset + tail.distance(from: tail.startIndex, to: range.upperBound) }
                Thread.sleep(forTimeInterval: 0.1)
            }
            Issue.record("timed out waiting for \"\(text)\"; output:\n\(String(screen.suffix(2000)))")
            return offset
        }

        func type(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            Thread.sleep(forTimeInterval: 0.05)
        }

        /// Waits for the program to exit; its exit status, or nil on timeout (then it is killed).
        func exitStatus(timeout: TimeInterval = 30) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            var status: Int32 = 0
            while Date() < deadline {
                if waitpid(pid, &status, WNOHANG) == pid { return (status >> 8) & 0xFF }
                Thread.sleep(forTimeInterval: 0.1)
            }
            kill(pid, SIGKILL)
            return nil
        }

        deinit { close(master) }
    }

    static let left = "\u{1b}[D", end = "\u{1b}[F", up = "\u{1b}[A", enter = "\r", ctrlU = "\u{15}", ctrlD = "\u{04}"

    @Test func residentReportsALeakInARealTerminal() throws {
        let home = try Self.homeWithModel()
        defer { home.remove() }
        let terminal = try TerminalSession(
            arguments: [try conciergeExecutable().path, "chat", "--home", home.url.path, "--resident", "ana", "--unit", "4B"],
            environment: ["CONCIERGE_PACKAGE_DIR": packageRoot.path, "TERM": "xterm-256color",
                          "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.url.path])
        var seen = terminal.waitFor("ana@4B>")
        #expect(terminal.screen.contains("You are ana (unit 4B)"))

        // A typo fixed with the arrow keys: the line editor works in the real binary.
        terminal.type("my kitchen sink is leakng")
        terminal.type(Self.left + Self.left + "i" + Self.end + Self.enter)
        seen = terminal.waitFor("May maintenance enter", after: seen)
        #expect(terminal.screen.lowercased().contains("plumbing"))
        terminal.type("yes" + Self.enter)
        seen = terminal.waitFor("good time", after: seen)
        terminal.type("weekday evenings" + Self.enter)
        seen = terminal.waitFor("Shall I file it?", after: seen)
        terminal.type("yes" + Self.enter)
        seen = terminal.waitFor("ticket #1 is filed", after: seen)

        // History: the up arrow brings back the last line ("yes"), Ctrl-U clears it.
        terminal.type(Self.up)
        seen = terminal.waitFor("yes", after: seen)
        terminal.type(Self.ctrlU + Self.ctrlD)
        terminal.waitFor("Bye.", after: seen)
        #expect(terminal.exitStatus() == 0)

        // The ticket holds the corrected words, and staff see it in the queue.
        let ticket = try runConcierge(["ticket", "show", "1", "--home", home.url.path])
        #expect(ticket.stdout.contains("my kitchen sink is leaking"), "\(ticket.stdout)")
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
        #expect((objects[3]["explanation"] as? [String: Any])?["intent_words"] != nil)
        #expect(try ticketCount(home: home) == 0, "triage files no tickets")
    }

    /// The number of tickets in the home's store, through the CLI.
    func ticketCount(home: TemporaryDirectory) throws -> Int? {
        let info = try runConcierge(["store", "info", "--home", home.url.path, "--json"])
        let object = try? JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        return object?["tickets"] as? Int
    }
}
