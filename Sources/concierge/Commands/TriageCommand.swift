import ArgumentParser
import Foundation
import Triage

/// `concierge triage`: one JSON decision per message, no tickets.
struct TriageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Triage messages from a file or stdin: one JSON decision per line, no tickets filed.",
        discussion: """
        Input: plain text (one message per line) or JSON Lines with a "text" field \
        (auto-detected per line: a line starting with { is JSON). Output: one JSON \
        object per input line, in order, with kind, intent, category or faq, \
        priority (after the safety rules), model_priority, out_of_scope, \
        confidence, needs_clarification, alternatives, the safety rule that fired, \
        emergency (certain: filed at once as P1; possible: the resident is asked \
        one safety question), emergency_basis (rule or model), p1_probability, \
        urgent_cue (the urgent.yaml rule that made it at least P2) \
        and the explanation (the words that drove the category and the priority). \
        A line that cannot be read gives {"line": N, "error": "..."} in its place \
        and the command exits with status 1 after the last line. Empty lines are skipped.

        Example: printf 'my sink leaks\\n楼道灯坏了\\n' | concierge triage
        """)

    @OptionGroup var homeOptions: HomeOptions
    @OptionGroup var packOptions: PackOptions

    @Argument(help: ArgumentHelp("A file of messages (default: stdin).", valueName: "file"))
    var file: String?

    @Flag(inversion: .prefixedNo, help: "Include the explanation (one extra batched forward pass per message).")
    var explain = true

    @Option(help: "Messages per batch through the model.")
    var batch = 64

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let input: FileHandle
        if let file {
            guard let handle = FileHandle(forReadingAtPath: file) else { throw CLIError("cannot read \(file)") }
            input = handle
        } else {
            input = FileHandle.standardInput
        }
        let (_, _, triager) = try Assistant.triage(packOptions: packOptions, home: homeOptions.home)
        var failures = 0
        var pending: [(line: Int, text: String)] = []

        func flush() throws {
            guard !pending.isEmpty else { return }
            let decisions = try triager.triage(pending.map(\.text), explain: explain, threads: 2)
            for decision in decisions { print(try decision.jsonLine()) }
            pending.removeAll()
        }
        var lineNumber = 0
        for line in LineReader(handle: input) {
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            switch Self.message(trimmed) {
            case .success(let text):
                pending.append((lineNumber, text))
                if pending.count >= batch { try flush() }
            case .failure(let error):
                try flush()
                failures += 1
                print(Self.errorLine(line: lineNumber, message: error.message))
            }
        }
        try flush()
        if failures > 0 {
            FileHandle.standardError.write(Data("error: \(failures) line(s) could not be read (see their \"error\" objects)\n".utf8))
            throw ExitCode.failure
        }
    }

    struct LineError: Error { var message: String }

    /// The message on a line: the line itself, or the `text` field of a JSON object.
    static func message(_ line: String) -> Result<String, LineError> {
        guard line.hasPrefix("{") else { return .success(line) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return .failure(LineError(message: "not valid JSON"))
        }
        guard let text = object["text"] as? String else {
            return .failure(LineError(message: "a JSON line needs a string \"text\" field"))
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? .failure(LineError(message: "\"text\" is empty")) : .success(trimmed)
    }

    static func errorLine(line: Int, message: String) -> String {
        let object: [String: Any] = ["line": line, "error": message]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Lines of a file handle, read in chunks (invalid UTF-8 is repaired).
struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    private var buffer = Data()
    private var finished = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                return String(decoding: line, as: UTF8.self)
            }
            if finished {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            let chunk = handle.availableData
            if chunk.isEmpty { finished = true } else { buffer.append(chunk) }
        }
    }
}
