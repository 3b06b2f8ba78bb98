import Foundation

/// An ``IntentClassifier`` as stored on disk: weights plus everything needed
/// to use them safely.
///
/// File format: safetensors (see ``Safetensors``) with tensor names from
/// ``ClassifierWeights/parameterShapes(for:)`` and `__metadata__` (all strings):
/// - `format_version`: ``ClassifierCheckpoint/formatVersion``;
/// - `model`: `"intent_classifier"` (a bare encoder checkpoint has no `model` key
///   and is refused with ``CheckpointError/wrongModelType(expected:found:)``);
/// - `config`: ``ClassifierConfig`` as JSON (snake_case keys);
/// - `labels`: JSON object, head name → array of class labels (index = logit index);
/// - `vocab_hash`: the tokenizer vocabulary the weights were trained with;
/// - `extra`: JSON object of free-form strings (data hash, featurizer spec,
///   training time, …), for the caller.
public struct ClassifierCheckpoint: @unchecked Sendable {
    /// The version written by this build.
    public static let formatVersion = "1"
    /// Versions this build can read.
    public static let supportedFormatVersions = ["1"]
    /// Value of the `model` metadata key.
    public static let modelType = "intent_classifier"

    public var weights: ClassifierWeights
    /// Head name → class labels.
    public var labels: [String: [String]]
    public var vocabHash: String
    /// Free-form metadata (e.g. `"data_hash"`, `"featurizer"`).
    public var extra: [String: String]

    public var config: ClassifierConfig { weights.config }

    /// A checkpoint of `weights` (shared, not copied); placeholder labels if `labels` is nil.
    public init(weights: ClassifierWeights, labels: [String: [String]]? = nil, vocabHash: String, extra: [String: String] = [:]) {
        self.weights = weights
        self.labels = labels ?? Self.placeholderLabels(for: weights.config)
        self.vocabHash = vocabHash
        self.extra = extra
    }

    /// "0", "1", … for every head.
    public static func placeholderLabels(for config: ClassifierConfig) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: config.heads.map { h in (h.name, (0..<h.classes).map(String.init)) })
    }

    /// Checks that `labels` has exactly one list of the right length per head.
    public static func validate(labels: [String: [String]], for config: ClassifierConfig) throws {
        for head in config.heads {
            guard let names = labels[head.name] else { throw CheckpointError.invalidLabels("no labels for head '\(head.name)'") }
            guard names.count == head.classes else {
                throw CheckpointError.invalidLabels("head '\(head.name)' has \(head.classes) classes but \(names.count) labels")
            }
        }
        if let extraHead = Set(labels.keys).subtracting(config.heads.map(\.name)).sorted().first {
            throw CheckpointError.invalidLabels("labels for unknown head '\(extraHead)'")
        }
    }

    /// Reads and validates a classifier checkpoint file.
    ///
    /// - Parameter expectedVocabHash: when given, the checkpoint's `vocab_hash` must equal it.
    /// - Throws: ``CheckpointError`` naming the first problem found.
    public static func load(from url: URL, expectedVocabHash: String? = nil) throws -> ClassifierCheckpoint {
        let data: Data
        do { data = try Data(contentsOf: url, options: [.mappedIfSafe]) } catch {
            throw CheckpointError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, expectedVocabHash: expectedVocabHash)
    }

    /// Validates and decodes checkpoint bytes (see ``load(from:expectedVocabHash:)``).
    public static func decode(_ data: Data, expectedVocabHash: String? = nil) throws -> ClassifierCheckpoint {
        let file = try Safetensors.File(data: data)
        let meta = file.metadata
        guard let version = meta["format_version"] else { throw CheckpointError.missingMetadata(key: "format_version") }
        let model = meta["model"] ?? "encoder"
        guard model == modelType else { throw CheckpointError.wrongModelType(expected: modelType, found: model) }
        guard supportedFormatVersions.contains(version) else {
            throw CheckpointError.unsupportedFormatVersion(found: version, supported: supportedFormatVersions)
        }
        let config = try CheckpointMetadata.config(ClassifierConfig.self, in: meta)

        let labels = try CheckpointMetadata.labels(in: meta)
        try validate(labels: labels, for: config)

        let vocabHash = try CheckpointMetadata.vocabHash(in: meta, expected: expectedVocabHash)
        var extra: [String: String] = [:]
        if let extraJSON = meta["extra"] {
            do { extra = try JSONDecoder().decode([String: String].self, from: Data(extraJSON.utf8)) } catch {
                throw CheckpointError.invalidMetadata(key: "extra", reason: "not a JSON object of strings")
            }
        }

        let expected = ClassifierWeights.parameterShapes(for: config)
        if let unexpected = Set(file.entries.keys).subtracting(expected.map(\.name)).sorted().first {
            throw CheckpointError.unexpectedTensor(name: unexpected)
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
        return ClassifierCheckpoint(weights: ClassifierWeights(config: config, tensors: tensors), labels: labels,
                                    vocabHash: vocabHash, extra: extra)
    }

    /// The checkpoint as safetensors bytes. Throws if the labels do not match the heads.
    public func encoded() throws -> Data {
        try Self.validate(labels: labels, for: config)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let meta = [
            "format_version": Self.formatVersion,
            "model": Self.modelType,
            "config": String(decoding: try enc.encode(config), as: UTF8.self),
            "labels": String(decoding: try enc.encode(labels), as: UTF8.self),
            "vocab_hash": vocabHash,
            "extra": String(decoding: try enc.encode(extra), as: UTF8.self),
        ]
        return try Safetensors.encode(tensors: weights.namedTensors, metadata: meta)
    }

    /// Writes the checkpoint atomically.
    public func save(to url: URL) throws {
        try encoded().write(to: url, options: [.atomic])
    }
}
