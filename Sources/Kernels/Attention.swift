// Multi-head scaled dot-product self-attention over a padded batch, with an
// online (single-pass) softmax and a key-padding mask.

/// Floats of scratch memory ``multiHeadSelfAttention(qkv:batch:seqLen:heads:headDim:lengths:output:logSumExp:scratch:)``
/// needs (one (sequence, head) pair at a time: Kᵀ padded to a multiple of 8
/// keys, the scaled query, the output accumulator).
@inlinable
public func attentionScratchCount(seqLen: Int, headDim: Int) -> Int {
    headDim * ((seqLen + 7) & ~7) + 2 * headDim + 16
}

/// Multi-head scaled dot-product self-attention with a key-padding mask.
///
/// Layout (row-major, `D = heads · headDim`):
/// - `qkv`: `batch × seqLen × 3D`, the fused projection: columns `[0, D)` are
///   Q, `[D, 2D)` K, `[2D, 3D)` V; head `h` owns columns `h·headDim ..< (h+1)·headDim`
///   of each (the PyTorch `reshape(B, L, 3, H, hd)` convention).
/// - `lengths`: `batch` values; sequence `b` has valid positions `0 ..< lengths[b]`
///   (right padding), values are clamped to `0 ... seqLen`.
/// - `output`: `batch × seqLen × D`, heads concatenated.
/// - `logSumExp`: optional `batch × heads × seqLen`; receives, for every valid
///   query, `log Σⱼ exp(sᵢⱼ)` (what a backward pass needs to rebuild the
///   probabilities without storing them).
///
/// Contract: for `b`, `h`, valid query `i < len_b`,
///
///     sᵢⱼ = (qᵢ · kⱼ) / √headDim,   out[b, i, h] = Σ_{j < len_b} softmaxⱼ(sᵢⱼ) · vⱼ
///
/// i.e. padded keys get weight exactly 0 and never influence valid outputs.
/// Padded query rows (`i ≥ len_b`) are written as 0 (their log-sum-exp as 0).
///
/// The softmax is computed online over blocks of 8 keys: a running maximum
/// `m`, normaliser `l` and unnormalised output `acc` are rescaled by
/// `exp(m_old − m_new)` whenever the maximum grows, so scores are read once
/// and no `seqLen × seqLen` matrix is stored. Any `seqLen` and `headDim`.
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
        let o = out + i * d
        for c in 0..<hd { o[c] = 0 }
        lse?[i] = 0
    }
    if len == 0 { return }

    // Kᵀ for this head: kT[c, j] = K[j, c], keys padded to a multiple of 8 with
    // zeros (those lanes are masked to −∞ below).
    let lp = (len + 7) & ~7
    let kT = scratch
    let qs = scratch + hd * lp
    let acc = qs + hd
    for j in 0..<len {
        let kr = base + j * rowStride + d + h * hd
        for c in 0..<hd { kT[c * lp + j] = kr[c] }
    }
    if lp > len {
        for c in 0..<hd { for j in len..<lp { kT[c * lp + j] = 0 } }
    }

    let scale = 1 / Float(hd).squareRoot()
    let lanes = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)
    let vecEnd = hd & ~7
    for i in 0..<len {
        let q = base + i * rowStride + h * hd
        for c in 0..<hd { qs[c] = q[c] * scale; acc[c] = 0 }
        var m = -Float.infinity
        var l: Float = 0
        var jb = 0
        while jb < len {
            // Scores for keys jb ..< jb+8: Σ_c q[c] · Kᵀ[c, jb..], four chains.
            let kp = kT + jb
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            var c = 0
            while c + 4 <= hd {
                s0.addProduct(SIMD8(repeating: qs[c]), load8(kp + c * lp))
                s1.addProduct(SIMD8(repeating: qs[c + 1]), load8(kp + (c + 1) * lp))
                s2.addProduct(SIMD8(repeating: qs[c + 2]), load8(kp + (c + 2) * lp))
                s3.addProduct(SIMD8(repeating: qs[c + 3]), load8(kp + (c + 3) * lp))
                c += 4
            }
            while c < hd { s0.addProduct(SIMD8(repeating: qs[c]), load8(kp + c * lp)); c += 1 }
            var s = (s0 + s1) + (s2 + s3)
            let valid = min(8, len - jb)
            if valid < 8 {
                s.replace(with: -.infinity, where: lanes .>= SIMD8(repeating: Float(valid)))
            }
            // Online softmax update.
            let mNew = Swift.max(m, hmax(s))
            let corr = expScalar(m - mNew)  // 0 on the first block (m = −∞)
            let p = exp8(s - SIMD8(repeating: mNew))  // masked lanes: exactly 0
            l = l * corr + hsum(p)
            m = mNew
            // acc = acc · corr + Σ_t p[t] · v[jb + t]
            let vb = base + jb * rowStride + 2 * d + h * hd
            let corrV = SIMD8<Float>(repeating: corr)
            c = 0
            while c + 32 <= vecEnd {
                var a0 = load8(acc + c) * corrV, a1 = load8(acc + c + 8) * corrV
                var a2 = load8(acc + c + 16) * corrV, a3 = load8(acc + c + 24) * corrV
                for t in 0..<valid {
                    let pt = SIMD8<Float>(repeating: p[t])
                    let vr = vb + t * rowStride + c
                    a0.addProduct(pt, load8(vr)); a1.addProduct(pt, load8(vr + 8))
                    a2.addProduct(pt, load8(vr + 16)); a3.addProduct(pt, load8(vr + 24))
                }
                store8(a0, acc + c); store8(a1, acc + c + 8)
                store8(a2, acc + c + 16); store8(a3, acc + c + 24)
                c += 32
            }
            while c < vecEnd {
                var a0 = load8(acc + c) * corrV
                for t in 0..<valid { a0.addProduct(SIMD8(repeating: p[t]), load8(vb + t * rowStride + c)) }
                store8(a0, acc + c)
                c += 8
            }
            while c < hd {
                var a = acc[c] * corr
                for t in 0..<valid { a += p[t] * vb[t * rowStride + c] }
                acc[c] = a
                c += 1
            }
            jb += 8
        }
        let inv = 1 / l
        let o = out + i * d
        var c = 0
        let invV = SIMD8<Float>(repeating: inv)
        while c < vecEnd { store8(load8(acc + c) * invV, o + c); c += 8 }
        while c < hd { o[c] = acc[c] * inv; c += 1 }
        lse?[i] = m + logScalar(l)
    }
}
