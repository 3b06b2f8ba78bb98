import Foundation
import Testing
@testable import Model
@testable import Training
import TestSupport

/// Small odd shapes: head size 12 (not a multiple of 8 or 16), sequences of
/// 1 … 13 tokens plus an empty one, a sparse branch with repeated indices.
func tinyConfig(sparse: SparseBranchConfig? = SparseBranchConfig(buckets: 61, width: 20, layerNorm: true, activation: .gelu),
                hidden: Int = 18) -> ClassifierConfig {
    ClassifierConfig(
        encoder: EncoderConfig(vocabSize: 50, dModel: 24, heads: 2, layers: 2, ffnWidth: 40, maxLength: 13, outputHeads: []),
        sparse: sparse, hiddenWidth: hidden,
        heads: [OutputHeadSpec(name: "intent", classes: 5), OutputHeadSpec(name: "priority", classes: 3)])
}

/// Weights with larger values than the training init, so every gradient is
/// well above float32 finite-difference noise.
func scaledWeights(_ config: ClassifierConfig, seed: UInt64) -> ClassifierWeights {
    let w = ClassifierWeights(randomWithConfig: config, seed: seed)
    var rng = Xoshiro256(seed: seed &+ 99)
    for (name, t) in w.namedTensors {
        let isNormGain = name.hasSuffix("norm1.weight") || name.hasSuffix("norm2.weight") || name.hasSuffix("norm.weight")
        for i in 0..<t.count {
            let r = Float(rng.nextNormal())
            t[i] = isNormGain ? 1 + 0.2 * r : 0.3 * r
        }
    }
    return w
}

func tinyExamples(_ config: ClassifierConfig, count: Int = 6, seed: UInt64) -> [PreparedExample] {
    var rng = Xoshiro256(seed: seed)
    let lengths = [7, 1, 13, 4, 0, 10, 3, 12, 5, 9]
    return (0..<count).map { i in
        let n = lengths[i % lengths.count]
        let ids = (0..<n).map { _ in Int32(rng.next() % UInt64(config.encoder.vocabSize)) }
        var idx: [Int32] = [], vals: [Float] = []
        if let s = config.sparse {
            for _ in 0..<(1 + i % 4) {
                idx.append(Int32(rng.next() % UInt64(s.buckets)))
                vals.append(Float(rng.nextUnit()) + 0.5)
            }
            if i % 2 == 0 { idx.append(idx[0]); vals.append(0.7) }  // repeated index
        }
        let intent = Int32(rng.next() % UInt64(config.heads[0].classes))
        let priority: Int32 = i % 3 == 1 ? -1 : Int32(rng.next() % UInt64(config.heads[1].classes))  // head mask
        return PreparedExample(tokenIDs: ids, sparseIndices: idx, sparseValues: vals, labels: [intent, priority])
    }
}

/// Loss of `examples` with the current weight values (no dropout).
func lossOf(_ worker: ShardWorker, _ w: ClassifierWeights, _ examples: [PreparedExample], scales: [Float],
            classWeights: [[Float]] = [], smoothing: Float) -> Double {
    worker.run(examples[...], firstIndex: 0, weights: w, packed: PackedClassifier(w), headScales: scales,
               classWeights: classWeights, labelSmoothing: smoothing, dropout: DropoutRates(), maskSeed: 0, backward: false)
}

/// Dense copy of a parameter's gradient.
func denseGradient(_ worker: ShardWorker, name: String, shape: [Int]) -> [Float] {
    let count = shape.reduce(1, *)
    if name == Gradients.tokenName || name == Gradients.sparseName {
        let rg = name == Gradients.tokenName ? worker.grads.tokens : worker.grads.sparse!
        var out = [Float](repeating: 0, count: count)
        for (i, r) in rg.touched.enumerated() {
            for j in 0..<rg.width { out[Int(r) * rg.width + j] = rg.slotRow(i)[j] }
        }
        return out
    }
    return worker.grads[name].array
}

/// Directional finite differences, one random direction per tensor:
/// (L(θ + εu) − L(θ − εu)) / 2ε against ⟨∇L, u⟩.
func checkGradients(config: ClassifierConfig, examples: [PreparedExample], smoothing: Float, seed: UInt64,
                    classWeights: [[Float]] = []) {
    let w = scaledWeights(config, seed: seed)
    let worker = ShardWorker(config: config)
    let scales: [Float] = config.heads.indices.map { k in
        let weights = k < classWeights.count ? classWeights[k] : []
        let total = examples.filter { $0.labels[k] >= 0 }.reduce(Float(0)) { sum, example in
            sum + (weights.isEmpty ? 1 : weights[Int(example.labels[k])])
        }
        return total > 0 ? 1 / total : 0
    }
    worker.run(examples[...], firstIndex: 0, weights: w, packed: PackedClassifier(w), headScales: scales,
               classWeights: classWeights, labelSmoothing: smoothing, dropout: DropoutRates(), maskSeed: 0, backward: true)
    var rng = Xoshiro256(seed: seed &+ 7)
    for (name, t) in w.namedTensors {
        let g = denseGradient(worker, name: name, shape: t.shape)
        // Direction: random normal, unit length.
        var u = (0..<t.count).map { _ in Float(rng.nextNormal()) }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / norm }
        let analytic = zip(g, u).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let eps: Float = 2e-3
        let saved = t.array
        for i in 0..<t.count { t[i] = saved[i] + eps * u[i] }
        let lp = lossOf(worker, w, examples, scales: scales, classWeights: classWeights, smoothing: smoothing)
        for i in 0..<t.count { t[i] = saved[i] - eps * u[i] }
        let lm = lossOf(worker, w, examples, scales: scales, classWeights: classWeights, smoothing: smoothing)
        for i in 0..<t.count { t[i] = saved[i] }
        let numeric = (lp - lm) / (2 * Double(eps))
        let gNorm = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let err = abs(numeric - analytic)
        let tol = 5e-3 * abs(analytic) + 1e-4 * max(gNorm, 1) + 5e-5
        if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil { print(name, numeric, analytic, err / max(abs(analytic), 1e-12)) }
        #expect(err <= tol, "\(name): numeric \(numeric), analytic \(analytic), |g| \(gNorm)")
    }
}

@Test("whole-model gradients match finite differences (sparse branch LN+GELU, hidden layer, head masks, smoothing)")
func wholeModelGradients() {
    let config = tinyConfig()
    checkGradients(config: config, examples: tinyExamples(config, seed: 3), smoothing: 0.1, seed: 5)
}

@Test("gradients with class-weighted cross-entropy on one head (the priority head's emergency weight)")
func gradientsClassWeighted() {
    let config = tinyConfig()
    checkGradients(config: config, examples: tinyExamples(config, count: 8, seed: 21), smoothing: 0.1, seed: 22,
                   classWeights: [[], [3, 1, 0.5]])
}

@Test("gradients without hidden layer, sparse branch without norm and activation")
func gradientsPlainSparse() {
    let config = tinyConfig(sparse: SparseBranchConfig(buckets: 17, width: 8, layerNorm: false, activation: .none), hidden: 0)
    checkGradients(config: config, examples: tinyExamples(config, count: 5, seed: 8), smoothing: 0, seed: 9)
}

@Test("gradients without a sparse branch")
func gradientsNoSparse() {
    let config = tinyConfig(sparse: nil, hidden: 0)
    checkGradients(config: config, examples: tinyExamples(config, count: 4, seed: 12), smoothing: 0.2, seed: 13)
}
