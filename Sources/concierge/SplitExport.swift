import DataPack
import Foundation
import Tokenizer
import Triage

/// `concierge evaluate --export-split DIR`: the pack's split as JSON Lines
/// (`split.jsonl`), for baselines measured in other tools on exactly the data
/// and the n-gram features the model gets.
///
/// One object per message: `text`, `language`, `intent`, `kind`
/// (`category`, `faq`, `conversation`, `out_of_scope`), `priority` (service
/// requests), `split` (`training` or `held_out`), `fold` (0…K-1 on the
/// training side, as `evaluate --cross-validate K` deals them; null on
/// held-out), and `features` (`indices`, `values`: the hashed word and
/// character n-grams of `featurizer`).
enum SplitExport {
    struct Row: Encodable {
        var text: String
        var language: String
        var intent: String
        var kind: String
        var priority: String?
        var split: String
        var fold: Int?
        var features: Features

        struct Features: Encodable {
            var indices: [Int32]
            var values: [Float]
        }
    }

    /// Writes `split.jsonl` into `directory` (made if missing); returns the number of messages.
    static func write(pack: DataPack, tokenizer: WordPieceTokenizer, featurizer config: NGramFeaturizerConfig, folds: Int,
                      to directory: URL) throws -> Int {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let featurizer = NGramFeaturizer(config: config, tokenizer: tokenizer)
        let split = DataSplit(pack.labeledExamples)
        var rows: [(LabeledExample, String, Int?)] = split.test.map { ($0, "held_out", nil) }
        for (index, fold) in DataSplit.folds(split.train, count: folds).enumerated() {
            rows += fold.test.map { ($0, "training", index) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for (example, part, fold) in rows {
            let features = featurizer.features(example.text)
            let row = Row(text: example.text, language: example.language.rawValue, intent: example.intent,
                          kind: example.kind.rawValue, priority: example.priority?.rawValue, split: part, fold: fold,
                          features: .init(indices: features.indices, values: features.values))
            data.append(try encoder.encode(row))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: directory.appendingPathComponent("split.jsonl"), options: .atomic)
        return rows.count
    }
}
