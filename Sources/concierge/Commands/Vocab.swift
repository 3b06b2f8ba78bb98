import ArgumentParser
import DataPack
import Foundation
import Tokenizer

/// `concierge vocab …`: the tokenizer vocabulary.
struct Vocab: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build or inspect the tokenizer vocabulary.",
        subcommands: [Build.self]
    )

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a WordPiece vocabulary from the data pack (and extra text).",
            discussion: """
            Reads every example, FAQ question and answer, and category name of \
            the data pack, plus each --corpus file (one text per line), and \
            writes a deterministic vocabulary: the same input always gives a \
            byte-identical file. The default output is vocab/vocab.txt of the \
            checkout, which is committed; a model trained with another \
            vocabulary will refuse to load with this one.
            """
        )

        @Option(help: "The data pack folder (default: intents/ of the checkout).")
        var intents: String?

        @Option(name: .customLong("corpus"), help: "An extra text file, one text per line (repeatable).")
        var corpora: [String] = []

        @Option(help: "Where to write the vocabulary (default: vocab/vocab.txt of the checkout).")
        var output: String?

        @Option(help: "The largest vocabulary to learn.")
        var size: Int = 8000

        @Option(help: "A piece must occur this many times to be learned.")
        var minFrequency: Int = 2

        func validate() throws {
            guard size >= 64 else { throw ValidationError("--size must be at least 64") }
            guard minFrequency >= 1 else { throw ValidationError("--min-frequency must be at least 1") }
        }

        func run() throws {
            let files = try? ProjectFiles.locate()
            guard let intentsURL = intents.map({ URL(fileURLWithPath: $0, isDirectory: true) }) ?? files?.intentsDirectory,
                  let outputURL = output.map({ URL(fileURLWithPath: $0) }) ?? files?.vocabularyFile else {
                throw CLIError("could not find intents/ and vocab/; pass --intents and --output")
            }
            let pack = try DataPackLoader.load(directory: intentsURL).pack
            var texts = pack.vocabularyTexts
            for path in corpora {
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw CLIError("cannot read corpus file \(path)")
                }
                texts += contents.split(whereSeparator: \.isNewline).map(String.init)
            }
            let tokens = VocabularyBuilder(targetSize: size, minimumFrequency: minFrequency).build(texts: texts)
            try Vocabulary.fileContents(tokens).write(to: outputURL, atomically: true, encoding: .utf8)
            let vocabulary = try Vocabulary(tokens: tokens)
            print("wrote \(tokens.count) tokens from \(texts.count) texts to \(outputURL.path) (hash \(vocabulary.hash))")
        }
    }
}

extension DataPack {
    /// Every text of the pack a vocabulary should cover.
    var vocabularyTexts: [String] {
        var texts = labeledExamples.map(\.text)
        for faq in faqs { texts += faq.answer.values }
        for category in categories { texts += category.name.values }
        for detail in details { texts += detail.ask.values }
        return texts
    }
}
