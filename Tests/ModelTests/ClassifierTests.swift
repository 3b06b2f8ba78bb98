import Foundation
import Testing
@testable import Model

let classifierTestConfig = ClassifierConfig(
    encoder: EncoderConfig(vocabSize: 60, dModel: 24, heads: 2, layers: 2, ffnWidth: 40, maxLength: 20, outputHeads: []),
    sparse: SparseBranchConfig(buckets: 97, width: 12, layerNorm: true, activation: .gelu),
    hiddenWidth: 20,
    heads: [OutputHeadSpec(name: "intent", classes: 7), OutputHeadSpec(name: "priority", classes: 4)])

private func sampleClassifier() throws -> IntentClassifier {
    let model = try IntentClassifier(config: classifierTestConfig, seed: 3)
    // Bigger weights than the init so outputs differ visibly between inputs.
    var rng = Xoshiro256(seed: 4)
    for (_, t) in model.weights.namedTensors { for i in 0..<t.count { t[i] += Float(0.2 * rng.nextNormal()) } }
    model.weightsDidChange()
    model.labels = ["intent": (0..<7).map { "intent-\($0)" }, "priority": ["P1", "P2", "P3", "P4"]]
    model.vocabHash = "vocab-xyz"
    model.extra = ["data_hash": "abc123", "featurizer": "char-3-5"]
    return model
}

private let sampleIDs: [[Int32]] = [[1, 2, 3, 4], [5], [6, 7, 8, 9, 10, 11, 12, 13, 14], []]
private let sampleSparse: [SparseVector] = [
    SparseVector(indices: [1, 50, 96], values: [1, 0.5, 0.25]),
    .empty,
    SparseVector(indices: [3, 3], values: [1, 1]),
    SparseVector(indices: [7], values: [2]),
]

@Test("classifier: probabilities sum to 1, batch equals one-by-one, threads agree, sentence vectors")
func classifierPredict() throws {
    let model = try sampleClassifier()
    let out = try model.forward(tokenIDs: sampleIDs, sparse: sampleSparse, threads: 2)
    #expect(out.features.count == 4 && out.features[0].count == classifierTestConfig.featureWidth)
    #expect(out.pooled[0] == Array(out.features[0].prefix(24)))
    #expect(out.pooled[3].allSatisfy { $0 == 0 })  // empty sequence: zero pooled vector
    for head in classifierTestConfig.heads {
        for row in out.probabilities[head.name]! {
            #expect(row.count == head.classes)
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
        }
    }
    for i in sampleIDs.indices {
        let single = try model.forward(tokenIDs: [sampleIDs[i]], sparse: [sampleSparse[i]], threads: 1)
        for head in classifierTestConfig.heads {
            let a = single.probabilities[head.name]![0], b = out.probabilities[head.name]![i]
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }
    let oneThread = try model.predict(tokenIDs: sampleIDs, sparse: sampleSparse, threads: 1)
    #expect(oneThread == out.probabilities)
    #expect(try model.sentenceVectors(tokenIDs: sampleIDs, sparse: sampleSparse) == out.features)
    // Sparse features change the prediction; nil means "no features".
    let without = try model.predict(tokenIDs: sampleIDs, sparse: nil)
    #expect(without["intent"]![0] != out.probabilities["intent"]![0])
    #expect(without["intent"]![1] == out.probabilities["intent"]![1])
    #expect(try model.predict(tokenIDs: []).allSatisfy { $0.value.isEmpty })
}

@Test("classifier: bad sparse input is an error, not a crash")
func classifierInputErrors() throws {
    let model = try sampleClassifier()
    #expect(throws: ClassifierInputError.sparseCountMismatch(examples: 4, sparseVectors: 1)) {
        try model.predict(tokenIDs: sampleIDs, sparse: [.empty])
    }
    #expect(throws: ClassifierInputError.sparseIndexOutOfRange(example: 0, position: 0, index: 97, buckets: 97)) {
        try model.predict(tokenIDs: [[1]], sparse: [SparseVector(indices: [97], values: [1])])
    }
    #expect(throws: ClassifierInputError.sparseLengthMismatch(example: 0, indices: 1, values: 0)) {
        try model.predict(tokenIDs: [[1]], sparse: [SparseVector(indices: [1], values: [])])
    }
    #expect(throws: ClassifierInputError.nonFiniteSparseValue(example: 0, position: 0)) {
        try model.predict(tokenIDs: [[1]], sparse: [SparseVector(indices: [1], values: [.nan])])
    }
    #expect(throws: EncoderInputError.self) { try model.predict(tokenIDs: [[60]]) }
    #expect(throws: EncoderInputError.self) { try model.predict(tokenIDs: [Array(repeating: 1, count: 21)]) }
}

@Test("classifier checkpoint: save → load round-trips weights and all metadata")
func classifierCheckpointRoundTrip() throws {
    let model = try sampleClassifier()
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-clf-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try model.checkpoint.save(to: url)
    let loaded = try IntentClassifier(checkpoint: url, expectedVocabHash: "vocab-xyz")
    #expect(loaded.config == model.config)
    #expect(loaded.labels == model.labels && loaded.vocabHash == "vocab-xyz" && loaded.extra == model.extra)
    for ((n1, t1), (n2, t2)) in zip(model.weights.namedTensors, loaded.weights.namedTensors) {
        #expect(n1 == n2 && t1.shape == t2.shape && t1.array == t2.array)
    }
    #expect(try loaded.predict(tokenIDs: sampleIDs, sparse: sampleSparse) == model.predict(tokenIDs: sampleIDs, sparse: sampleSparse))
    let file = try Safetensors.File(data: Data(contentsOf: url))
    #expect(file.entries["sparse.embedding.weight"]?.shape == [97, 12])
    #expect(file.entries["hidden.weight"]?.shape == [20, 36])
    #expect(file.entries["heads.intent.weight"]?.shape == [7, 20])
    #expect(file.metadata["model"] == "intent_classifier")
}

private func expectClassifierLoadError(_ data: Data, expectedVocabHash: String? = nil, _ check: (CheckpointError) -> Bool,
                                       sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try ClassifierCheckpoint.decode(data, expectedVocabHash: expectedVocabHash)
        Issue.record("loading succeeded; expected an error", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(check(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
    } catch {
        Issue.record("wrong error type: \(error)", sourceLocation: sourceLocation)
    }
}

private func editedClassifier(_ c: ClassifierCheckpoint, tensors edit: (inout [(name: String, tensor: Tensor)]) -> Void = { _ in },
                              metadata editMeta: (inout [String: String]) -> Void = { _ in }) throws -> Data {
    let file = try Safetensors.File(data: c.encoded())
    var meta = file.metadata
    editMeta(&meta)
    var tensors = c.weights.namedTensors
    edit(&tensors)
    return try Safetensors.encode(tensors: tensors, metadata: meta)
}

@Test("classifier checkpoint: every kind of bad file is refused with a clear error")
func classifierCheckpointErrors() throws {
    let c = try sampleClassifier().checkpoint
    expectClassifierLoadError(try c.encoded(), expectedVocabHash: "other") { $0 == .vocabHashMismatch(expected: "other", found: "vocab-xyz") }
    // A bare encoder checkpoint is not a classifier (and vice versa).
    let encoderData = try Encoder(config: .small, seed: 1).checkpoint.encoded()
    expectClassifierLoadError(encoderData) { $0 == .wrongModelType(expected: "intent_classifier", found: "encoder") }
    #expect(throws: CheckpointError.wrongModelType(expected: "encoder", found: "intent_classifier")) { try Checkpoint.decode(try c.encoded()) }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["format_version"] = "9" })) {
        if case .unsupportedFormatVersion = $0 { return true } else { return false }
    }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["config"] = nil })) { $0 == .missingMetadata(key: "config") }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["config"] = "{\"encoder\": 3}" })) {
        if case .invalidConfig = $0 { return true } else { return false }
    }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["labels"] = "{\"intent\": [\"a\"]}" })) {
        if case .invalidLabels = $0 { return true } else { return false }
    }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["extra"] = "[1, 2]" })) {
        $0 == .invalidMetadata(key: "extra", reason: "not a JSON object of strings")
    }
    expectClassifierLoadError(try editedClassifier(c, metadata: { $0["vocab_hash"] = nil })) { $0 == .missingMetadata(key: "vocab_hash") }
    expectClassifierLoadError(try editedClassifier(c, tensors: { $0.removeAll { $0.name == "hidden.bias" } })) {
        $0 == .missingTensor(name: "hidden.bias")
    }
    expectClassifierLoadError(try editedClassifier(c, tensors: { $0.append(("heads.mood.weight", Tensor(shape: [2, 20]))) })) {
        $0 == .unexpectedTensor(name: "heads.mood.weight")
    }
    expectClassifierLoadError(try editedClassifier(c, tensors: { t in
        let i = t.firstIndex { $0.name == "sparse.embedding.weight" }!
        t[i] = ("sparse.embedding.weight", Tensor(shape: [96, 12]))
    })) { $0 == .wrongShape(name: "sparse.embedding.weight", expected: [97, 12], found: [96, 12]) }
    expectClassifierLoadError(try editedClassifier(c, tensors: { t in
        let bad = Tensor(shape: [20])
        bad[3] = .infinity
        let i = t.firstIndex { $0.name == "hidden.bias" }!
        t[i] = ("hidden.bias", bad)
    })) { $0 == .nonFiniteWeights(name: "hidden.bias") }
    // Labels that do not fit the heads are refused at save time too.
    var broken = c
    broken.labels = ["intent": ["x"]]
    #expect(throws: CheckpointError.self) { try broken.encoded() }
}

@Test("classifier config: validation and JSON round trip")
func classifierConfigValidation() throws {
    try classifierTestConfig.validate()
    let json = try JSONEncoder().encode(classifierTestConfig)
    #expect(try JSONDecoder().decode(ClassifierConfig.self, from: json) == classifierTestConfig)
    #expect(String(decoding: json, as: UTF8.self).contains("\"hidden_width\":20"))
    var bad = classifierTestConfig
    bad.heads = []
    #expect(throws: EncoderConfigError.self) { try bad.validate() }
    bad = classifierTestConfig
    bad.sparse?.buckets = 0
    #expect(throws: EncoderConfigError.self) { try bad.validate() }
    bad = classifierTestConfig
    bad.encoder.outputHeads = [OutputHeadSpec(name: "x", classes: 2)]
    #expect(throws: EncoderConfigError.self) { try bad.validate() }
    bad = classifierTestConfig
    bad.heads.append(OutputHeadSpec(name: "intent", classes: 2))
    #expect(throws: EncoderConfigError.self) { try bad.validate() }
    #expect(classifierTestConfig.featureWidth == 36 && classifierTestConfig.headInputWidth == 20)
}
