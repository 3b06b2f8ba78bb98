import Foundation
import Testing
@testable import Model

private func sampleCheckpoint() throws -> Checkpoint {
    let encoder = try Encoder(config: testConfig, seed: 11)
    encoder.vocabHash = "vocab-abc"
    return encoder.checkpoint
}

/// Safetensors bytes from raw entries, to craft broken files.
private func rawSafetensors(header: [String: Any], data: Data) throws -> Data {
    let json = try JSONSerialization.data(withJSONObject: header)
    var out = Data()
    var n = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    return out + json + data
}

/// Re-encodes a checkpoint with its tensors and metadata edited.
private func edited(
    _ c: Checkpoint, tensors edit: (inout [(name: String, tensor: Tensor)]) -> Void = { _ in },
    metadata editMeta: (inout [String: String]) -> Void = { _ in }
) throws -> Data {
    let file = try Safetensors.File(data: c.encoded())
    var meta = file.metadata
    editMeta(&meta)
    var tensors = c.weights.namedTensors
    edit(&tensors)
    return try Safetensors.encode(tensors: tensors, metadata: meta)
}

private func expectLoadError(_ data: Data, expectedVocabHash: String? = nil, _ check: (CheckpointError) -> Bool,
                             sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try Checkpoint.decode(data, expectedVocabHash: expectedVocabHash)
        Issue.record("loading succeeded; expected an error", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(check(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
    } catch {
        Issue.record("wrong error type: \(error)", sourceLocation: sourceLocation)
    }
}

@Test("save → load round-trips weights, config, labels and vocab hash")
func checkpointRoundTrip() throws {
    let c = try sampleCheckpoint()
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("concierge-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try c.save(to: url)
    let loaded = try Checkpoint.load(from: url, expectedVocabHash: "vocab-abc")
    #expect(loaded.config == c.config)
    #expect(loaded.labels == c.labels)
    #expect(loaded.vocabHash == "vocab-abc")
    for ((n1, t1), (n2, t2)) in zip(c.weights.namedTensors, loaded.weights.namedTensors) {
        #expect(n1 == n2 && t1.shape == t2.shape && t1.array == t2.array)
    }
    let ids: [[Int32]] = [[1, 2, 3], [4]]
    #expect(try Encoder(checkpoint: c).forward(tokenIDs: ids) == Encoder(checkpoint: url).forward(tokenIDs: ids))
}

@Test("header is valid safetensors: 8-byte aligned, sorted, with metadata")
func headerLayout() throws {
    let data = try sampleCheckpoint().encoded()
    let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    #expect((8 + Int(n)) % 8 == 0)
    let file = try Safetensors.File(data: data)
    #expect(file.metadata["format_version"] == "1")
    #expect(file.entries["layers.1.attention.qkv.weight"]?.shape == [108, 36])
    #expect(file.entries["heads.priority.bias"]?.shape == [3])
}

@Test("wrong vocabulary hash is refused")
func vocabHashMismatch() throws {
    let data = try sampleCheckpoint().encoded()
    expectLoadError(data, expectedVocabHash: "other-vocab") { $0 == .vocabHashMismatch(expected: "other-vocab", found: "vocab-abc") }
    #expect(throws: Never.self) { try Checkpoint.decode(data, expectedVocabHash: "vocab-abc") }
}

@Test("truncated files and bad headers throw, never crash")
func truncatedAndCorrupt() throws {
    let data = try sampleCheckpoint().encoded()
    expectLoadError(data.prefix(data.count - 1)) { if case .truncated = $0 { return true }; return false }
    expectLoadError(data.prefix(100)) { if case .headerOutOfBounds = $0 { return true }; return false }
    expectLoadError(data.prefix(5)) { $0 == .truncated(needed: 8, fileSize: 5) }
    expectLoadError(Data()) { $0 == .truncated(needed: 8, fileSize: 0) }
    var huge = data
    huge.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
    expectLoadError(huge) { if case .headerOutOfBounds = $0 { return true }; return false }
    var garbage = data
    garbage[10] = UInt8(ascii: "}")
    expectLoadError(garbage) { if case .invalidHeader = $0 { return true }; return false }
    expectLoadError(try rawSafetensors(header: ["a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 4]]], data: Data(count: 8))) {
        if case .invalidHeader = $0 { return true }; return false  // 4 bytes for 2 floats
    }
    expectLoadError(try rawSafetensors(header: ["a": ["dtype": "F32", "shape": [1], "data_offsets": [8, 4]]], data: Data(count: 8))) {
        if case .tensorOutOfBounds = $0 { return true }; return false
    }
}

@Test("missing, unexpected, mis-shaped, mistyped and non-finite tensors are named")
func tensorProblems() throws {
    let c = try sampleCheckpoint()
    expectLoadError(try edited(c, tensors: { $0.removeAll { $0.name == "layers.1.ffn.down.bias" } })) {
        $0 == .missingTensor(name: "layers.1.ffn.down.bias")
    }
    expectLoadError(try edited(c, tensors: { $0.append(("layers.2.norm1.weight", Tensor(shape: [36]))) })) {
        $0 == .unexpectedTensor(name: "layers.2.norm1.weight")
    }
    expectLoadError(try edited(c, tensors: { t in
        let i = t.firstIndex { $0.name == "position_embedding.weight" }!
        t[i].tensor = Tensor(shape: [39, 36])
    })) { $0 == .wrongShape(name: "position_embedding.weight", expected: [40, 36], found: [39, 36]) }
    expectLoadError(try edited(c, tensors: { t in
        let i = t.firstIndex { $0.name == "final_norm.bias" }!
        t[i].tensor[3] = .nan
    })) { $0 == .nonFiniteWeights(name: "final_norm.bias") }

    // An F16 tensor where F32 is required.
    let file = try Safetensors.File(data: c.encoded())
    var header: [String: Any] = ["__metadata__": file.metadata]
    var blob = Data()
    for (name, t) in c.weights.namedTensors {
        let bytes = name == "final_norm.weight" ? Data(count: t.count * 2) : Data(buffer: UnsafeBufferPointer(start: t.pointer, count: t.count))
        header[name] = ["dtype": name == "final_norm.weight" ? "F16" : "F32", "shape": t.shape,
                        "data_offsets": [blob.count, blob.count + bytes.count]]
        blob.append(bytes)
    }
    expectLoadError(try rawSafetensors(header: header, data: blob)) { $0 == .wrongDtype(name: "final_norm.weight", found: "F16") }
}

@Test("metadata problems: version, config, labels, missing keys")
func metadataProblems() throws {
    let c = try sampleCheckpoint()
    expectLoadError(try edited(c, metadata: { $0["format_version"] = "2" })) {
        $0 == .unsupportedFormatVersion(found: "2", supported: ["1"])
    }
    for key in ["format_version", "config", "labels", "vocab_hash"] {
        expectLoadError(try edited(c, metadata: { $0[key] = nil })) { $0 == .missingMetadata(key: key) }
    }
    expectLoadError(try edited(c, metadata: { $0["config"] = "{\"d_model\": 3}" })) {
        if case .invalidConfig = $0 { return true }; return false
    }
    expectLoadError(try edited(c, metadata: { m in
        m["config"] = m["config"]!.replacingOccurrences(of: "\"heads\":3", with: "\"heads\":5")
    })) { if case .invalidConfig = $0 { return true }; return false }
    expectLoadError(try edited(c, metadata: { $0["labels"] = "{\"category\": [\"a\"], \"priority\": [\"x\", \"y\", \"z\"]}" })) {
        if case .invalidLabels = $0 { return true }; return false
    }
    expectLoadError(try edited(c, metadata: { $0["labels"] = "[1, 2]" })) {
        if case .invalidLabels = $0 { return true }; return false
    }
}

@Test("an unreadable path throws")
func unreadablePath() {
    #expect(throws: CheckpointError.self) {
        try Encoder(checkpoint: URL(fileURLWithPath: "/nonexistent/dir/model.safetensors"))
    }
}
