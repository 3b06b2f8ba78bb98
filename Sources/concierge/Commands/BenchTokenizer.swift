import ArgumentParser
import Foundation
import Tokenizer

/// `concierge bench tokenizer`: tokenizer throughput on one core.
struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Tokenize a corpus (one message per line) on one thread and print MB/s and messages/s.",
        discussion: """
        Build in release first: swift build -c release. scripts/tokenizer_bench.py \
        builds a mixed English/Chinese corpus of 10 MB or more and runs this \
        beside Hugging Face tokenizers on the same vocabulary.
        """
    )

    @Option(help: "The corpus: one message per line.")
    var corpus: String

    @Option(help: "The vocabulary file (default: vocab/vocab.txt of the checkout).")
    var vocab: String?

    @Option(help: "How many timed passes over the corpus; the best is reported.")
    var repeats: Int = 3

    @Option(help: "Truncate each message to this many tokens, as the model does.")
    var maxLength: Int = 512

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let vocabularyURL = try vocab.map { URL(fileURLWithPath: $0) } ?? ProjectFiles.locate().vocabularyFile
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyURL)
        guard let text = try? String(contentsOfFile: corpus, encoding: .utf8) else { throw CLIError("cannot read corpus \(corpus)") }
        let messages = text.split(separator: "\n").map(String.init)
        let bytes = messages.reduce(0) { $0 + $1.utf8.count }
        var best = Double.infinity
        var tokenCount = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            var tokens = 0
            for message in messages { tokens += tokenizer.encode(message, maxLength: maxLength).count }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            tokenCount = tokens
        }
        // Scaling check: the same bytes as one long text should cost about the same.
        let joined = messages.prefix(20_000).joined(separator: " ")
        let shortStart = DispatchTime.now().uptimeNanoseconds
        for message in messages.prefix(20_000) { _ = tokenizer.encode(message, maxLength: .max) }
        let shortSeconds = Double(DispatchTime.now().uptimeNanoseconds - shortStart) / 1e9
        let longStart = DispatchTime.now().uptimeNanoseconds
        _ = tokenizer.encode(joined, maxLength: .max)
        let longSeconds = Double(DispatchTime.now().uptimeNanoseconds - longStart) / 1e9

        let megabytesPerSecond = Double(bytes) / 1e6 / best
        let messagesPerSecond = Double(messages.count) / best
        if json {
            print("""
            {"bytes": \(bytes), "messages": \(messages.count), "tokens": \(tokenCount), "seconds": \(best), \
            "mb_per_s": \(megabytesPerSecond), "messages_per_s": \(messagesPerSecond), \
            "one_long_text_vs_many_short": \(longSeconds / shortSeconds)}
            """)
        } else {
            print(String(format: "%d messages, %.1f MB, %d tokens in %.3f s (best of %d)", messages.count, Double(bytes) / 1e6, tokenCount, best, repeats))
            print(String(format: "%.2f MB/s, %.0f messages/s on one thread", megabytesPerSecond, messagesPerSecond))
            print(String(format: "time for the first 20,000 messages as one text / as separate messages: %.2f (1.0 = linear)", longSeconds / shortSeconds))
        }
    }
}
