import Foundation

/// A trained (or freshly initialised) model as stored on disk: weights plus the
/// metadata needed to use them safely.
///
/// File format: safetensors with `__metadata__` (all values strings):
/// - `format_version`: ``Checkpoint/formatVersion``;
/// - `config`: ``EncoderConfig`` as JSON (snake_case keys);
/// - `labels`: JSON object, output-head name → array of class label strings;
/// - `vocab_hash`: identifies the tokenizer vocabulary the weights were trained with.
public struct Checkpoint: @unchecked Sendable {
    /// The version written by this build.
    public static let formatVersion = "1"
    /// Versions this build can read.
    public static let supportedFormatVersions = ["1"]

    public var weights: EncoderWeights
    /// Head name → class labels (index = logit index).
    public var labels: [String: [String]]
    public var vocabHash: String

    public var config: EncoderConfig { weights.config }

    public init(weights: EncoderWeights, labels: [String: [String]]? = nil, vocabHash: String) {
        self.weights = weights
        self.labels = labels ?? Self.placeholderLabels(for: weights.config)
        self.vocabHash = vocabHash
    }

    /// "0", "1", … for every head: for random-init models and benchmarks.
    public static func placeholderLabels(for config: EncoderConfig) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: config.outputHeads.map { h in (h.name, (0..<h.classes).map(String.init)) })
    }

    /// Reads and validates a checkpoint file.
    ///
    /// - Parameter expectedVocabHash: when given, the checkpoint's `vocab_hash`
    ///   must equal it (a model is useless with another tokenizer vocabulary).
    /// - Throws: ``CheckpointError`` naming the first problem found.
    public static func load(from url: URL, expectedVocabHash: String? = nil) throws -> Checkpoint {
        let data: Data
        do { data = try Data(contentsOf: url, options: [.mappedIfSafe]) } catch {
            throw CheckpointError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, expectedVocabHash: expectedVocabHash)
    }

    /// Validates and decodes checkpoint bytes (see ``load(from:expectedVocabHash:)``).
    public static func decode(_ data: Data, expectedVocabHash: String? = nil) throws -> Checkpoint {
        let file = try Safetensors.File(data: data)
        let meta = file.metadata
        guard let version = meta["format_version"] else { throw CheckpointError.missingMetadata(key: "format_version") }
        // Other model kinds (e.g. an intent classifier) say so in `model`; a bare encoder has no such key.
        if let model = meta["model"], model != "encoder" { throw CheckpointError.wrongModelType(expected: "encoder", found: model) }
        guard supportedFormatVersions.contains(version) else {
            throw CheckpointError.unsupportedFormatVersion(found: version, supported: supportedFormatVersions)
        }
        let config = try CheckpointMetadata.config(EncoderConfig.self, in: meta)

        let labels = try CheckpointMetadata.labels(in: meta)
        for head in config.outputHeads {
            guard let names = labels[head.name] else { throw CheckpointError.invalidLabels("no labels for head '\(head.name)'") }
            guard names.count == head.classes else {
                throw CheckpointError.invalidLabels("head '\(head.name)' has \(head.classes) classes but \(names.count) labels")
            }
        }
        if let extra = Set(labels.keys).subtracting(config.outputHeads.map(\.name)).sorted().first {
            throw CheckpointError.invalidLabels("labels for unknown head '\(extra)'")
        }

        let vocabHash = try CheckpointMetadata.vocabHash(in: meta, expected: expectedVocabHash)

        let expected = EncoderWeights.parameterShapes(for: config)
        let expectedNames = Set(expected.map(\.name))
        if let extra = Set(file.entries.keys).subtracting(expectedNames).sorted().first {
            throw CheckpointError.unexpectedTensor(name: extra)
        }
        var tensors: [String: Tensor] = [:]
        for (name, shape) in expected {
            guard let entry = file.entries[name] else { throw CheckpointError.missingTensor(name: name) }
            guard entry.dtype == "F32" else { throw CheckpointError.wrongDtype(name: name, found: entry.dtype) }
            guard entry.shape == shape else { throw CheckpointError.wrongShape(name: name, expected: shape, found: entry.shape) }
            let t = try file.tensor(name)
            if !t.buffer.allSatisfy({ $0.isFinite }) { throw CheckpointError.nonFiniteWeights(name: name) }
            tensors[name] = t
        }
        return Checkpoint(weights: EncoderWeights(config: config, tensors: tensors), labels: labels, vocabHash: vocabHash)
    }

    /// The checkpoint as safetensors bytes.
    public func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let meta = [
            "format_version": Self.formatVersion,
            "config": String(decoding: try enc.encode(config), as: UTF8.self),
            "labels": String(decoding: try enc.encode(labels), as: UTF8.self),
            "vocab_hash": vocabHash,
        ]
        return try Safetensors.encode(tensors: weights.namedTensors, metadata: meta)
    }

    /// Writes the checkpoint atomically.
    public func save(to url: URL) throws {
        try encoded().write(to: url, options: [.atomic])
    }
}

/// Reading the metadata keys every Concierge checkpoint shares (`config`,
/// `labels`, `vocab_hash`), with the same errors for every model kind.
enum CheckpointMetadata {
    /// The `config` JSON, decoded and validated.
    static func config<Config: Decodable>(_ type: Config.Type, in meta: [String: String],
                                          validate: (Config) throws -> Void) throws -> Config {
        guard let configJSON = meta["config"] else { throw CheckpointError.missingMetadata(key: "config") }
        let config: Config
        do { config = try JSONDecoder().decode(Config.self, from: Data(configJSON.utf8)) } catch {
            throw CheckpointError.invalidConfig("config JSON does not decode (\(error))")
        }
        do { try validate(config) } catch { throw CheckpointError.invalidConfig("\(error)") }
        return config
    }

    static func config(_ type: EncoderConfig.Type, in meta: [String: String]) throws -> EncoderConfig {
        try config(type, in: meta) { try $0.validate() }
    }

    static func config(_ type: ClassifierConfig.Type, in meta: [String: String]) throws -> ClassifierConfig {
        try config(type, in: meta) { try $0.validate() }
    }

    /// The `labels` JSON: head name → class labels.
    static func labels(in meta: [String: String]) throws -> [String: [String]] {
        guard let labelsJSON = meta["labels"] else { throw CheckpointError.missingMetadata(key: "labels") }
        do { return try JSONDecoder().decode([String: [String]].self, from: Data(labelsJSON.utf8)) } catch {
            throw CheckpointError.invalidLabels("labels JSON is not an object of string arrays")
        }
    }

    /// The `vocab_hash`, checked against `expected` when given.
    static func vocabHash(in meta: [String: String], expected: String?) throws -> String {
        guard let vocabHash = meta["vocab_hash"] else { throw CheckpointError.missingMetadata(key: "vocab_hash") }
        if let expected, expected != vocabHash {
            throw CheckpointError.vocabHashMismatch(expected: expected, found: vocabHash)
        }
        return vocabHash
    }
}
