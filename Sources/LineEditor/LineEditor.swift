import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one `LineEditor.readLine(prompt:)` produced.
public enum LineInput: Equatable, Sendable {
    /// A line the user submitted with Enter (or a line read from a pipe),
    /// without its line break. May be empty.
    case line(String)
    /// No more input: Ctrl-D on an empty line, or the end of piped input.
    case endOfInput
    /// Ctrl-C while editing. Also returned when SIGINT, SIGTERM or SIGHUP
    /// arrives during editing and the application handles or ignores it
    /// instead of ending (the terminal has been restored either way).
    case interrupted
}

/// Reads lines from standard input for a REPL, with line editing and
/// history when standard input and output are a terminal.
///
/// Three modes, chosen once at creation:
/// - **Editing** — input and output are a terminal and `TERM` is not `dumb`:
///   the terminal is put into raw mode for each `readLine(prompt:)` (and put
///   back on every return path, on SIGINT/SIGTERM/SIGHUP and at exit). Keys:
///   typing (any UTF-8, including Chinese), Left/Right, Ctrl-Left/Right and
///   Alt-B/F (by word), Home/End and Ctrl-A/Ctrl-E, Backspace, Delete,
///   Ctrl-U, Ctrl-K, Ctrl-W, Ctrl-L, Up/Down and Ctrl-P/Ctrl-N (history),
///   Enter, Ctrl-D (end of input on an empty line, delete otherwise), Ctrl-C.
///   A line wider than the terminal scrolls horizontally.
/// - **Plain terminal** — input is a terminal but editing is not possible
///   (`TERM=dumb`, or output redirected): the prompt is written as given and
///   the terminal's own line discipline reads the line.
/// - **Piped** — input is not a terminal (`echo "my sink leaks" | concierge chat`):
///   no prompt is written, nothing but the lines is read, no escape codes.
///
/// History (editing and plain-terminal modes only) keeps non-blank lines
/// that differ from the previous entry, at most `maxHistory`, in
/// `historyFile` (mode 0600) when one is given.
///
/// Only one `LineEditor` should read at a time: raw mode is process-wide state.
public final class LineEditor {
    private enum Mode { case editing, plainTerminal, piped }

    /// Whether lines are edited in raw mode (input and output are a terminal, `TERM` is not `dumb`).
    public var usesLineEditing: Bool { mode == .editing }
    /// Whether input comes from a terminal (a person typing) rather than a pipe or file.
    public var isInteractive: Bool { mode != .piped }
    /// The history, oldest entry first.
    public var history: [String] { lineHistory.entries }
    /// The error from the latest attempt to save the history file, nil after a success.
    public private(set) var historySaveError: HistoryFileError?

    private let mode: Mode
    private let inputDescriptor: Int32
    private let outputDescriptor: Int32
    private let environment: [String: String]
    private let readPlainLine: () -> String?
    private let historyFile: URL?
    private var lineHistory: LineHistory
    /// Decoder state and decoded keys carry over between prompts, so keys
    /// typed (or pasted) ahead of the next prompt are not lost.
    private var keyDecoder = KeyDecoder()
    private var typedAhead: [EditKey] = []

    /// An editor for standard input and output.
    /// - Parameters:
    ///   - historyFile: where history is loaded from and saved to; nil keeps it in memory only.
    ///   - maxHistory: the most entries kept (older ones are dropped); 0 or less keeps none.
    public convenience init(historyFile: URL?, maxHistory: Int = 500) {
        self.init(
            historyFile: historyFile, maxHistory: maxHistory,
            inputDescriptor: STDIN_FILENO, outputDescriptor: STDOUT_FILENO,
            environment: ProcessInfo.processInfo.environment,
            readPlainLine: { Swift.readLine(strippingNewline: true) })
    }

    /// An editor over any pair of descriptors (tests use a pseudo-terminal);
    /// `readPlainLine` reads a line in the plain-terminal and piped modes.
    init(
        historyFile: URL?, maxHistory: Int,
        inputDescriptor: Int32, outputDescriptor: Int32,
        environment: [String: String], readPlainLine: @escaping () -> String?
    ) {
        self.inputDescriptor = inputDescriptor
        self.outputDescriptor = outputDescriptor
        self.environment = environment
        self.readPlainLine = readPlainLine
        self.historyFile = historyFile
        if let historyFile {
            lineHistory = LineHistory.load(from: historyFile, maxEntries: maxHistory)
        } else {
            lineHistory = LineHistory(maxEntries: maxHistory)
        }
        if !TerminalStyle.isTerminal(inputDescriptor) {
            mode = .piped
        } else if TerminalStyle.isTerminal(outputDescriptor), environment["TERM"] != "dumb" {
            mode = .editing
        } else {
            mode = .plainTerminal
        }
    }

    /// Shows `prompt` and reads one line.
    ///
    /// The prompt may carry `TerminalStyle` colour; its width is measured
    /// without the escape codes. In piped mode the prompt is not written.
    public func readLine(prompt: String) -> LineInput {
        switch mode {
        case .piped:
            return readPipedLine()
        case .plainTerminal:
            return readPlainTerminalLine(prompt: prompt)
        case .editing:
            guard RawMode.enter(fileDescriptor: inputDescriptor) else {
                return readPlainTerminalLine(prompt: prompt)
            }
            defer { RawMode.leave() }
            return readEditedLine(prompt: prompt)
        }
    }

    // MARK: Without editing

    private func readPipedLine() -> LineInput {
        guard let line = readPlainLine() else { return .endOfInput }
        return .line(Self.removingLineBreaks(line))
    }

    private func readPlainTerminalLine(prompt: String) -> LineInput {
        writeOutput(prompt)
        guard let line = readPlainLine() else { return .endOfInput }
        let text = Self.removingLineBreaks(line)
        remember(text)
        return .line(text)
    }

    /// The line without trailing CR / LF (a file written on Windows ends lines with CR LF).
    private static func removingLineBreaks(_ line: String) -> String {
        var text = line
        while let last = text.last, last == "\r" || last == "\n" || last == "\r\n" { text.removeLast() }
        return text
    }

    // MARK: Editing

    private func readEditedLine(prompt: String) -> LineInput {
        var session = LineEditSession(history: lineHistory.entries)
        var window = HorizontalWindow()
        redraw(prompt: prompt, buffer: session.buffer, window: &window)
        while true {
            if typedAhead.isEmpty {
                switch readKeys() {
                case .keys(let keys):
                    typedAhead = keys
                    continue
                case .endOfInput:
                    writeOutput("\r\n")
                    return .endOfInput
                case .interruptedBySignal:
                    writeOutput("\r\n")
                    return .interrupted
                }
            }
            let key = typedAhead.removeFirst()
            switch session.apply(key) {
            case .unchanged:
                break
            case .redraw:
                redraw(prompt: prompt, buffer: session.buffer, window: &window)
            case .clearScreen:
                writeOutput("\u{1B}[H\u{1B}[2J")
                redraw(prompt: prompt, buffer: session.buffer, window: &window)
            case .submit(let line):
                // Show the end of the line as it is left on screen.
                var finished = session.buffer
                finished.moveToEnd()
                redraw(prompt: prompt, buffer: finished, window: &window)
                writeOutput("\r\n")
                remember(line)
                return .line(line)
            case .endOfInput:
                writeOutput("\r\n")
                return .endOfInput
            case .interrupted:
                writeOutput("^C\r\n")
                return .interrupted
            }
        }
    }

    private enum ReadResult {
        case keys([EditKey])
        case endOfInput
        case interruptedBySignal
    }

    /// Reads at least one key from the terminal, waiting as long as needed.
    private func readKeys() -> ReadResult {
        var bytes = [UInt8](repeating: 0, count: 256)
        while true {
            // A lone Escape (or a truncated sequence) gets 100 ms for the rest to arrive.
            if keyDecoder.hasIncompleteSequence, !inputArrives(withinMilliseconds: 100) {
                keyDecoder.flushIncomplete()
            }
            // A restoring signal handler ran (and the process lives on): stop editing.
            if !RawMode.isActive { return .interruptedBySignal }
            let count = bytes.withUnsafeMutableBytes { read(inputDescriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let keys = keyDecoder.decode(bytes[..<count])
                if !keys.isEmpty { return .keys(keys) }
            } else if count == 0 {
                return .endOfInput // the terminal went away
            } else if errno != EINTR, errno != EAGAIN {
                return .endOfInput // EIO: the terminal hung up
            }
        }
    }

    private func inputArrives(withinMilliseconds timeout: Int32) -> Bool {
        var descriptor = pollfd(fd: inputDescriptor, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, timeout) > 0
    }

    /// Redraws the prompt and the visible part of the line on the current
    /// terminal row, then puts the cursor in place.
    private func redraw(prompt: String, buffer: LineBuffer, window: inout HorizontalWindow) {
        let promptWidth = DisplayWidth.columns(ofStyledText: prompt)
        // Leave the last column empty so the terminal never wraps.
        let available = terminalColumns() - promptWidth - 1
        let (visible, cursorColumn) = window.update(buffer: buffer, width: available)
        var output = "\r" + prompt + String(buffer.characters[visible]) + "\u{1B}[0K\r"
        let column = promptWidth + cursorColumn
        if column > 0 { output += "\u{1B}[\(column)C" }
        writeOutput(output)
    }

    /// The terminal's width, from TIOCGWINSZ, else `COLUMNS`, else 80.
    private func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(outputDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }

    private func writeOutput(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(outputDescriptor, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                return // output gone: nothing useful to do
            }
            written += result
        }
    }

    // MARK: History

    private func remember(_ line: String) {
        guard lineHistory.add(line), let historyFile else { return }
        do {
            try lineHistory.save(to: historyFile)
            historySaveError = nil
        } catch {
            historySaveError = error
        }
    }
}
