import Foundation
import Testing
@testable import Model
import Kernels
@testable import Training
import TestSupport

private func randomArray(_ n: Int, _ rng: inout SeededGenerator) -> [Float] {
    (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
}

@Test("strided GEMM matches a naive product for odd shapes and all stride patterns")
func stridedGemmMatchesNaive() {
    var rng = SeededGenerator(seed: 11)
    for (m, depth, n) in [(1, 1, 1), (7, 5, 3), (13, 300, 17), (6, 16, 16), (31, 33, 40), (5, 257, 70)] {
        let a = randomArray(m * depth, &rng), w = randomArray(depth * n, &rng), y0 = randomArray(m * n, &rng)
        // x row-major (xRow = depth, xStep = 1) and transposed (xRow = 1, xStep = m).
        let aT = (0..<(depth * m)).map { i in a[(i % m) * depth + i / m] }
        for transposed in [false, true] {
            for accumulate in [false, true] {
                var y = y0
                let src = transposed ? aT : a
                src.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        y.withUnsafeMutableBufferPointer { yp in
                            stridedGemm(xp.baseAddress!, rows: m, depth: depth, xRow: transposed ? 1 : depth, xStep: transposed ? m : 1,
                                        wp.baseAddress!, wStep: n, columns: n, into: yp.baseAddress!, ldy: n, accumulate: accumulate)
                        }
                    }
                }
                var worst: Float = 0
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Double = accumulate ? Double(y0[i * n + j]) : 0
                        for d in 0..<depth { s += Double(a[i * depth + d]) * Double(w[d * n + j]) }
                        worst = max(worst, abs(Float(s) - y[i * n + j]))
                    }
                }
                #expect(worst < 1e-4 * Float(depth).squareRoot(), "m \(m) depth \(depth) n \(n) transposed \(transposed): \(worst)")
            }
        }
    }
}

@Test("weight-gradient GEMM (packed X) matches dYᵀ·X for odd shapes")
func transposedGemmMatchesNaive() {
    var rng = SeededGenerator(seed: 12)
    let scratch = GemmScratch()
    for (rows, n, k) in [(1, 1, 1), (9, 7, 5), (300, 13, 17), (64, 70, 24), (513, 6, 33)] {
        let dy = randomArray(rows * n, &rng), x = randomArray(rows * k, &rng), w0 = randomArray(n * k, &rng)
        var dW = w0
        dy.withUnsafeBufferPointer { dp in
            x.withUnsafeBufferPointer { xp in
                dW.withUnsafeMutableBufferPointer { wp in
                    gemmTransposedAccumulate(dp.baseAddress!, rows: rows, outer: n, xp.baseAddress!, inner: k, into: wp.baseAddress!, scratch: scratch)
                }
            }
        }
        var worst: Float = 0
        for i in 0..<n {
            for j in 0..<k {
                var s = Double(w0[i * k + j])
                for r in 0..<rows { s += Double(dy[r * n + i]) * Double(x[r * k + j]) }
                worst = max(worst, abs(Float(s) - dW[i * k + j]))
            }
        }
        #expect(worst < 1e-4 * Float(rows).squareRoot(), "rows \(rows) n \(n) k \(k): \(worst)")
    }
}

@Test("attention backward matches finite differences on one ragged shard")
func attentionBackwardFiniteDifferences() {
    var rng = SeededGenerator(seed: 13)
    let heads = 3, hd = 5, d = heads * hd
    let layout = RaggedLayout(lengths: [4, 1, 7, 0, 3], heads: heads)
    let qkv = randomArray(layout.rows * 3 * d, &rng)
    let upstream = randomArray(layout.rows * d, &rng)  // loss = Σ upstream ∘ att
    let scratch = Tensor(shape: [raggedAttentionScratchCount(maxLength: 7, headDim: hd)])
    func loss(_ q: [Float]) -> Double {
        let att = Tensor(shape: [layout.rows * d]), probs = Tensor(shape: [layout.probCount])
        q.withUnsafeBufferPointer { raggedAttentionForward(qkv: $0.baseAddress!, layout: layout, heads: heads, headDim: hd,
                                                           att: att.pointer, probs: probs.pointer, scratch: scratch.pointer) }
        return zip(att.array, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    let att = Tensor(shape: [layout.rows * d]), probs = Tensor(shape: [layout.probCount]), dQKV = Tensor(shape: [layout.rows * 3 * d])
    qkv.withUnsafeBufferPointer { q in
        raggedAttentionForward(qkv: q.baseAddress!, layout: layout, heads: heads, headDim: hd, att: att.pointer, probs: probs.pointer, scratch: scratch.pointer)
        upstream.withUnsafeBufferPointer { u in
            raggedAttentionBackward(qkv: q.baseAddress!, probs: probs.pointer, dAtt: u.baseAddress!, layout: layout, heads: heads,
                                    headDim: hd, dQKV: dQKV.pointer, scratch: scratch.pointer)
        }
    }
    var worst = 0.0
    for i in 0..<qkv.count {
        var plus = qkv, minus = qkv
        plus[i] += 1e-2
        minus[i] -= 1e-2
        let numeric = (loss(plus) - loss(minus)) / 2e-2
        worst = max(worst, abs(numeric - Double(dQKV[i])))
    }
    #expect(worst < 2e-3, "max |numeric − analytic| = \(worst)")
}

@Test("layer norm and GELU backward match finite differences")
func layerNormAndGeluBackward() {
    var rng = SeededGenerator(seed: 14)
    let rows = 3, dim = 11
    let x = randomArray(rows * dim, &rng).map { $0 * 3 + 0.5 }, gamma = randomArray(dim, &rng), beta = randomArray(dim, &rng)
    let up = randomArray(rows * dim, &rng)
    func lnLoss(_ x: [Float], _ g: [Float], _ b: [Float]) -> Double {
        var y = [Float](repeating: 0, count: rows * dim)
        layerNorm(x, rows: rows, dim: dim, gamma: g, beta: b, epsilon: 1e-5, into: &y)
        return zip(y, up).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var mean = [Float](repeating: 0, count: rows), rstd = mean, y = x
    layerNorm(x, rows: rows, dim: dim, gamma: gamma, beta: beta, epsilon: 1e-5, into: &y, mean: &mean, rstd: &rstd)
    var dx = [Float](repeating: 0, count: rows * dim), dg = [Float](repeating: 0, count: dim), db = dg
    layerNormBackward(x: x, mean: mean, rstd: rstd, gamma: gamma, dy: up, rows: rows, dim: dim, dx: &dx, accumulate: false, dGamma: &dg, dBeta: &db)
    let h: Float = 1e-2
    for i in 0..<(rows * dim) {
        var p = x, m = x
        p[i] += h; m[i] -= h
        #expect(abs((lnLoss(p, gamma, beta) - lnLoss(m, gamma, beta)) / Double(2 * h) - Double(dx[i])) < 2e-3)
    }
    for j in 0..<dim {
        var p = gamma, m = gamma
        p[j] += h; m[j] -= h
        #expect(abs((lnLoss(x, p, beta) - lnLoss(x, m, beta)) / Double(2 * h) - Double(dg[j])) < 2e-3)
        var pb = beta, mb = beta
        pb[j] += h; mb[j] -= h
        #expect(abs((lnLoss(x, gamma, pb) - lnLoss(x, gamma, mb)) / Double(2 * h) - Double(db[j])) < 2e-3)
    }
    // GELU′ over a range that covers the saturated tails.
    let pre = stride(from: Float(-12), through: 12, by: 0.37).map { $0 }
    var grad = [Float](repeating: 0, count: pre.count)
    geluBackward(pre: pre, dy: [Float](repeating: 1, count: pre.count), count: pre.count, into: &grad)
    for (i, v) in pre.enumerated() {
        let e = 1e-2
        func g(_ x: Double) -> Double { 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
        let numeric = (g(Double(v) + e) - g(Double(v) - e)) / (2 * e)
        #expect(abs(numeric - Double(grad[i])) < 1e-3, "gelu′(\(v)): \(numeric) vs \(grad[i])")
    }
}

@Test("learning-rate schedule: warm-up, linear and cosine decay, floor")
func scheduleShape() {
    let lin = LearningRateSchedule(warmupSteps: 10, totalSteps: 110, decay: .linear)
    #expect(lin.multiplier(at: 0) == 0.1 && lin.multiplier(at: 9) == 1)
    #expect(abs(lin.multiplier(at: 60) - 0.5) < 1e-6 && lin.multiplier(at: 110) == 0)
    let cos = LearningRateSchedule(warmupSteps: 0, totalSteps: 100, decay: .cosine, floorFraction: 0.1)
    #expect(abs(cos.multiplier(at: 0) - 1) < 1e-6 && abs(cos.multiplier(at: 50) - 0.55) < 1e-5 && abs(cos.multiplier(at: 100) - 0.1) < 1e-6)
    #expect(LearningRateSchedule(warmupSteps: 5, totalSteps: 50, decay: .constant).multiplier(at: 30) == 1)
}

@Test("AdamW step equals the PyTorch formula (decoupled decay on weights only, clipping scales the gradient)")
func adamWFormula() throws {
    let config = tinyConfig(sparse: SparseBranchConfig(buckets: 11, width: 4, layerNorm: false), hidden: 0)
    let w = scaledWeights(config, seed: 31)
    let before = w.copy()
    var options = TrainingOptions()
    options.threads = 1
    options.dropout = 0
    options.sparseDropout = 0
    options.clipNorm = 0.5
    options.weightDecay = 0.1
    options.labelSmoothing = 0
    let engine = try TrainingEngine(weights: w, options: options)
    let examples = tinyExamples(config, count: 4, seed: 32)
    // Gradients at the starting point, from a probe worker.
    let probe = ShardWorker(config: config)
    let scales: [Float] = config.heads.indices.map { k in 1 / Float(max(1, examples.filter { $0.labels[k] >= 0 }.count)) }
    probe.run(examples[...], firstIndex: 0, weights: before, packed: PackedClassifier(before), headScales: scales,
              labelSmoothing: 0, dropout: DropoutRates(), maskSeed: 0, backward: true)
    let result = try engine.step(examples[...], learningRate: 0.01, sparseLearningRate: 0.05)
    var total = 0.0
    for (name, t) in before.namedTensors {
        total += denseGradient(probe, name: name, shape: t.shape).reduce(0.0) { $0 + Double($1) * Double($1) }
    }
    #expect(abs(result.gradientNorm - total.squareRoot()) < 1e-4 * total.squareRoot())
    let clip = Float(0.5 / total.squareRoot())
    #expect(clip < 1)
    for ((name, old), (_, new)) in zip(before.namedTensors, w.namedTensors) {
        let g = denseGradient(probe, name: name, shape: old.shape)
        let sparseTable = name == Gradients.sparseName
        let decay = old.shape.count == 2 && !name.contains("embedding")
        let lr: Float = sparseTable ? 0.05 : 0.01
        for i in 0..<old.count {
            let gi = g[i] * clip
            var expected = old[i]
            if sparseTable && gi == 0 {
                // Lazy: untouched sparse rows do not move.
            } else {
                // First step: m̂ = g, v̂ = g², so the Adam step is lr · g / (|g| + ε).
                if decay { expected *= 1 - 0.01 * 0.1 }
                expected -= lr * gi / (abs(gi) + 1e-8)
            }
            #expect(abs(new[i] - expected) <= 1e-5 * max(1, abs(expected)), "\(name)[\(i)]: \(new[i]) vs \(expected)")
            if abs(new[i] - expected) > 1e-5 * max(1, abs(expected)) { break }
        }
    }
}

@Test("sparse SGD and lazy token-embedding updates touch only the rows in the batch")
func sparseUpdates() throws {
    let config = tinyConfig(sparse: SparseBranchConfig(buckets: 61, width: 6, layerNorm: true), hidden: 0)
    let w = scaledWeights(config, seed: 41)
    let before = w.copy()
    var options = TrainingOptions()
    options.threads = 2
    options.sparseOptimizer = .sgd
    options.lazyTokenEmbedding = true
    let engine = try TrainingEngine(weights: w, options: options)
    let examples = tinyExamples(config, count: 5, seed: 42)
    try engine.step(examples[...], learningRate: 0.01, sparseLearningRate: 0.1)
    let usedTokens = Set(examples.flatMap(\.tokenIDs).map(Int.init)), usedBuckets = Set(examples.flatMap(\.sparseIndices).map(Int.init))
    func changedRows(_ a: Tensor, _ b: Tensor, width: Int) -> Set<Int> {
        Set((0..<(a.count / width)).filter { r in (0..<width).contains { a[r * width + $0] != b[r * width + $0] } })
    }
    #expect(changedRows(before.encoder.tokenEmbedding, w.encoder.tokenEmbedding, width: 24) == usedTokens)
    #expect(changedRows(before.sparseEmbedding!, w.sparseEmbedding!, width: 6) == usedBuckets)
}
