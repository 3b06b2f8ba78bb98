import Foundation
import Testing
@testable import Model

// MARK: - Fixture helpers

struct ParityFixture: Decodable {
    let tokenIDs: [[Int32]]
    let pooled: [[Double]]
    let logits: [String: [[Double]]]
    let vocabHash: String
    let tolerance: Double
    enum CodingKeys: String, CodingKey {
        case tokenIDs = "token_ids", pooled, logits, vocabHash = "vocab_hash", tolerance
    }
}

func fixtureURL(_ name: String) throws -> URL {
    let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return dir.appendingPathComponent(name)
}

func loadFixture() throws -> (Encoder, ParityFixture) {
    let encoder = try Encoder(checkpoint: fixtureURL("parity_tiny.safetensors"))
    let fixture = try JSONDecoder().decode(ParityFixture.self, from: Data(contentsOf: fixtureURL("parity_tiny.json")))
    return (encoder, fixture)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// A config small enough for debug-mode tests, with a head size (12) that is
/// not a multiple of the vector width.
let testConfig = EncoderConfig(
    vocabSize: 100, dModel: 36, heads: 3, layers: 2, ffnWidth: 52, maxLength: 40,
    outputHeads: [OutputHeadSpec(name: "category", classes: 7), OutputHeadSpec(name: "priority", classes: 3)])

// MARK: - Parity with PyTorch (committed fixture, no Python needed)

@Test("forward matches PyTorch on the committed fixture")
func parityWithPyTorchFixture() throws {
    let (encoder, fixture) = try loadFixture()
    #expect(encoder.vocabHash == fixture.vocabHash)
    #expect(encoder.labels["category"]?.count == 5)
    #expect(fixture.tokenIDs.map(\.count).max()! > fixture.tokenIDs.map(\.count).min()!)  // padding happens
    for threads in [1, 2] {
        let out = try encoder.forward(tokenIDs: fixture.tokenIDs, threads: threads)
        #expect(out.pooled.count == fixture.pooled.count)
        var worst: Float = 0
        for (got, want) in zip(out.pooled, fixture.pooled) { worst = max(worst, maxAbsDiff(got, want.map(Float.init))) }
        for (name, rows) in fixture.logits {
            let got = try #require(out.logits[name])
            for (g, w) in zip(got, rows) { worst = max(worst, maxAbsDiff(g, w.map(Float.init))) }
        }
        #expect(worst <= Float(fixture.tolerance), "max |Swift − PyTorch| = \(worst)")
        #expect(worst < 1e-4)
    }
}

// MARK: - Masking

@Test("a message alone and inside a padded batch gives the same pooled vector")
func paddingDoesNotLeak() throws {
    let (encoder, _) = try loadFixture()
    let message: [Int32] = [7, 3, 22, 9]
    let alone = try encoder.forward(tokenIDs: [message], threads: 1)
    let batch: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], message, [40, 41], [5]]
    for threads in [1, 2] {
        let inBatch = try encoder.forward(tokenIDs: batch, threads: threads)
        #expect(maxAbsDiff(alone.pooled[0], inBatch.pooled[1]) <= 1e-5)
        for head in ["category", "priority"] {
            #expect(maxAbsDiff(alone.logits[head]![0], inBatch.logits[head]![1]) <= 1e-5)
        }
    }
    // The check above has teeth: changing one real token does move the vector.
    let changed = try encoder.forward(tokenIDs: [[7, 3, 22, 10]], threads: 1)
    #expect(maxAbsDiff(alone.pooled[0], changed.pooled[0]) > 1e-3)
}

@Test("one thread and two threads give the same outputs for a ragged batch")
func threadCountDoesNotChangeResults() throws {
    let encoder = try Encoder(config: testConfig, seed: 3)
    var rng = Xoshiro256(seed: 9)
    let batch: [[Int32]] = [33, 1, 7, 40, 12, 2, 19].map { n in (0..<n).map { _ in Int32(rng.next() % 100) } }
    let a = try encoder.forward(tokenIDs: batch, threads: 1)
    let b = try encoder.forward(tokenIDs: batch, threads: 2)
    for (x, y) in zip(a.pooled, b.pooled) { #expect(maxAbsDiff(x, y) <= 1e-6) }
    #expect(a.pooled.count == 7 && b.logits["category"]?.count == 7)
}

@Test("a large ragged batch (many chunks, any thread count) keeps input order and matches each message alone")
func chunkedBatchMatchesSingles() throws {
    let encoder = try Encoder(config: testConfig, seed: 5)
    var rng = Xoshiro256(seed: 11)
    // 90 messages, 0 … 40 tokens, in random order: several chunks of different
    // padded lengths, claimed by whichever thread is free.
    let batch: [[Int32]] = (0..<90).map { _ in
        (0..<Int(rng.next() % 41)).map { _ in Int32(rng.next() % 100) }
    }
    let singles = try batch.map { try encoder.forward(tokenIDs: [$0], threads: 1) }
    for threads in [1, 2, 3] {
        let out = try encoder.forward(tokenIDs: batch, threads: threads)
        #expect(out.pooled.count == batch.count)
        for (i, single) in singles.enumerated() {
            #expect(maxAbsDiff(out.pooled[i], single.pooled[0]) <= 1e-5)
            #expect(maxAbsDiff(out.logits["category"]![i], single.logits["category"]![0]) <= 1e-5)
            #expect(maxAbsDiff(out.logits["priority"]![i], single.logits["priority"]![0]) <= 1e-5)
        }
    }
}

// MARK: - Inputs

@Test("bad token ids and over-long sequences throw; an empty message gets a zero vector")
func inputValidation() throws {
    let encoder = try Encoder(config: testConfig, seed: 1)
    #expect(throws: EncoderInputError.tokenOutOfRange(sequence: 1, position: 2, id: 100, vocabSize: 100)) {
        try encoder.forward(tokenIDs: [[1], [1, 2, 100]])
    }
    #expect(throws: EncoderInputError.self) { try encoder.forward(tokenIDs: [[-1]]) }
    #expect(throws: EncoderInputError.sequenceTooLong(index: 0, length: 41, maxLength: 40)) {
        try encoder.forward(tokenIDs: [Array(repeating: 1, count: 41)])
    }
    let out = try encoder.forward(tokenIDs: [[], [5, 6]])
    #expect(out.pooled[0].allSatisfy { $0 == 0 })
    #expect(out.logits["priority"]![0] == encoder.weights.heads["priority"]!.bias.array)
    #expect(try encoder.forward(tokenIDs: []).pooled.isEmpty)
}

@Test("random init is deterministic in the seed")
func seededInit() throws {
    let a = EncoderWeights(randomWithConfig: testConfig, seed: 7)
    let b = EncoderWeights(randomWithConfig: testConfig, seed: 7)
    let c = EncoderWeights(randomWithConfig: testConfig, seed: 8)
    #expect(a.tokenEmbedding.array == b.tokenEmbedding.array)
    #expect(a.layers[1].upWeight.array == b.layers[1].upWeight.array)
    #expect(a.tokenEmbedding.array != c.tokenEmbedding.array)
    let std = (a.layers[0].qkvWeight.array.map { Double($0 * $0) }.reduce(0, +) / Double(a.layers[0].qkvWeight.count)).squareRoot()
    #expect(abs(std - 0.02) < 0.002)
}

@Test("config validation rejects impossible shapes")
func configValidation() {
    var c = testConfig
    c.heads = 5  // 36 % 5 != 0
    #expect(throws: EncoderConfigError.self) { try c.validate() }
    c = testConfig
    c.outputHeads.append(OutputHeadSpec(name: "category", classes: 2))
    #expect(throws: EncoderConfigError.self) { try c.validate() }
    c = testConfig
    c.ffnWidth = 0
    #expect(throws: EncoderConfigError.self) { try c.validate() }
    #expect(throws: Never.self) { try EncoderConfig.small.validate() }
    #expect(abs(EncoderConfig.small.forwardFLOPs(length: 32) / 1e6 - 26.2) < 0.1)
}
