import ArgumentParser
import Foundation
import Testing
@testable import concierge

/// Every `concierge …` command line shown in README.md and docs/ is one the
/// argument parser accepts, so the documentation cannot drift from the CLI.
@Suite struct DocumentedCommandsTests {
    @Test func everyDocumentedCommandLineParses() throws {
        let lines = try DocumentedCommands.all()
        #expect(lines.count >= 20, "found only \(lines.count) command lines; is the extraction broken?")
        var refused: [String] = []
        for line in lines {
            do {
                _ = try Concierge.parseAsRoot(line.arguments)
            } catch {
                // `--help` and `--version` end parsing with a clean exit, which is success. A
                // command named in prose (`concierge bench engine`) need not show its required arguments.
                let message = Concierge.message(for: error)
                let nameOnly = line.isReference && message.hasPrefix("Missing expected argument")
                if Concierge.exitCode(for: error) != .success && !nameOnly {
                    refused.append("\(line.source): concierge \(line.arguments.joined(separator: " "))\n    → \(message)")
                }
            }
        }
        #expect(refused.isEmpty, "documented commands the CLI refuses:\n\(refused.joined(separator: "\n"))")
    }

    @Test func theExtractionReadsSynopsesAndCodeBlocks() {
        let text = """
            Run `concierge chat [--resident NAME] [--lang en\\|zh]` or `concierge ticket show N`.
            ```sh
            .build/release/concierge train --home /tmp/x && .build/release/concierge evaluate --home /tmp/x   # both
            swift run concierge tokenize "厨房 漏水"
            ```
            Not a command: `concierge train / evaluate /`.
            """
        let lines = DocumentedCommands.extract(from: text, source: "t.md")
        #expect(lines.map(\.arguments) == [
            ["chat", "--resident", "NAME", "--lang", "en"], ["chat", "--resident", "NAME", "--lang", "zh"], ["ticket", "show", "1"],
            ["train", "--home", "/tmp/x"], ["evaluate", "--home", "/tmp/x"], ["tokenize", "厨房 漏水"],
        ])
        #expect(lines.map(\.isReference) == [true, true, true, false, false, false])
    }

    @Test func aWrongOptionIsCaught() {
        #expect(throws: (any Error).self) { try Concierge.parseAsRoot(["benchmark", "banking77", "--no-such-option"]) }
        #expect(throws: (any Error).self) { try Concierge.parseAsRoot(["benchmark", "banking77", "--branches", "trees"]) }
    }
}

/// Command lines found in Markdown: each line of a fenced code block that runs
/// `concierge` (after `swift run`, a build path, or a shell prompt), split at
/// `&&` and without `# comments`; and each inline code span that starts with
/// `concierge `. Synopsis notation is read as an example: `[optional]` parts
/// are included, `a|b` takes `a`, and the placeholder `N` is the number 1.
enum DocumentedCommands {
    struct Line {
        var source: String
        var arguments: [String]
        /// Named in prose (an inline span), not a line to run as it stands.
        var isReference = false
    }

    static func all() throws -> [Line] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files = [root.appendingPathComponent("README.md")]
        let docs = root.appendingPathComponent("docs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []
        files += names.filter { $0.hasSuffix(".md") }.sorted().map { docs.appendingPathComponent($0) }
        return try files.flatMap { file in
            extract(from: try String(contentsOf: file, encoding: .utf8), source: file.lastPathComponent)
        }
    }

    static func extract(from markdown: String, source: String) -> [Line] {
        var lines: [Line] = []
        var inCode = false
        for (number, raw) in markdown.components(separatedBy: "\n").enumerated() {
            let where_ = "\(source):\(number + 1)"
            if raw.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                inCode.toggle()
                continue
            }
            if inCode {
                let code = withoutComment(raw)
                for command in code.components(separatedBy: "&&") {
                    for arguments in invocations(command) { lines.append(Line(source: where_, arguments: arguments)) }
                }
            } else {
                for span in inlineCode(raw) where span.hasPrefix("concierge ") && !span.contains(" / ") {
                    for arguments in invocations(span) {
                        lines.append(Line(source: where_, arguments: arguments, isReference: true))
                    }
                }
            }
        }
        return lines
    }

    /// The argument lists after `concierge` in `command` (none when it does
    /// not run concierge): the first alternative of every `a|b`, then each
    /// further alternative in turn.
    static func invocations(_ command: String) -> [[String]] {
        let words = shellWords(command)
        guard let index = words.firstIndex(where: { $0 == "concierge" || $0.hasSuffix("/concierge") }) else { return [] }
        // `swift run concierge`, `.build/release/concierge`, `$ concierge`: only what precedes may differ.
        let before = words[..<index]
        guard before.allSatisfy({ ["swift", "run", "-c", "release", "$"].contains($0) || $0.hasPrefix("CONCIERGE_") }) else { return [] }
        let choices = words[(index + 1)...].map(synopsisChoices).filter { !$0.isEmpty }
        let first = choices.map { $0[0] }
        var variants = [first]
        for (position, alternatives) in choices.enumerated() {
            for alternative in alternatives.dropFirst() {
                var variant = first
                variant[position] = alternative
                variants.append(variant)
            }
        }
        return variants
    }

    /// One word of a synopsis as its alternatives: `[--lang` → `--lang`,
    /// `en|zh]` → `en`, `zh`; `N` → `1`; `…` → none.
    static func synopsisChoices(_ word: String) -> [String] {
        var word = word
        if word.hasPrefix("[") { word.removeFirst() }
        if word.hasSuffix("]") { word.removeLast() }
        let alternatives = word.replacingOccurrences(of: "\\|", with: "|").split(separator: "|").map(String.init)
        return alternatives.filter { $0 != "…" && $0 != "..." }.map { $0 == "N" ? "1" : $0 }
    }

    static func withoutComment(_ line: String) -> String {
        guard let hash = line.range(of: " #") ?? (line.hasPrefix("#") ? line.range(of: "#") : nil) else { return line }
        return String(line[..<hash.lowerBound])
    }

    static func inlineCode(_ line: String) -> [String] {
        let parts = line.components(separatedBy: "`")
        return stride(from: 1, to: parts.count - 1, by: 2).map { parts[$0] }
    }

    /// Words as a POSIX shell splits them (double and single quotes, no expansion).
    static func shellWords(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
