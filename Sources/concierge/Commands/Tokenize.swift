import ArgumentParser
import Foundation
import Tokenizer

/// `concierge tokenize "text"`: shows what the model sees.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a message is split into tokens.",
        discussion: """
        Prints every token with its id and the part of your text it came from \
        (offsets count UTF-16 code units of the original text). Text is \
        normalized first (NFKC, case folding, Chinese punctuation), segmented \
        into words by ICU (Chinese by its dictionary), then split into \
        WordPiece tokens from vocab/vocab.txt.
        """
    )

    @Argument(help: "The text to tokenize. Reads standard input when omitted.")
    var text: String?

    @Option(help: "The vocabulary file (default: vocab/vocab.txt of the checkout).")
    var vocab: String?

    @Option(help: "The longest sequence, [CLS] and [SEP] included.")
    var maxLength: Int = 512

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let vocabularyURL = try vocab.map { URL(fileURLWithPath: $0) } ?? ProjectFiles.locate().vocabularyFile
        let tokenizer: WordPieceTokenizer
        do {
            tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyURL)
        } catch {
            throw CLIError("cannot read vocabulary \(vocabularyURL.path): \(error)")
        }
        let input = text ?? (readAllStandardInput() ?? "")
        let encoding = tokenizer.encode(input, maxLength: maxLength)
        let utf16 = Array(input.utf16)
        let rows = (0..<encoding.count).map { index -> (token: String, id: Int32, range: Range<Int>, source: String) in
            let range = encoding.offsets[index]
            let source = String(decoding: utf16[range], as: UTF16.self)
            return (tokenizer.vocabulary.token(for: encoding.ids[index]), encoding.ids[index], range, source)
        }
        if json {
            let objects = rows.map { row -> [String: Any] in
                ["token": row.token, "id": Int(row.id), "start": row.range.lowerBound, "end": row.range.upperBound, "text": row.source]
            }
            let data = try JSONSerialization.data(withJSONObject: ["tokens": objects], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("normalized: \(TextNormalizer.normalizedString(input))")
        let table = TextTable(columns: ["#", "token", "id", "offsets", "original text"])
        for (index, row) in rows.enumerated() {
            table.add([String(index), row.token, String(row.id), "\(row.range.lowerBound)..<\(row.range.upperBound)", row.source])
        }
        print(table.render(), terminator: "")
    }
}

/// Reads everything from standard input, or nil when it is a terminal.
func readAllStandardInput() -> String? {
    if isatty(STDIN_FILENO) != 0 { return nil }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    return String(decoding: data, as: UTF8.self)
}
