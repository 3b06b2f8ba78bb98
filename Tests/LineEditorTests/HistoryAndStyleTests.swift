import Foundation
import Testing
import TestSupport
@testable import LineEditor
#if canImport(Glibc)
import Glibc
#endif

/// The permission bits of a file.
func permissions(of path: String) -> mode_t {
    var status = stat()
    guard stat(path, &status) == 0 else { return 0 }
    return status.st_mode & 0o777
}

@Suite("History")
struct LineHistoryTests {
    @Test func keepsNonBlankLinesThatDifferFromThePrevious() {
        var history = LineHistory(maxEntries: 10)
        let added = ["my sink leaks", "my sink leaks", "", "   ", "电梯又坏了", "my sink leaks"].map { history.add($0) }
        #expect(added == [true, false, false, false, true, true], "a repeat of an older entry is kept")
        #expect(history.entries == ["my sink leaks", "电梯又坏了", "my sink leaks"])
    }

    @Test func capDropsTheOldest() {
        var history = LineHistory(maxEntries: 3)
        for number in 1...5 { history.add("line \(number)") }
        #expect(history.entries == ["line 3", "line 4", "line 5"])
        var none = LineHistory(maxEntries: 0)
        let added = none.add("anything")
        #expect(!added)
        #expect(none.entries.isEmpty)
    }

    @Test func fileIsPrivateAndRoundTrips() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.url.appendingPathComponent("nested/chat_history")
        var history = LineHistory(maxEntries: 5)
        history.add("厨房水龙头漏水了")
        history.add("unit 1203, please hurry")
        try history.save(to: file)
        #expect(permissions(of: file.path) == 0o600)
        #expect(permissions(of: file.deletingLastPathComponent().path) == 0o700)
        let loaded = LineHistory.load(from: file, maxEntries: 5)
        #expect(loaded.entries == ["厨房水龙头漏水了", "unit 1203, please hurry"])
    }

    @Test func savingTightensAnExistingFilesPermissions() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.url.appendingPathComponent("chat_history")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data("old\n".utf8), attributes: [.posixPermissions: 0o644])
        var history = LineHistory.load(from: file, maxEntries: 5)
        history.add("new")
        try history.save(to: file)
        #expect(permissions(of: file.path) == 0o600)
        #expect(try String(contentsOf: file, encoding: .utf8) == "old\nnew\n")
    }

    @Test func loadingKeepsOnlyTheNewestEntries() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.url.appendingPathComponent("chat_history")
        let lines = (1...10).map { "line \($0)" }
        try Data((lines.joined(separator: "\n") + "\n\n").utf8).write(to: file)
        #expect(LineHistory.load(from: file, maxEntries: 3).entries == ["line 8", "line 9", "line 10"])
        #expect(LineHistory.load(from: folder.url.appendingPathComponent("missing"), maxEntries: 3).entries.isEmpty)
    }

    @Test func lineBreaksInsideAnEntryDoNotSplitIt() throws {
        var history = LineHistory(maxEntries: 5)
        history.add("two\nlines")
        #expect(history.entries == ["two lines"])
    }
}

@Suite("Piped input")
struct PipedInputTests {
    /// A pipe's two ends, closed by `close()`.
    struct Pipe {
        let readEnd: Int32
        let writeEnd: Int32
        init() throws {
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
            readEnd = ends[0]
            writeEnd = ends[1]
        }
        func close() {
            _ = Glibc.close(readEnd)
            _ = Glibc.close(writeEnd)
        }
    }

    @Test func linesWithoutPromptOrEscapesOrHistory() throws {
        let input = try Pipe()
        let output = try Pipe()
        defer { input.close(); output.close() }
        var lines = ["my sink leaks\r", "电梯又坏了", ""]
        let editor = LineEditor(
            historyFile: nil, maxHistory: 10, inputDescriptor: input.readEnd, outputDescriptor: output.writeEnd,
            environment: ["TERM": "xterm-256color"],
            readPlainLine: { lines.isEmpty ? nil : lines.removeFirst() })
        #expect(!editor.isInteractive)
        #expect(!editor.usesLineEditing)
        #expect(editor.readLine(prompt: "> ") == .line("my sink leaks"))
        #expect(editor.readLine(prompt: "> ") == .line("电梯又坏了"))
        #expect(editor.readLine(prompt: "> ") == .line(""))
        #expect(editor.readLine(prompt: "> ") == .endOfInput)
        #expect(editor.history.isEmpty, "scripted input is not history")
        // Nothing at all was written: no prompt, no escape codes.
        var pending = pollfd(fd: output.readEnd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pending, 1, 0) == 0)
    }
}

@Suite("Terminal style")
struct TerminalStyleTests {
    @Test func disabledStyleReturnsPlainText() {
        let style = TerminalStyle.plain
        for styled in [style.bold("x"), style.dim("x"), style.red("x"), style.green("x"), style.yellow("x"), style.cyan("x")] {
            #expect(styled == "x")
        }
    }

    @Test func enabledStyleWrapsInSGRCodes() {
        let style = TerminalStyle(isEnabled: true)
        #expect(style.bold("漏水") == "\u{1B}[1m漏水\u{1B}[0m")
        #expect(style.red("urgent") == "\u{1B}[31murgent\u{1B}[0m")
        #expect(style.cyan("") == "")
        #expect(TerminalStyle.removingEscapeSequences(from: style.green("ok") + style.dim(" 住户")) == "ok 住户")
    }

    @Test func environmentDecidesColourOnATerminal() {
        #expect(TerminalStyle.colourIsAllowed(environment: ["TERM": "xterm-256color"]))
        #expect(TerminalStyle.colourIsAllowed(environment: [:]))
        #expect(!TerminalStyle.colourIsAllowed(environment: ["TERM": "dumb"]))
        #expect(!TerminalStyle.colourIsAllowed(environment: ["TERM": "xterm", "NO_COLOR": "1"]))
        #expect(TerminalStyle.colourIsAllowed(environment: ["NO_COLOR": ""]), "no-color.org: only a non-empty value counts")
    }

    @Test func pipesAreNotTerminals() throws {
        let pipe = try PipedInputTests.Pipe()
        defer { pipe.close() }
        #expect(!TerminalStyle.isTerminal(pipe.writeEnd))
        #expect(!TerminalStyle.colourIsAppropriate(fileDescriptor: pipe.writeEnd, environment: ["TERM": "xterm"]))
    }
}
