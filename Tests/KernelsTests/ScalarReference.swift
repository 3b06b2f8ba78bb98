// Plain scalar reference implementations of every kernel (Double accumulation),
// written straight from the mathematical definitions. The SIMD kernels are
// checked against these.
import Foundation

enum Reference {
    /// y = x · Wᵀ + b (+ r); W is n × k.
    static func linear(x: [Float], m: Int, k: Int, w: [Float], n: Int, bias: [Float]?, residual: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
                if let bias { s += Double(bias[j]) }
                if let residual { s += Double(residual[i * n + j]) }
                y[i * n + j] = Float(s)
            }
        }
        return y
    }

    static func layerNorm(x: [Float], rows: Int, dim: Int, gamma: [Float], beta: [Float], eps: Double = 1e-5)
        -> (y: [Float], mean: [Float], rstd: [Float])
    {
        var y = [Float](repeating: 0, count: rows * dim)
        var means = [Float](), rstds = [Float]()
        for r in 0..<rows {
            let row = (0..<dim).map { Double(x[r * dim + $0]) }
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            let rstd = 1 / (variance + eps).squareRoot()
            for j in 0..<dim {
                y[r * dim + j] = Float((row[j] - mean) * rstd * Double(gamma[j]) + Double(beta[j]))
            }
            means.append(Float(mean)); rstds.append(Float(rstd))
        }
        return (y, means, rstds)
    }

    /// GELU, tanh approximation, exactly as written in the PyTorch docs.
    static func gelu(_ x: Float) -> Float {
        let v = Double(x)
        return Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
    }

    static func softmax(x: [Float], rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { y[r * cols + j] = Float(e[j] / s) }
        }
        return y
    }

    /// Two-pass attention with an explicit mask, straight from the definition.
    static func attention(qkv: [Float], batch: Int, seqLen: Int, heads: Int, headDim: Int, lengths: [Int32])
        -> (out: [Float], lse: [Float])
    {
        let d = heads * headDim
        var out = [Float](repeating: 0, count: batch * seqLen * d)
        var lse = [Float](repeating: 0, count: batch * heads * seqLen)
        func at(_ b: Int, _ t: Int, _ part: Int, _ h: Int, _ c: Int) -> Double {
            Double(qkv[(b * seqLen + t) * 3 * d + part * d + h * headDim + c])
        }
        let scale = 1 / Double(headDim).squareRoot()
        for b in 0..<batch {
            let len = Int(lengths[b])
            for h in 0..<heads {
                for i in 0..<len {
                    var scores = [Double]()
                    for j in 0..<len {
                        var s = 0.0
                        for c in 0..<headDim { s += at(b, i, 0, h, c) * at(b, j, 1, h, c) }
                        scores.append(s * scale)
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<headDim {
                        var o = 0.0
                        for j in 0..<len { o += e[j] / z * at(b, j, 2, h, c) }
                        out[(b * seqLen + i) * d + h * headDim + c] = Float(o)
                    }
                    lse[(b * heads + h) * seqLen + i] = Float(m + Foundation.log(z))
                }
            }
        }
        return (out, lse)
    }
}

/// SplitMix64: a small deterministic generator for test data.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale) }
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// max |a − b| / max(1, max |b|): the error measure of the kernel contract.
func relativeMaxError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var err: Float = 0
    var mag: Float = 1
    for i in a.indices {
        err = max(err, abs(a[i] - b[i]))
        if a[i].isNaN || b[i].isNaN { return .infinity }
        mag = max(mag, abs(b[i]))
    }
    return err / mag
}
