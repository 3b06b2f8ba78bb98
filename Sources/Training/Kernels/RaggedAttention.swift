import Kernels

/// Where each sequence of a training shard lives. Training packs the tokens
/// of a shard back to back (no padding): sequence `s` owns rows
/// `offsets[s] ..< offsets[s] + lengths[s]` of every `[rows, ·]` activation,
/// and its attention probabilities (`heads` blocks of `n × n`) start at
/// `probOffsets[s]`.
struct RaggedLayout {
    var offsets: [Int] = []
    var lengths: [Int] = []
    var probOffsets: [Int] = []
    var rows = 0
    var probCount = 0

    init() {}

    init(lengths: [Int], heads: Int) {
        self.lengths = lengths
        offsets.reserveCapacity(lengths.count)
        probOffsets.reserveCapacity(lengths.count)
        for n in lengths {
            offsets.append(rows)
            probOffsets.append(probCount)
            rows += n
            probCount += heads * n * n
        }
    }
}

/// Floats of scratch the ragged attention passes need for sequences up to `maxLength`.
func raggedAttentionScratchCount(maxLength: Int, headDim: Int) -> Int {
    let l16 = (maxLength + 15) & ~15
    return headDim * l16 + maxLength * l16 + 64
}

/// Multi-head self-attention over a ragged shard, keeping the probabilities
/// for the backward pass.
///
///     P[s, h] = softmax(Q_h K_hᵀ / √hd)   (n × n, over the sequence's own tokens only)
///     att[rows of s, head h] = P[s, h] · V_h
///
/// - qkv: `rows × 3D` (Q | K | V, head h = columns h·hd ..< (h+1)·hd of each).
/// - att: `rows × D`; probs: `layout.probCount` floats.
/// - scratch: ``raggedAttentionScratchCount(maxLength:headDim:)`` floats.
func raggedAttentionForward(
    qkv: UnsafePointer<Float>, layout: RaggedLayout, heads: Int, headDim hd: Int,
    att: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
) {
    let d = heads * hd, ld3 = 3 * d
    let scale = 1 / Float(hd).squareRoot()
    for s in 0..<layout.lengths.count {
        let n = layout.lengths[s]
        if n == 0 { continue }
        let n16 = (n + 15) & ~15
        let base = qkv + layout.offsets[s] * ld3
        let kt = scratch, scores = scratch + hd * n16
        for h in 0..<heads {
            // Kᵀ·scale, zero-padded to n16 columns.
            let k = base + d + h * hd
            for c in 0..<hd {
                let row = kt + c * n16
                for j in 0..<n { row[j] = k[j * ld3 + c] * scale }
                for j in n..<n16 { row[j] = 0 }
            }
            stridedGemm(base + h * hd, rows: n, depth: hd, xRow: ld3, xStep: 1, kt, wStep: n16, columns: n16,
                        into: scores, ldy: n16, accumulate: false)
            let p = probs + layout.probOffsets[s] + h * n * n
            for i in 0..<n { softmaxRows(scores + i * n16, rows: 1, cols: n, into: p + i * n) }
            stridedGemm(p, rows: n, depth: n, xRow: n, xStep: 1, base + 2 * d + h * hd, wStep: ld3, columns: hd,
                        into: att + layout.offsets[s] * d + h * hd, ldy: d, accumulate: false)
        }
    }
}

/// Backward of ``raggedAttentionForward(qkv:layout:heads:headDim:att:probs:scratch:)``:
/// from `dAtt` (`rows × D`) writes `dQKV` (`rows × 3D`, every entry).
///
///     dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ∘ (dP − rowsum(P ∘ dP)) / √hd,  dQ = dS·K,  dK = dSᵀ·Q
func raggedAttentionBackward(
    qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>, dAtt: UnsafePointer<Float>,
    layout: RaggedLayout, heads: Int, headDim hd: Int,
    dQKV: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
) {
    let d = heads * hd, ld3 = 3 * d
    let scale = 1 / Float(hd).squareRoot()
    for s in 0..<layout.lengths.count {
        let n = layout.lengths[s]
        if n == 0 { continue }
        let n16 = (n + 15) & ~15
        let off = layout.offsets[s]
        let base = qkv + off * ld3
        let dBase = dQKV + off * ld3
        let vt = scratch, dp = scratch + hd * n16
        for h in 0..<heads {
            let p = probs + layout.probOffsets[s] + h * n * n
            let dO = dAtt + off * d + h * hd
            // dV = Pᵀ · dO
            stridedGemm(p, rows: n, depth: n, xRow: 1, xStep: n, dO, wStep: d, columns: hd,
                        into: dBase + 2 * d + h * hd, ldy: ld3, accumulate: false)
            // dP = dO · Vᵀ
            let v = base + 2 * d + h * hd
            for c in 0..<hd {
                let row = vt + c * n16
                for j in 0..<n { row[j] = v[j * ld3 + c] }
                for j in n..<n16 { row[j] = 0 }
            }
            stridedGemm(dO, rows: n, depth: hd, xRow: d, xStep: 1, vt, wStep: n16, columns: n16,
                        into: dp, ldy: n16, accumulate: false)
            // dS = P ∘ (dP − δ) · scale, in place in dp.
            for i in 0..<n {
                let pr = p + i * n, dr = dp + i * n16
                var acc = SIMD8<Float>()
                var j = 0
                while j + 8 <= n { acc.addProduct(ld8(pr + j), ld8(dr + j)); j += 8 }
                var delta = hsum8(acc)
                while j < n { delta += pr[j] * dr[j]; j += 1 }
                let dv = SIMD8<Float>(repeating: delta), sv = SIMD8<Float>(repeating: scale)
                j = 0
                while j + 8 <= n { st8(ld8(pr + j) * (ld8(dr + j) - dv) * sv, dr + j); j += 8 }
                while j < n { dr[j] = pr[j] * (dr[j] - delta) * scale; j += 1 }
            }
            // dQ = dS · K,  dK = dSᵀ · Q
            stridedGemm(dp, rows: n, depth: n, xRow: n16, xStep: 1, base + d + h * hd, wStep: ld3, columns: hd,
                        into: dBase + h * hd, ldy: ld3, accumulate: false)
            stridedGemm(dp, rows: n, depth: n, xRow: 1, xStep: n16, base + h * hd, wStep: ld3, columns: hd,
                        into: dBase + d + h * hd, ldy: ld3, accumulate: false)
        }
    }
}
