import Foundation
import Tokenizer

/// A message and its label.
public struct LabeledText: Codable, Equatable, Hashable, Sendable {
    public var text: String
    public var label: String

    public init(text: String, label: String) {
        self.text = text
        self.label = label
    }
}

/// A public intent-classification benchmark, split as its authors published it.
public struct BenchmarkDataset: Sendable {
    public var name: String
    public var train: [LabeledText]
    /// The split used for tuning and early stopping (never for reporting).
    public var validation: [LabeledText]
    /// The split the figures are reported on.
    public var test: [LabeledText]
    /// The out-of-scope label, when the benchmark has one (`oos` in CLINC150).
    public var outOfScopeLabel: String?
    /// Where the validation split came from, for the report.
    public var validationSource: String

    /// Number of distinct labels in the training split.
    public var labelCount: Int { Set(train.map(\.label)).count }
}

/// A dataset file that cannot be read, with the file and (when known) the line.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Readers for the benchmarks in `../shared/datasets` (read at run time,
/// never copied into the repository).
public enum BenchmarkDatasets {
    /// CLINC150 (Larson et al., 2019): 150 intents in 10 domains plus
    /// out-of-scope queries. `variant` is `full` (100 training examples per
    /// intent, 100 out-of-scope), `small`, `imbalanced` or `oos_plus`. The
    /// out-of-scope examples of each split are merged into it with label `oos`
    /// (the "oos-train" setting).
    ///
    /// - Parameter location: the `clinc150` directory or a `data_*.json` file.
    public static func clinc150(at location: URL, variant: String = "full") throws -> BenchmarkDataset {
        let file = isDirectory(location) ? location.appendingPathComponent("data_\(variant).json") : location
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw DatasetError(file: file.path, line: nil, message: "cannot read the file (\(error.localizedDescription)); pass --data pointing at the clinc150 directory")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw DatasetError(file: file.path, line: nil, message: "not valid JSON: \(error.localizedDescription)")
        }
        guard let splits = json as? [String: Any] else {
            throw DatasetError(file: file.path, line: nil, message: "expected a JSON object with train/val/test arrays")
        }
        func split(_ key: String) throws -> [LabeledText] {
            guard let value = splits[key] else { return [] }
            guard let rows = value as? [[Any]] else {
                throw DatasetError(file: file.path, line: nil, message: "'\(key)' is not an array of [text, label] pairs")
            }
            return try rows.enumerated().map { index, row in
                guard row.count == 2, let text = row[0] as? String, let label = row[1] as? String else {
                    throw DatasetError(file: file.path, line: nil, message: "'\(key)'[\(index)] is not a [text, label] pair")
                }
                return LabeledText(text: text, label: label)
            }
        }
        for key in ["train", "val", "test"] where splits[key] == nil {
            throw DatasetError(file: file.path, line: nil, message: "missing the '\(key)' split")
        }
        return BenchmarkDataset(
            name: "CLINC150 (\(variant))",
            train: try split("train") + split("oos_train"),
            validation: try split("val") + split("oos_val"),
            test: try split("test") + split("oos_test"),
            outOfScopeLabel: "oos",
            validationSource: "official val + oos_val")
    }

    /// BANKING77 (Casanueva et al., 2020): 77 fine-grained banking intents.
    /// It ships train and test only; the validation split is a stratified
    /// `validationFraction` of train chosen by a stable hash of the text
    /// (the rest is trained on), so the test split is never used for tuning.
    ///
    /// - Parameter location: the `banking77` directory (with `train.csv` and `test.csv`).
    public static func banking77(at location: URL, validationFraction: Double = 0.1,
                                 seed: UInt64 = 20_261_123) throws -> BenchmarkDataset {
        let directory = isDirectory(location) ? location : location.deletingLastPathComponent()
        let fullTrain = try readCSV(directory.appendingPathComponent("train.csv"))
        let test = try readCSV(directory.appendingPathComponent("test.csv"))
        let (train, validation) = stratifiedSplit(fullTrain, fraction: validationFraction, seed: seed)
        return BenchmarkDataset(
            name: "BANKING77", train: train, validation: validation, test: test,
            outOfScopeLabel: nil,
            validationSource: "\(Int((validationFraction * 100).rounded())) % of train, stratified (BANKING77 has no official val)")
    }

    /// Reads a `text,category` CSV file (RFC 4180 quoting).
    static func readCSV(_ file: URL) throws -> [LabeledText] {
        let contents: String
        do {
            contents = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw DatasetError(file: file.path, line: nil, message: "cannot read the file as UTF-8 (\(error.localizedDescription)); pass --data pointing at the banking77 directory")
        }
        let records = try CSVReader.records(contents, file: file.path)
        guard let header = records.first else {
            throw DatasetError(file: file.path, line: 1, message: "empty file; expected a 'text,category' header")
        }
        guard let textColumn = header.fields.firstIndex(of: "text"),
              let labelColumn = header.fields.firstIndex(of: "category") ?? header.fields.firstIndex(of: "label") else {
            throw DatasetError(file: file.path, line: 1, message: "expected columns 'text' and 'category', found \(header.fields)")
        }
        return try records.dropFirst().compactMap { record in
            if record.fields == [""] { return nil }
            guard record.fields.count > max(textColumn, labelColumn) else {
                throw DatasetError(file: file.path, line: record.line, message: "expected \(header.fields.count) fields, found \(record.fields.count)")
            }
            return LabeledText(text: record.fields[textColumn], label: record.fields[labelColumn])
        }
    }

    /// Splits `examples` so that each label keeps `fraction` of its examples
    /// (rounded) on the held-out side, chosen by a stable hash of the text.
    public static func stratifiedSplit(_ examples: [LabeledText], fraction: Double,
                                       seed: UInt64) -> (kept: [LabeledText], heldOut: [LabeledText]) {
        var byLabel: [String: [Int]] = [:]
        for (index, example) in examples.enumerated() { byLabel[example.label, default: []].append(index) }
        var heldOut = Set<Int>()
        for members in byLabel.values {
            let count = Int((Double(members.count) * fraction).rounded())
            let ordered = members.sorted {
                let (a, b) = (StableHash.hash(examples[$0].text, seed: seed), StableHash.hash(examples[$1].text, seed: seed))
                return a != b ? a < b : $0 < $1
            }
            heldOut.formUnion(ordered.prefix(count))
        }
        return (examples.indices.filter { !heldOut.contains($0) }.map { examples[$0] },
                examples.indices.filter { heldOut.contains($0) }.map { examples[$0] })
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}

/// A minimal RFC 4180 reader: quoted fields may hold commas, doubled quotes
/// and newlines; records end at LF or CRLF.
enum CSVReader {
    struct Record: Equatable {
        var fields: [String]
        /// 1-based line where the record starts.
        var line: Int
    }

    static func records(_ text: String, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = Array(text.unicodeScalars)[...]
        var fieldWasQuoted = false
        while let scalar = iterator.popFirst() {
            if inQuotes {
                if scalar == "\"" {
                    if iterator.first == "\"" {
                        iterator.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                guard field.isEmpty, !fieldWasQuoted else {
                    throw DatasetError(file: file, line: line, message: "a quote inside an unquoted field")
                }
                inQuotes = true
                fieldWasQuoted = true
            case ",":
                fields.append(field); field = ""; fieldWasQuoted = false
            case "\r" where iterator.first == "\n":
                continue
            case "\n":
                fields.append(field); field = ""; fieldWasQuoted = false
                records.append(Record(fields: fields, line: recordLine))
                fields = []
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            throw DatasetError(file: file, line: recordLine, message: "a quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted {
            fields.append(field)
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }
}
