import Foundation
import Testing
@testable import Kernels

private let tolerance: Float = 1e-4

// MARK: - Matmul

struct MatmulShape: CustomTestStringConvertible, Sendable {
    let m: Int, n: Int, k: Int, bias: Bool, residual: Bool
    var testDescription: String { "m\(m) n\(n) k\(k) bias:\(bias) residual:\(residual)" }
}

private let matmulShapes: [MatmulShape] = {
    var shapes = [
        MatmulShape(m: 1, n: 1, k: 1, bias: false, residual: false),
        MatmulShape(m: 6, n: 16, k: 8, bias: true, residual: false),
        MatmulShape(m: 7, n: 17, k: 33, bias: true, residual: true),
        MatmulShape(m: 13, n: 40, k: 128, bias: true, residual: false),
        MatmulShape(m: 32, n: 384, k: 128, bias: true, residual: false),
        MatmulShape(m: 101, n: 9, k: 5, bias: false, residual: true),  // > one row block
        MatmulShape(m: 5, n: 3, k: 0, bias: true, residual: false),  // empty reduction: y = b
        MatmulShape(m: 8, n: 20, k: 600, bias: true, residual: true),  // several depth chunks (256)
    ]
    var rng = TestRNG(seed: 11)
    for _ in 0..<8 {
        shapes.append(MatmulShape(
            m: rng.int(1...30), n: rng.int(1...70), k: rng.int(1...90),
            bias: rng.next() & 1 == 0, residual: rng.next() & 1 == 0))
    }
    return shapes
}()

@Test("matmul matches the scalar reference", arguments: matmulShapes)
func matmulMatchesReference(shape: MatmulShape) {
    var rng = TestRNG(seed: UInt64(shape.m * 1000 + shape.n * 10 + shape.k))
    let x = rng.floats(shape.m * shape.k)
    let w = rng.floats(shape.n * shape.k)
    let b = shape.bias ? rng.floats(shape.n) : nil
    let r = shape.residual ? rng.floats(shape.m * shape.n) : nil
    let expected = Reference.linear(x: x, m: shape.m, k: shape.k, w: w, n: shape.n, bias: b, residual: r)

    var packed = [Float](repeating: .nan, count: packedWeightCount(n: shape.n, k: shape.k))
    packWeights(w, n: shape.n, k: shape.k, into: &packed)
    // Guard words after y catch out-of-bounds stores in the partial-panel path.
    var y = [Float](repeating: .nan, count: shape.m * shape.n + 16)
    if let r { for i in r.indices { y[i] = r[i] } }
    for i in (shape.m * shape.n)..<y.count { y[i] = 12345 }
    y.withUnsafeMutableBufferPointer { yp in
        // Residual in place (r aliases y) when requested.
        matmul(x, rows: shape.m, inner: shape.k, packedWeights: packed, columns: shape.n,
               bias: b, residual: r == nil ? nil : UnsafePointer(yp.baseAddress!), into: yp.baseAddress!)
    }
    #expect(relativeMaxError(Array(y[0..<(shape.m * shape.n)]), expected) <= tolerance)
    #expect(y[(shape.m * shape.n)...].allSatisfy { $0 == 12345 })
}

@Test("matmulGELU = GELU(x·Wᵀ + b), with the pre-activation on request", arguments: [(7, 17, 33), (13, 40, 300)])
func matmulGELUMatchesReference(m: Int, n: Int, k: Int) {
    var rng = TestRNG(seed: UInt64(m + n + k))
    let x = rng.floats(m * k), w = rng.floats(n * k), b = rng.floats(n)
    let pre = Reference.linear(x: x, m: m, k: k, w: w, n: n, bias: b, residual: nil)
    var packed = [Float](repeating: 0, count: packedWeightCount(n: n, k: k))
    packWeights(w, n: n, k: k, into: &packed)
    var y = [Float](repeating: .nan, count: m * n), p = [Float](repeating: .nan, count: m * n)
    matmulGELU(x, rows: m, inner: k, packedWeights: packed, columns: n, bias: b, into: &y, preActivation: &p)
    #expect(relativeMaxError(p, pre) <= tolerance)
    #expect(relativeMaxError(y, pre.map(Reference.gelu)) <= tolerance)
    var y2 = [Float](repeating: .nan, count: m * n)
    matmulGELU(x, rows: m, inner: k, packedWeights: packed, columns: n, bias: b, into: &y2, preActivation: nil)
    #expect(y2 == y)
}

@Test("packWeightsKN packs B[k, n] like packWeights packs Bᵀ")
func packKNMatchesTransposedPack() {
    var rng = TestRNG(seed: 5)
    let n = 21, k = 10
    let w = rng.floats(n * k)  // n × k
    var bKN = [Float](repeating: 0, count: k * n)
    for j in 0..<n { for p in 0..<k { bKN[p * n + j] = w[j * k + p] } }
    var a = [Float](repeating: 1, count: packedWeightCount(n: n, k: k))
    var b = [Float](repeating: 2, count: packedWeightCount(n: n, k: k))
    packWeights(w, n: n, k: k, into: &a)
    packWeightsKN(bKN, k: k, n: n, into: &b)
    #expect(a == b)
}

// MARK: - Layer norm, GELU, softmax

@Test("layerNorm matches the scalar reference", arguments: [(1, 1), (3, 7), (4, 32), (5, 128), (2, 257)])
func layerNormMatchesReference(rows: Int, dim: Int) {
    var rng = TestRNG(seed: UInt64(rows * 31 + dim))
    // A large offset checks the two-pass variance.
    let x = rng.floats(rows * dim, scale: 3).map { $0 + 50 }
    let g = rng.floats(dim), b = rng.floats(dim)
    let ref = Reference.layerNorm(x: x, rows: rows, dim: dim, gamma: g, beta: b)
    var y = [Float](repeating: .nan, count: rows * dim)
    var mean = [Float](repeating: .nan, count: rows), rstd = [Float](repeating: .nan, count: rows)
    layerNorm(x, rows: rows, dim: dim, gamma: g, beta: b, into: &y, mean: &mean, rstd: &rstd)
    #expect(relativeMaxError(y, ref.y) <= tolerance)
    #expect(relativeMaxError(mean, ref.mean) <= tolerance)
    #expect(relativeMaxError(rstd, ref.rstd) <= tolerance)
}

@Test("geluTanh matches the tanh formula", arguments: [1, 7, 8, 9, 100, 1000])
func geluMatchesReference(count: Int) {
    var rng = TestRNG(seed: UInt64(count))
    var x = rng.floats(count, scale: 6)
    if count >= 8 { x[0] = -30; x[1] = 30; x[2] = 0; x[3] = -1e-3; x[4] = 100; x[5] = -100 }
    let expected = x.map(Reference.gelu)
    var y = [Float](repeating: .nan, count: count)
    geluTanh(x, count: count, into: &y)
    #expect(relativeMaxError(y, expected) <= tolerance)
    // Absolute accuracy is much better than the contract's bound.
    #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 2e-6 * max(1, abs($1)) })
}

@Test("tanh8 is within 3e-7 of tanh and is exactly ±1 for |x| ≥ 9")
func tanhAccuracy() {
    var worst: Double = 0
    var x: Float = -12
    while x < 12 {
        worst = max(worst, abs(Double(tanh8(SIMD8(repeating: x))[5]) - Foundation.tanh(Double(x))))
        x += 0.00371
    }
    #expect(worst <= 3e-7)
    #expect(tanh8(SIMD8(repeating: 50)) == SIMD8(repeating: 1))
    #expect(tanh8(SIMD8(repeating: -9)) == SIMD8(repeating: -1))
    #expect(tanh8(SIMD8(repeating: -1e30)) == SIMD8(repeating: -1))
    #expect(tanh8(SIMD8(repeating: 0)) == SIMD8(repeating: 0))
}

@Test("softmaxRows matches the scalar reference", arguments: [(1, 1), (2, 3), (3, 8), (4, 40), (2, 67)])
func softmaxMatchesReference(rows: Int, cols: Int) {
    var rng = TestRNG(seed: UInt64(rows * 100 + cols))
    let x = rng.floats(rows * cols, scale: 20)
    let expected = Reference.softmax(x: x, rows: rows, cols: cols)
    var y = [Float](repeating: .nan, count: rows * cols)
    softmaxRows(x, rows: rows, cols: cols, into: &y)
    #expect(relativeMaxError(y, expected) <= tolerance)
    for r in 0..<rows {
        #expect(abs(y[(r * cols)..<((r + 1) * cols)].reduce(0, +) - 1) < 1e-5)
    }
}

@Test("exp8 and logScalar are accurate")
func expAndLogAccuracy() {
    var worst: Double = 0
    var x: Float = -87
    while x < 88 {
        let got = Double(exp8(SIMD8(repeating: x))[3])
        let want = Foundation.exp(Double(x))
        worst = max(worst, abs(got - want) / want)
        x += 0.0173
    }
    #expect(worst < 3e-7)
    #expect(exp8(SIMD8(repeating: -.infinity)) == SIMD8(repeating: 0))
    #expect(exp8(SIMD8(repeating: -100)) == SIMD8(repeating: 0))
    var worstLog: Double = 0
    for v: Float in [1e-30, 1e-5, 0.3, 0.999, 1, 1.5, 2, 3.7, 1000, 3e20] {
        let got = Double(logScalar(v)), want = Foundation.log(Double(v))
        worstLog = max(worstLog, abs(got - want) / max(1, abs(want)))
    }
    #expect(worstLog < 1e-6)
    #expect(logScalar(0) == -.infinity)
}

// MARK: - Attention

struct AttentionShape: CustomTestStringConvertible, Sendable {
    let batch: Int, seqLen: Int, heads: Int, headDim: Int, lengths: [Int32]
    var testDescription: String { "B\(batch) L\(seqLen) H\(heads) hd\(headDim) lengths\(lengths)" }
}

private let attentionShapes: [AttentionShape] = [
    AttentionShape(batch: 1, seqLen: 1, heads: 1, headDim: 1, lengths: [1]),
    AttentionShape(batch: 1, seqLen: 8, heads: 2, headDim: 8, lengths: [8]),
    AttentionShape(batch: 2, seqLen: 9, heads: 2, headDim: 3, lengths: [9, 4]),
    AttentionShape(batch: 3, seqLen: 17, heads: 3, headDim: 12, lengths: [17, 1, 0]),
    AttentionShape(batch: 2, seqLen: 33, heads: 2, headDim: 33, lengths: [20, 33]),
    AttentionShape(batch: 1, seqLen: 32, heads: 4, headDim: 32, lengths: [32]),
    AttentionShape(batch: 2, seqLen: 64, heads: 1, headDim: 64, lengths: [64, 37]),
    AttentionShape(batch: 2, seqLen: 5, heads: 1, headDim: 70, lengths: [5, 2]),
    // Several key blocks of the online softmax (block = 64), partial last block.
    AttentionShape(batch: 2, seqLen: 150, heads: 2, headDim: 20, lengths: [150, 65]),
    AttentionShape(batch: 1, seqLen: 128, heads: 1, headDim: 8, lengths: [128]),
]

@Test("attention matches the two-pass scalar reference", arguments: attentionShapes)
func attentionMatchesReference(shape: AttentionShape) {
    var rng = TestRNG(seed: UInt64(shape.seqLen * 7 + shape.headDim))
    let d = shape.heads * shape.headDim
    let qkv = rng.floats(shape.batch * shape.seqLen * 3 * d, scale: 2)
    let ref = Reference.attention(qkv: qkv, batch: shape.batch, seqLen: shape.seqLen, heads: shape.heads,
                                  headDim: shape.headDim, lengths: shape.lengths)
    let (out, lse) = runAttention(qkv, shape)
    #expect(relativeMaxError(out, ref.out) <= tolerance)
    #expect(relativeMaxError(lse, ref.lse) <= tolerance)
}

@Test("padded keys and values never change valid outputs (even NaN garbage)")
func attentionMaskIgnoresPadding() {
    let shape = AttentionShape(batch: 2, seqLen: 19, heads: 2, headDim: 16, lengths: [11, 19])
    var rng = TestRNG(seed: 99)
    let d = shape.heads * shape.headDim
    let clean = rng.floats(shape.batch * shape.seqLen * 3 * d)
    var dirty = clean
    for t in 11..<19 { for c in 0..<(3 * d) { dirty[t * 3 * d + c] = t % 2 == 0 ? .nan : 1e30 } }
    let a = runAttention(clean, shape).out
    let b = runAttention(dirty, shape).out
    #expect(a == b)
    // Padded query rows are zero.
    #expect(a[(11 * d)..<(19 * d)].allSatisfy { $0 == 0 })
}

private func runAttention(_ qkv: [Float], _ s: AttentionShape) -> (out: [Float], lse: [Float]) {
    let d = s.heads * s.headDim
    var out = [Float](repeating: .nan, count: s.batch * s.seqLen * d)
    var lse = [Float](repeating: .nan, count: s.batch * s.heads * s.seqLen)
    var scratch = [Float](repeating: .nan, count: attentionScratchCount(seqLen: s.seqLen, headDim: s.headDim))
    multiHeadSelfAttention(qkv: qkv, batch: s.batch, seqLen: s.seqLen, heads: s.heads, headDim: s.headDim,
                           lengths: s.lengths, output: &out, logSumExp: &lse, scratch: &scratch)
    return (out, lse)
}
