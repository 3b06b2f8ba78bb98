import Foundation
import Testing
import TestSupport
@testable import LineEditor
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair (`openpty`). The tests type into the master side;
/// the editor reads and draws on the slave side, as it would on a real
/// terminal. A thread keeps reading the master so the editor's output never
/// blocks, and keeps it for assertions.
final class PseudoTerminal: @unchecked Sendable {
    let master: Int32
    let slave: Int32
    private let lock = NSLock()
    private var output: [UInt8] = []
    private var stopDraining = false
    private let drainingFinished = DispatchSemaphore(value: 0)

    struct OpenFailed: Error {}

    init(columns: UInt16) throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw OpenFailed() }
        self.master = master
        self.slave = slave
        Thread.detachNewThread { [self] in drainMaster() }
    }

    private func drainMaster() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !lock.withLock({ stopDraining }) {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if count > 0 {
                lock.withLock { output += buffer[..<count] }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                break
            }
        }
        drainingFinished.signal()
    }

    /// Everything the editor wrote to the terminal so far.
    var screen: String { lock.withLock { String(decoding: output, as: UTF8.self) } }

    /// Everything the editor wrote, once nothing new has arrived for 100 ms.
    var settledScreen: String {
        var latest = screen
        for _ in 0..<50 {
            usleep(100_000)
            let now = screen
            if now == latest { return now }
            latest = now
        }
        return latest
    }

    /// Sends keystrokes, as a person typing (or pasting) would.
    func type(_ keys: String) {
        type(bytes: Array(keys.utf8))
    }

    func type(bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if result < 0 { if errno == EINTR { continue } else { return } }
            written += result
        }
    }

    /// The slave side's current settings.
    var settings: termios {
        var settings = termios()
        _ = tcgetattr(slave, &settings)
        return settings
    }

    /// Whether the terminal is in raw mode (no canonical input, no echo).
    var isRaw: Bool {
        let flags = settings.c_lflag
        return flags & tcflag_t(ICANON) == 0 && flags & tcflag_t(ECHO) == 0
    }

    /// Whether canonical input, echo and signal keys are on, as before raw mode.
    var isCooked: Bool {
        let flags = settings.c_lflag
        return flags & tcflag_t(ICANON) != 0 && flags & tcflag_t(ECHO) != 0 && flags & tcflag_t(ISIG) != 0
            && settings.c_oflag & tcflag_t(OPOST) != 0
    }

    /// Waits for the editor to put the terminal into raw mode and draw `prompt`
    /// at least `promptCount` times — only then are keys read as keys.
    func waitForPrompt(_ prompt: String, count promptCount: Int = 1, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isRaw, screen.components(separatedBy: "\r" + prompt).count > promptCount { return true }
            usleep(5_000)
        }
        return false
    }

    /// Stops the draining thread and closes both sides.
    func close() {
        lock.withLock { stopDraining = true }
        _ = drainingFinished.wait(timeout: .now() + 2)
        _ = Glibc.close(master) // an editor still reading gets end of input
        _ = Glibc.close(slave)
    }
}

/// Runs `LineEditor.readLine(prompt:)` `prompts` times on the slave side of a
/// pseudo-terminal, in its own thread, like `concierge chat` would.
final class EditorThread: @unchecked Sendable {
    static let prompt = "住户> "
    private let lock = NSLock()
    private var results: [LineInput] = []
    private var history: [String] = []
    private var thread: pthread_t?
    private let resultArrived = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(terminal: PseudoTerminal, historyFile: URL?, prompts: Int) {
        let slave = terminal.slave
        Thread.detachNewThread { [self] in
            lock.withLock { thread = pthread_self() }
            // The test runner's threads block signals (and new threads inherit that);
            // a REPL's main thread does not.
            var signals = sigset_t()
            sigemptyset(&signals)
            for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            let editor = LineEditor(
                historyFile: historyFile, maxHistory: 500, inputDescriptor: slave, outputDescriptor: slave,
                environment: ["TERM": "xterm-256color"], readPlainLine: { nil })
            if editor.usesLineEditing {
                for _ in 0..<prompts {
                    let result = editor.readLine(prompt: Self.prompt)
                    lock.withLock { results.append(result); history = editor.history }
                    resultArrived.signal()
                }
            }
            finished.signal()
        }
    }

    /// The next line read, or nil if none came within `seconds`.
    func nextResult(seconds: Double = 10) -> LineInput? {
        guard resultArrived.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.withLock { results.removeFirst() }
    }

    /// The editor's history after its latest line.
    var editorHistory: [String] { lock.withLock { history } }

    /// Sends a signal to the editor's thread.
    func send(signal: Int32) {
        if let thread = lock.withLock({ thread }) { pthread_kill(thread, signal) }
    }

    /// Waits for the thread to finish its prompts.
    func waitUntilFinished(seconds: Double = 10) -> Bool {
        finished.wait(timeout: .now() + seconds) == .success
    }
}

/// Drives the real termios path: raw mode, escape sequences and redraws on a pseudo-terminal.
@Suite("Line editor on a pseudo-terminal", .serialized)
struct PseudoTerminalTests {
    let prompt = EditorThread.prompt

    @Test func editsWithArrowKeysInRawModeAndRestoresTheTerminal() throws {
        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        #expect(terminal.isCooked)
        let editor = EditorThread(terminal: terminal, historyFile: nil, prompts: 1)
        try #require(terminal.waitForPrompt(prompt))
        terminal.type("abc\u{1B}[D\u{1B}[DX\r")
        #expect(editor.nextResult() == .line("aXbc"))
        #expect(editor.waitUntilFinished())
        #expect(terminal.isCooked, "the terminal's settings are back after the line")
        // The prompt was drawn, then the line redrawn with the cursor placed by escape codes.
        let prompted = terminal.settledScreen
        #expect(prompted.contains("\r\(prompt)aXbc\u{1B}[0K"))
        #expect(prompted.contains("\u{1B}[7C"), "cursor after 住户> aX: 4 + 2 + 2 columns, minus 1 for 0-based")
    }

    @Test func chineseSplitAcrossWritesWithWideCursorColumns() throws {
        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        let editor = EditorThread(terminal: terminal, historyFile: nil, prompts: 1)
        try #require(terminal.waitForPrompt(prompt))
        let bytes = Array("水龙头漏水".utf8)
        terminal.type(bytes: Array(bytes[..<4])) // ends inside 龙
        usleep(50_000)
        terminal.type(bytes: Array(bytes[4...]))
        usleep(50_000)
        terminal.type("\u{1B}[D\u{1B}[D\u{7F}") // before 漏, then Backspace deletes 头
        usleep(50_000)
        let beforeEnter = terminal.settledScreen
        terminal.type("\r")
        #expect(editor.nextResult() == .line("水龙漏水"))
        #expect(editor.waitUntilFinished())
        #expect(terminal.isCooked)
        // Prompt 住户> is 6 columns; the cursor after 水龙 is at column 6 + 4 = 10.
        #expect(beforeEnter.hasSuffix("\r\(prompt)水龙漏水\u{1B}[0K\r\u{1B}[10C"))
    }

    @Test func historyIsRecalledSavedPrivatelyAndLoadedAgain() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let historyFile = folder.url.appendingPathComponent("chat_history")
        do {
            let terminal = try PseudoTerminal(columns: 80)
            defer { terminal.close() }
            let editor = EditorThread(terminal: terminal, historyFile: historyFile, prompts: 3)
            try #require(terminal.waitForPrompt(prompt))
            terminal.type("my sink leaks\r")
            #expect(editor.nextResult() == .line("my sink leaks"))
            try #require(terminal.waitForPrompt(prompt, count: 2))
            terminal.type("电梯又坏了\r")
            #expect(editor.nextResult() == .line("电梯又坏了"))
            try #require(terminal.waitForPrompt(prompt, count: 3))
            terminal.type("\u{1B}[A\u{1B}[A\r") // up twice: the first line
            #expect(editor.nextResult() == .line("my sink leaks"))
            #expect(editor.waitUntilFinished())
            #expect(editor.editorHistory == ["my sink leaks", "电梯又坏了", "my sink leaks"])
        }
        #expect(permissions(of: historyFile.path) == 0o600)
        #expect(try String(contentsOf: historyFile, encoding: .utf8) == "my sink leaks\n电梯又坏了\nmy sink leaks\n")

        // A new editor (a new `concierge chat`) starts from the saved history.
        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        let editor = EditorThread(terminal: terminal, historyFile: historyFile, prompts: 1)
        try #require(terminal.waitForPrompt(prompt))
        terminal.type("\u{1B}[A\u{1B}[A\u{01}re: \r")
        #expect(editor.nextResult() == .line("re: 电梯又坏了"))
        #expect(editor.waitUntilFinished())
    }

    @Test func controlCAndControlDEndCleanly() throws {
        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        let editor = EditorThread(terminal: terminal, historyFile: nil, prompts: 3)
        try #require(terminal.waitForPrompt(prompt))
        terminal.type("half a line\u{03}")
        #expect(editor.nextResult() == .interrupted)
        try #require(terminal.waitForPrompt(prompt, count: 2))
        terminal.type("x\u{04}y\u{04}\r") // Ctrl-D on a non-empty line does not end input
        #expect(editor.nextResult() == .line("xy"))
        try #require(terminal.waitForPrompt(prompt, count: 3))
        terminal.type("\u{04}")
        #expect(editor.nextResult() == .endOfInput)
        #expect(editor.waitUntilFinished())
        #expect(terminal.isCooked)
        #expect(terminal.settledScreen.contains("^C\r\n"))
    }

    @Test func longLineScrollsInANarrowTerminal() throws {
        let terminal = try PseudoTerminal(columns: 20)
        defer { terminal.close() }
        let editor = EditorThread(terminal: terminal, historyFile: nil, prompts: 1)
        try #require(terminal.waitForPrompt(prompt))
        let long = String(repeating: "0123456789", count: 4) + "厨房水龙头漏水了"
        terminal.type(long)
        terminal.type("\u{1B}[H")
        terminal.type("X")
        terminal.type("\u{1B}[F!\r")
        #expect(editor.nextResult() == .line("X" + long + "!"))
        #expect(editor.waitUntilFinished())
        let screen = terminal.settledScreen
        #expect(!screen.contains("0123456789012345"), "never more than the 13 free columns of text at once")
        #expect(screen.contains("\r\(prompt)X012345678901\u{1B}[0K"), "Home scrolled back to the start; 13 columns free")
        #expect(screen.contains("水龙头漏水了!\u{1B}[0K"), "End scrolled to the end")
    }

    @Test func terminationSignalRestoresTheTerminalWhileEditing() throws {
        // A harmless SIGTERM handler stands in for the application's, so the
        // editor's handler restores the terminal and passes the signal on
        // without ending the test process.
        var ignoring = sigaction()
        ignoring.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&ignoring.sa_mask)
        var original = sigaction()
        sigaction(SIGTERM, &ignoring, &original)
        defer { sigaction(SIGTERM, &original, nil) }

        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        let editor = EditorThread(terminal: terminal, historyFile: nil, prompts: 1)
        try #require(terminal.waitForPrompt(prompt))
        terminal.type("half")
        usleep(50_000)
        #expect(terminal.isRaw)
        editor.send(signal: SIGTERM)
        #expect(editor.nextResult() == .interrupted)
        #expect(editor.waitUntilFinished())
        #expect(terminal.isCooked)
        // The application's handler is back in place.
        var current = sigaction()
        sigaction(SIGTERM, nil, &current)
        #expect(unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
            == unsafeBitCast(ignoring.__sigaction_handler.sa_handler, to: Int.self))
    }

    @Test func dumbTerminalGetsAPlainPromptAndNoRawMode() throws {
        let terminal = try PseudoTerminal(columns: 80)
        defer { terminal.close() }
        var lines = ["plain line\r"]
        let editor = LineEditor(
            historyFile: nil, maxHistory: 10, inputDescriptor: terminal.slave, outputDescriptor: terminal.slave,
            environment: ["TERM": "dumb"], readPlainLine: { lines.isEmpty ? nil : lines.removeFirst() })
        #expect(editor.isInteractive)
        #expect(!editor.usesLineEditing)
        #expect(editor.readLine(prompt: "> ") == .line("plain line"))
        #expect(editor.history == ["plain line"])
        #expect(editor.readLine(prompt: "> ") == .endOfInput)
        #expect(terminal.settledScreen == "> > ")
        #expect(terminal.isCooked)
    }
}
