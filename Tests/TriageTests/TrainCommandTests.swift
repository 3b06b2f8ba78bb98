import Foundation
import Testing
import TestSupport

/// `concierge train --seed N`: "same seed and data give the same model",
/// across processes. Each process seeds Swift's hashing afresh, so anything
/// in the pipeline that sums floats in a dictionary's order (the n-gram
/// features once did) makes two runs differ; one process could not see it.
@Suite("concierge train is reproducible")
struct TrainCommandTests {
    /// Trains one epoch of the shipped pack in a fresh home; returns the model file's bytes.
    private func trainedModel(seed: Int) throws -> Data {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let result = try runConcierge(["train", "--home", home.url.path, "--epochs", "1", "--seed", "\(seed)"])
        #expect(result.status == 0, "\(result.stderr)")
        let models = home.url.appendingPathComponent("models")
        let keys = try FileManager.default.contentsOfDirectory(atPath: models.path)
        try #require(keys.count == 1, "one model: \(keys)")
        return try Data(contentsOf: models.appendingPathComponent(keys[0]).appendingPathComponent("model.safetensors"))
    }

    @Test func theSameSeedWritesTheSameModelFileInAnotherProcess() throws {
        let first = try trainedModel(seed: 5)
        let second = try trainedModel(seed: 5)
        #expect(first.count > 100_000)
        #expect(first == second, "two processes, one seed: the weights and their metadata are byte-identical")
        #expect(try trainedModel(seed: 6) != first, "another seed trains another model")
    }
}
