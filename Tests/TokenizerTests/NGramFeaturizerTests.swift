import Foundation
import Testing
import TestSupport
@testable import Tokenizer

@Suite("N-gram features")
struct NGramFeaturizerTests {
    let featurizer = NGramFeaturizer(tokenizer: testTokenizer)

    @Test func wordAndCharacterNGramsOfEnglish() {
        let grams = featurizer.nGrams("Sink LEAKS!")
        #expect(grams.words == ["sink", "leaks", "sink leaks"])
        // Punctuation is not a word; character n-grams are taken inside each
        // word padded with spaces.
        #expect(grams.characters.contains(" si"))
        #expect(grams.characters.contains("eaks "))
        #expect(grams.characters.contains(" sink"))
        #expect(!grams.characters.contains(" sink "), "six characters: longer than the 5-gram limit")
        #expect(!grams.characters.contains { $0.contains("!") })
        #expect(!grams.characters.contains("k l"), "n-grams never cross words")
    }

    @Test func chineseWordsAlsoGiveTheirCharacters() {
        let grams = featurizer.nGrams("厨房水龙头漏水了")
        #expect(grams.words.contains("水龙头"))
        #expect(grams.words.contains("水龙头 漏水"))
        #expect(grams.characters.contains("龙"))
        #expect(grams.characters.contains("水龙"))
    }

    @Test func vectorsAreSortedAndEachBlockHasUnitNorm() {
        let config = NGramFeaturizerConfig(buckets: 1 << 30)  // no collisions for this text
        let features = NGramFeaturizer(config: config, tokenizer: testTokenizer).features("the sink the sink leaks")
        #expect(features.indices == features.indices.sorted())
        #expect(Set(features.indices).count == features.indices.count)
        #expect(features.indices.allSatisfy { $0 >= 0 && Int($0) < config.buckets })
        // Two blocks (words, characters), each of unit L2 norm.
        let squaredNorm = features.values.reduce(0) { $0 + $1 * $1 }
        #expect(abs(squaredNorm - 2) < 1e-4)
        // A repeated n-gram weighs 1 + ln 2, more than a single one.
        #expect(features.values.max()! > features.values.min()!)
    }

    @Test func featuresAreDeterministicAndNormalized() {
        let a = featurizer.features("ＷＡＴＥＲ leak")
        let b = featurizer.features("water LEAK")
        #expect(a == b, "full-width and case variants normalize to the same features")
        #expect(featurizer.features("water leak") == b)
        #expect(featurizer.features("water leak") != featurizer.features("water heater"))
    }

    /// Bit for bit, whatever order a dictionary keeps its keys in: Swift
    /// seeds each dictionary's hashing by process (and storage), and the
    /// features once summed their squares in that order, so two runs of
    /// `concierge train` with the same seed trained different weights.
    /// The norm is summed in the n-grams' order of first occurrence.
    @Test func featuresAreBitIdenticalAndSummedInFirstOccurrenceOrder() {
        let config = NGramFeaturizerConfig(buckets: 1 << 30)  // no collisions
        let exact = NGramFeaturizer(config: config, tokenizer: testTokenizer)
        let text = "the water heater in the basement leaks and the water on the basement floor is rising, 热水器漏水了 热水器"
        let first = exact.features(text)
        for _ in 0..<20 {
            let again = exact.features(text)
            let changed = zip(again.values, first.values).filter { $0 != $1 }.count
            #expect(again.indices == first.indices && changed == 0, "a repeated call changed \(changed) of \(first.count) values")
        }

        let grams = exact.nGrams(text)
        var expected: [Float] = []
        for block in [grams.words, grams.characters] {
            var order: [String] = []
            var counts: [String: Int] = [:]
            for gram in block {
                if counts[gram] == nil { order.append(gram) }
                counts[gram, default: 0] += 1
            }
            let weights = order.map { 1 + Float(log(Double(counts[$0]!))) }
            var squaredNorm: Float = 0
            for weight in weights { squaredNorm += weight * weight }
            let scale = 1 / squaredNorm.squareRoot()
            expected += weights.map { $0 * scale }
        }
        #expect(first.values.sorted() == expected.sorted(), "each value is weight × (1/√Σw², summed in first-occurrence order)")
    }

    @Test func sparseDotSumsTheSharedIndices() {
        let a = SparseFeatures(indices: [1, 4, 7], values: [1, 2, 3])
        let b = SparseFeatures(indices: [0, 4, 7, 9], values: [5, 10, 100, 1])
        #expect(a.dot(b) == 2 * 10 + 3 * 100)
        #expect(b.dot(a) == a.dot(b))
        #expect(a.dot(SparseFeatures()) == 0)
        #expect(SparseFeatures(indices: [2], values: [1]).dot(SparseFeatures(indices: [3], values: [1])) == 0)
    }

    @Test func emptyAndPunctuationOnlyTextGiveNoFeatures() {
        #expect(featurizer.features("").count == 0)
        #expect(featurizer.features("?!…").count == 0)
        #expect(featurizer.features("   ").count == 0)
    }

    @Test func smallBucketCountsSumCollisions() {
        let features = NGramFeaturizer(config: NGramFeaturizerConfig(buckets: 4), tokenizer: testTokenizer)
            .features("a long message about the kitchen sink leaking")
        #expect(features.count <= 4)
        #expect(features.indices.allSatisfy { (0..<4).contains($0) })
    }

    /// The fast path (hashing bytes in place) gives exactly the buckets and
    /// weights of hashing the n-gram strings `nGrams` lists.
    @Test func hashingInPlaceMatchesHashingTheStrings() {
        let config = NGramFeaturizerConfig.standard
        for text in sampleMessages + ["the sink the sink the sink", "电梯电梯坏了", "é café naïve", "a"] {
            let grams = featurizer.nGrams(text)
            var expected: [Int32: Float] = [:]
            for (block, seed) in [(grams.words, UInt64(0x776f_7264)), (grams.characters, UInt64(0x6368_6172))] where !block.isEmpty {
                var counts: [String: Int] = [:]
                for gram in block { counts[gram, default: 0] += 1 }
                let weights = counts.map { gram, count in
                    (Int32(StableHash.hash(gram, seed: seed) % UInt64(config.buckets)), 1 + Float(log(Double(count))))
                }
                let norm = weights.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
                for (bucket, weight) in weights { expected[bucket, default: 0] += weight / norm }
            }
            let features = featurizer.features(text)
            #expect(features.indices == expected.keys.sorted(), "\(text)")
            for (index, value) in zip(features.indices, features.values) {
                #expect(abs(value - expected[index]!) < 1e-5, "\(text)")
            }
        }
    }
}
