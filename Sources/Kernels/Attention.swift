// Multi-head scaled dot-product self-attention over a padded batch, with an
// online (single-pass) softmax over key blocks and a key-padding mask.

/// Keys per block of the online softmax. Scores of one query tile against one
/// key block are the only score storage (`seqLen × 64` floats), whatever the
/// sequence length; sequences up to 64 tokens are a single block.
public let attentionKeyBlock = 64

/// Floats of scratch memory ``multiHeadSelfAttention(qkv:batch:seqLen:heads:headDim:lengths:output:logSumExp:scratch:)``
/// needs (one (sequence, head) pair at a time): K and V packed for the
/// matmul micro-kernel, one block of scores, and the running max / sum per query.
@inlinable
public func attentionScratchCount(seqLen: Int, headDim: Int) -> Int {
    let l16 = (seqLen + 15) & ~15, hd16 = (headDim + 15) & ~15
    return l16 * headDim + hd16 * seqLen + seqLen * attentionKeyBlock + 2 * seqLen + 64
}

/// Multi-head scaled dot-product self-attention with a key-padding mask.
///
/// Layout (row-major, `D = heads · headDim`):
/// - `qkv`: `batch × seqLen × 3D`, the fused projection: columns `[0, D)` are
///   Q, `[D, 2D)` K, `[2D, 3D)` V; head `h` owns columns `h·headDim ..< (h+1)·headDim`
///   of each (the PyTorch `reshape(B, L, 3, H, hd)` convention).
/// - `lengths`: `batch` values; sequence `b` has valid positions `0 ..< lengths[b]`
///   (right padding), values are clamped to `0 ... seqLen`.
/// - `output`: `batch × seqLen × D`, heads concatenated. Must not overlap `qkv`.
/// - `logSumExp`: optional `batch × heads × seqLen`; receives, for every valid
///   query, `log Σⱼ exp(sᵢⱼ)` (what a backward pass needs to rebuild the
///   probabilities without storing them).
///
/// Contract: for `b`, `h`, valid query `i < len_b`,
///
///     sᵢⱼ = (qᵢ · kⱼ) / √headDim,   out[b, i, h] = Σ_{j < len_b} softmaxⱼ(sᵢⱼ) · vⱼ
///
/// i.e. padded keys get weight exactly 0 and are never read, so they cannot
/// influence valid outputs. Padded query rows (`i ≥ len_b`) are written as 0
/// (their log-sum-exp as 0). Any `seqLen` and `headDim`.
///
/// Algorithm (flash-attention style, per sequence and head): K and V are packed
/// once into the panel layout of ``matmul(_:rows:inner:packedWeights:columns:bias:residual:into:)``;
/// then for each block of ``attentionKeyBlock`` keys, the register-blocked
/// micro-kernel computes the score tile S = Q·Kᵀ, each query row updates its
/// running maximum `m` and normaliser `l` (rescaling its output accumulator by
/// `exp(m_old − m_new)` when the maximum grows), turns its scores into
/// `exp(s − m)` in place, and the micro-kernel adds P·V to the output. One pass
/// over the keys; no `seqLen × seqLen` matrix.
///
/// - Parameter scratch: `attentionScratchCount(seqLen:headDim:)` floats.
public func multiHeadSelfAttention(
    qkv: UnsafePointer<Float>, batch: Int, seqLen: Int, heads: Int, headDim: Int,
    lengths: UnsafePointer<Int32>,
    output: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
) {
    for b in 0..<batch {
        let len = min(max(Int(lengths[b]), 0), seqLen)
        for h in 0..<heads {
            attentionHead(
                qkv: qkv, b: b, h: h, len: len, seqLen: seqLen, heads: heads, headDim: headDim,
                output: output, logSumExp: logSumExp, scratch: scratch)
        }
    }
}

private func attentionHead(
    qkv: UnsafePointer<Float>, b: Int, h: Int, len: Int, seqLen: Int, heads: Int, headDim hd: Int,
    output: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
) {
    let d = heads * hd
    let rowStride = 3 * d
    let base = qkv + b * seqLen * rowStride
    let out = output + b * seqLen * d + h * hd
    let lse = logSumExp.map { $0 + (b * heads + h) * seqLen }

    // Padded query rows: zero.
    for i in len..<seqLen {
        (out + i * d).update(repeating: 0, count: hd)
        lse?[i] = 0
    }
    if len == 0 || hd == 0 { return }

    let kb = attentionKeyBlock
    let l16 = (len + 15) & ~15, hd16 = (hd + 15) & ~15
    let kPacked = scratch  // [l16 / 16][hd][16]: panel of 16 keys
    let vPacked = kPacked + l16 * hd  // [hd16 / 16][len][16]: panel of 16 head dims
    let scores = vPacked + hd16 * len  // [len][kb]
    let rowMax = scores + len * kb  // [len]  running max of the raw scores q·k
    let rowSum = rowMax + len  // [len]  running Σ exp(scale·(q·k − max))

    // Pack K (keys are the "columns" of S = Q·Kᵀ) and V (head dims are the
    // columns of P·V, keys its reduction), zero-padding partial panels.
    for j in 0..<l16 {
        let dst = kPacked + (j >> 4) * 16 * hd + (j & 15)
        if j < len {
            let kr = base + j * rowStride + d + h * hd
            for c in 0..<hd { dst[c * 16] = kr[c] }
        } else {
            for c in 0..<hd { dst[c * 16] = 0 }
        }
    }
    let fullPanels = hd >> 4
    for j in 0..<len {
        let vr = base + j * rowStride + 2 * d + h * hd
        var dst = vPacked + j * 16
        for p in 0..<fullPanels {
            store8(load8(vr + p * 16), dst)
            store8(load8(vr + p * 16 + 8), dst + 8)
            dst += 16 * len
        }
        if hd16 > hd {
            let rest = hd - fullPanels * 16
            for c in 0..<16 { dst[c] = c < rest ? vr[fullPanels * 16 + c] : 0 }
        }
    }
    rowMax.update(repeating: -.infinity, count: len)
    rowSum.update(repeating: 0, count: len)

    let scale = 1 / Float(hd).squareRoot()
    let scaleV = SIMD8<Float>(repeating: scale)
    let q = base + h * hd
    var j0 = 0
    while j0 < len {
        let nb = min(kb, len - j0)
        // S[i, j] = q_i · k_{j0 + j}  (raw, unscaled)
        matmulStrided(q, rows: len, inner: hd, xStride: rowStride,
                      packedWeights: kPacked + j0 * hd, panelStride: 16 * hd, columns: nb,
                      bias: nil, residual: nil, into: scores, yStride: kb)
        // Online softmax update, row by row; P overwrites S.
        let vecEnd = nb & ~7
        for i in 0..<len {
            let s = scores + i * kb
            var mv = SIMD8<Float>(repeating: -.infinity)
            var j = 0
            while j < vecEnd { mv = vmax(mv, load8(s + j)); j += 8 }
            if j < nb { mv = vmax(mv, loadPartial(s + j, count: nb - j, fill: -.infinity)) }
            let mOld = rowMax[i]
            let mNew = Swift.max(mOld, hmax(mv))
            let mNewV = SIMD8<Float>(repeating: mNew)
            var sumV = SIMD8<Float>()
            j = 0
            while j < vecEnd {
                let p = exp8((load8(s + j) - mNewV) * scaleV)
                store8(p, s + j); sumV += p; j += 8
            }
            var sum = hsum(sumV)
            if j < nb {
                let p = exp8((loadPartial(s + j, count: nb - j, fill: -.infinity) - mNewV) * scaleV)
                storePartial(p, s + j, count: nb - j)
                sum += hsum(p)
            }
            if j0 == 0 {
                rowSum[i] = sum
            } else {
                let corr = expScalar((mOld - mNew) * scale)
                rowSum[i] = rowSum[i] * corr + sum
                if corr != 1 { scaleRow(out + i * d, count: hd, by: corr) }
            }
            rowMax[i] = mNew
        }
        // out (+)= P · V[j0 ..< j0 + nb]
        matmulStrided(scores, rows: len, inner: nb, xStride: kb,
                      packedWeights: vPacked + j0 * 16, panelStride: 16 * len, columns: hd,
                      bias: nil, residual: j0 == 0 ? nil : UnsafePointer(out), into: out, yStride: d)
        j0 += nb
    }
    for i in 0..<len {
        let l = rowSum[i]
        scaleRow(out + i * d, count: hd, by: 1 / l)
        lse?[i] = rowMax[i] * scale + logScalar(l)
    }
}

@inline(always)
private func scaleRow(_ p: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    let f = SIMD8<Float>(repeating: factor)
    var c = 0
    while c + 8 <= count { store8(load8(p + c) * f, p + c); c += 8 }
    while c < count { p[c] *= factor; c += 1 }
}
