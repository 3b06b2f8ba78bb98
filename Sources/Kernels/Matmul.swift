// Matrix multiply shaped for linear layers: y[m, n] = x[m, k] · W[n, k]ᵀ + b[n] (+ r[m, n]).
//
// The weight matrix is first *packed* (once, at load time for inference, once
// per optimizer step for training) into column panels of 16:
//
//     packed[p][kk][c] = W[16·p + c, kk]      (zero for 16·p + c ≥ n)
//
// so that the micro-kernel streams one contiguous 16-float row of the panel per
// step of the reduction. The micro-kernel keeps a 6 × 16 tile of y in 12 ymm
// accumulators (6 rows × 2 × SIMD8), broadcasts one x scalar per row and does
// 12 FMAs per 8 loads: it is FMA-bound, not load-bound, on AVX2 (16 ymm
// registers: 12 accumulators + 2 weight vectors + 1 broadcast).

/// Width of one packed column panel (two `SIMD8<Float>`).
public let matmulPanelWidth = 16
/// Rows of y computed by one call of the main micro-kernel.
public let matmulKernelRows = 6
/// Rows of x processed per cache block (x block of 96 × k floats stays in L2).
let matmulRowBlock = 96

/// The number of floats needed to pack an `n × k` weight matrix
/// (n rounded up to a multiple of 16, times k).
@inlinable
public func packedWeightCount(n: Int, k: Int) -> Int {
    ((n + 15) / 16) * 16 * k
}

/// Packs a weight matrix stored as `W[n, k]` (PyTorch `nn.Linear` layout) into
/// the panel layout read by ``matmul(_:rows:inner:packedWeights:columns:bias:residual:into:)``.
///
/// - Parameters:
///   - w: `n × k` floats, row-major.
///   - packed: room for `packedWeightCount(n:k:)` floats.
public func packWeights(_ w: UnsafePointer<Float>, n: Int, k: Int, into packed: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16
    for p in 0..<panels {
        let dst = packed + p * 16 * k
        for c in 0..<16 {
            let col = p * 16 + c
            if col < n {
                let src = w + col * k
                for kk in 0..<k { dst[kk * 16 + c] = src[kk] }
            } else {
                for kk in 0..<k { dst[kk * 16 + c] = 0 }
            }
        }
    }
}

/// Packs a matrix stored as `B[k, n]` (already "transposed": y = x · B) into the
/// same panel layout, so that `matmul` computes `y = x · B`. Training uses this
/// for `dX = dY · W`.
public func packWeightsKN(_ b: UnsafePointer<Float>, k: Int, n: Int, into packed: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16
    for p in 0..<panels {
        let dst = packed + p * 16 * k
        let width = min(16, n - p * 16)
        for kk in 0..<k {
            let src = b + kk * n + p * 16
            for c in 0..<width { dst[kk * 16 + c] = src[c] }
            for c in width..<16 { dst[kk * 16 + c] = 0 }
        }
    }
}

/// Linear layer: `y[i, j] = Σₖ x[i, k] · W[j, k] + b[j] + r[i, j]`.
///
/// Contract: row-major `x` (`m × k`), `W` packed by ``packWeights(_:n:k:into:)``,
/// optional `bias` (`n`), optional `residual` (`m × n`, may be the same memory
/// as `y`, which gives `y += x·Wᵀ + b`), output `y` (`m × n`). `y` must not
/// overlap `x`. Accumulation is in Float with FMA; the summation order differs
/// from a naive loop, so results agree with it to rounding (≈ k·ε relative).
/// Any m, n, k ≥ 0.
public func matmul(
    _ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
    packedWeights w: UnsafePointer<Float>, columns n: Int,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
    into y: UnsafeMutablePointer<Float>
) {
    matmulStrided(x, rows: m, inner: k, xStride: k, packedWeights: w, panelStride: 16 * k, columns: n,
                  bias: bias, residual: residual, into: y, yStride: n)
}

/// ``matmul(_:rows:inner:packedWeights:columns:bias:residual:into:)`` on
/// sub-matrices: row `i` of x starts at `x + i·xStride`, row `i` of y (and of
/// the residual) at `y + i·yStride`, and packed panel `p` starts at
/// `w + p·panelStride` (`16·k` for a whole packed matrix; larger when only the
/// first `k` rows of each panel are used, as attention does for a key block).
public func matmulStrided(
    _ x: UnsafePointer<Float>, rows m: Int, inner k: Int, xStride ldx: Int,
    packedWeights w: UnsafePointer<Float>, panelStride: Int, columns n: Int,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
    into y: UnsafeMutablePointer<Float>, yStride ldy: Int
) {
    gemm(x, m, k, ldx, w, panelStride, n, bias, residual, y, ldy, gelu: false, preActivation: nil)
}

/// Linear layer followed by GELU (tanh approximation, see ``geluTanh(_:count:into:)``),
/// fused into the matmul's epilogue: `y = gelu(x · Wᵀ + b)`, and, if
/// `preActivation` is given, `preActivation = x · Wᵀ + b` (kept by training).
/// Shapes as in ``matmul(_:rows:inner:packedWeights:columns:bias:residual:into:)``.
public func matmulGELU(
    _ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
    packedWeights w: UnsafePointer<Float>, columns n: Int, bias: UnsafePointer<Float>?,
    into y: UnsafeMutablePointer<Float>, preActivation: UnsafeMutablePointer<Float>?
) {
    gemm(x, m, k, k, w, 16 * k, n, bias, nil, y, n, gelu: true, preActivation: preActivation)
}

/// Depth of one reduction chunk: a 16-column panel slice (16 × 256 floats =
/// 16 KiB) stays in L1 while every row block of x streams past it.
let matmulDepthBlock = 256

/// The blocked driver: k in chunks of `matmulDepthBlock` (partial sums are
/// kept in y between chunks), rows in blocks of `matmulRowBlock` (the x block
/// stays in L2), then 16-column panels, then 6-row micro-tiles.
private func gemm(
    _ x: UnsafePointer<Float>, _ m: Int, _ k: Int, _ ldx: Int,
    _ w: UnsafePointer<Float>, _ panelStride: Int, _ n: Int,
    _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, gelu: Bool, preActivation: UnsafeMutablePointer<Float>?
) {
    if m == 0 || n == 0 { return }
    let panels = (n + 15) / 16
    var k0 = 0
    repeat {
        let kc = min(matmulDepthBlock, k - k0)
        let first = k0 == 0, last = k0 + kc >= k
        let xk = x + k0
        // First chunk: + bias + residual. Later chunks: + the partial sums in y.
        let res: UnsafePointer<Float>? = first ? residual : UnsafePointer(y)
        let tileBias = first ? bias : nil
        let act = gelu && last
        let pre = last ? preActivation : nil
        var i0 = 0
        while i0 < m {
            let end = min(m, i0 + matmulRowBlock)
            for p in 0..<panels {
                let col0 = p * 16
                let cols = min(16, n - col0)
                let wp = w + p * panelStride + k0 * 16
                var bLo = SIMD8<Float>(), bHi = SIMD8<Float>()
                if let tileBias {
                    if cols == 16 {
                        bLo = load8(tileBias + col0); bHi = load8(tileBias + col0 + 8)
                    } else {
                        bLo = loadPartial(tileBias + col0, count: min(cols, 8))
                        if cols > 8 { bHi = loadPartial(tileBias + col0 + 8, count: cols - 8) }
                    }
                }
                tileColumn(i0, end, xk, ldx, kc, wp, y, ldy, col0, cols, bLo, bHi, res, act, pre)
            }
            i0 = end
        }
        k0 += kc
    } while k0 < k
}

/// Rows `i0 ..< end` of one 16-column panel: 6-row tiles, then the tail.
/// Each row count is its own small out-of-line function with the micro-kernel
/// inlined and `rows` a constant: that keeps all 12 accumulators and both
/// weight vectors in ymm registers (one big function with every variant
/// inlined made LLVM spill them).
@inline(__always)
private func tileColumn(
    _ i0: Int, _ end: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ col0: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    var i = i0
    // A 1- or 2-row tail has too few independent FMA chains (2 or 4 for a
    // 4-cycle latency) to fill the FMA units; turn "6 + 1" into "4 + 3" and
    // "6 + 2" into "4 + 4" (e.g. 32 rows = 4·6 + 4 + 4 instead of 5·6 + 2).
    var fullEnd = i0 + (end - i0) / 6 * 6
    if end - fullEnd <= 2 && end > fullEnd && fullEnd > i0 { fullEnd -= 6 }
    while i < fullEnd {
        tile6(x + i * ldx, ldx, k, w, y + i * ldy + col0, ldy, cols, bLo, bHi,
              res.map { $0 + i * ldy + col0 }, gelu, pre.map { $0 + i * ldy + col0 })
        i += 6
    }
    if end - i >= 7 {
        tile4(x + i * ldx, ldx, k, w, y + i * ldy + col0, ldy, cols, bLo, bHi,
              res.map { $0 + i * ldy + col0 }, gelu, pre.map { $0 + i * ldy + col0 })
        i += 4
    }
    let xr = x + i * ldx, yr = y + i * ldy + col0
    let rr = res.map { $0 + i * ldy + col0 }
    let pr = pre.map { $0 + i * ldy + col0 }
    switch end - i {
    case 5: tile5(xr, ldx, k, w, yr, ldy, cols, bLo, bHi, rr, gelu, pr)
    case 4: tile4(xr, ldx, k, w, yr, ldy, cols, bLo, bHi, rr, gelu, pr)
    case 3: tile3(xr, ldx, k, w, yr, ldy, cols, bLo, bHi, rr, gelu, pr)
    case 2: tile2(xr, ldx, k, w, yr, ldy, cols, bLo, bHi, rr, gelu, pr)
    case 1: tile1(xr, ldx, k, w, yr, ldy, cols, bLo, bHi, rr, gelu, pr)
    default: break
    }
}

@inline(never)
private func tile6(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    if cols == 16 && res == nil && !gelu && pre == nil {
        microKernel(6, x, ldx, k, w, y, ldy, bLo, bHi)
    } else {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * 16) { t in
            microKernel(6, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
            finishTile(6, t.baseAddress!, y, ldy, cols, res, gelu, pre)
        }
    }
}

/// Tail tiles (1 … 5 rows): same structure, one function per row count.
@inline(never)
private func tile5(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * 16) { t in
        microKernel(5, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
        finishTile(5, t.baseAddress!, y, ldy, cols, res, gelu, pre)
    }
}

@inline(never)
private func tile4(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * 16) { t in
        microKernel(4, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
        finishTile(4, t.baseAddress!, y, ldy, cols, res, gelu, pre)
    }
}

@inline(never)
private func tile3(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * 16) { t in
        microKernel(3, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
        finishTile(3, t.baseAddress!, y, ldy, cols, res, gelu, pre)
    }
}

@inline(never)
private func tile2(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * 16) { t in
        microKernel(2, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
        finishTile(2, t.baseAddress!, y, ldy, cols, res, gelu, pre)
    }
}

@inline(never)
private func tile1(
    _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ res: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 1 * 16) { t in
        microKernel(1, x, ldx, k, w, t.baseAddress!, 16, bLo, bHi)
        finishTile(1, t.baseAddress!, y, ldy, cols, res, gelu, pre)
    }
}

/// One `rows × 16` tile (rows ≤ 6, a constant after inlining so unused rows
/// vanish): the reduction over k with the whole tile in 12 ymm accumulators,
/// then `acc + bias` stored as full 16-float rows at `out` (row stride `ldo`).
/// Nothing else happens here: a larger epilogue in the same function makes
/// LLVM spill the accumulators inside the loop.
@inline(always)
private func microKernel(
    _ rows: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>, _ ldo: Int, _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>
) {
    var c00 = bLo, c01 = bHi
    var c10 = bLo, c11 = bHi
    var c20 = bLo, c21 = bHi
    var c30 = bLo, c31 = bHi
    var c40 = bLo, c41 = bHi
    var c50 = bLo, c51 = bHi
    var xp = x
    var wp = w
    for _ in 0..<k {
        let w0 = load8(wp), w1 = load8(wp + 8)
        let a0 = SIMD8<Float>(repeating: xp[0])
        c00.addProduct(a0, w0); c01.addProduct(a0, w1)
        if rows > 1 {
            let a = SIMD8<Float>(repeating: xp[ldx])
            c10.addProduct(a, w0); c11.addProduct(a, w1)
        }
        if rows > 2 {
            let a = SIMD8<Float>(repeating: xp[2 * ldx])
            c20.addProduct(a, w0); c21.addProduct(a, w1)
        }
        if rows > 3 {
            let a = SIMD8<Float>(repeating: xp[3 * ldx])
            c30.addProduct(a, w0); c31.addProduct(a, w1)
        }
        if rows > 4 {
            let a = SIMD8<Float>(repeating: xp[4 * ldx])
            c40.addProduct(a, w0); c41.addProduct(a, w1)
        }
        if rows > 5 {
            let a = SIMD8<Float>(repeating: xp[5 * ldx])
            c50.addProduct(a, w0); c51.addProduct(a, w1)
        }
        xp += 1
        wp += 16
    }
    store8(c00, out); store8(c01, out + 8)
    if rows > 1 { store8(c10, out + ldo); store8(c11, out + ldo + 8) }
    if rows > 2 { store8(c20, out + 2 * ldo); store8(c21, out + 2 * ldo + 8) }
    if rows > 3 { store8(c30, out + 3 * ldo); store8(c31, out + 3 * ldo + 8) }
    if rows > 4 { store8(c40, out + 4 * ldo); store8(c41, out + 4 * ldo + 8) }
    if rows > 5 { store8(c50, out + 5 * ldo); store8(c51, out + 5 * ldo + 8) }
}

/// Epilogue of a tile computed into `t` (`rows × 16`, bias included):
/// `v = t + residual`; `pre = v`; `y = gelu ? gelu(v) : v`, first `cols` columns.
/// `residual` may alias `y` (it is read before y is written).
@inline(never)
private func finishTile(
    _ rows: Int, _ t: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ residual: UnsafePointer<Float>?, _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    for r in 0..<rows {
        var lo = load8(t + 16 * r), hi = load8(t + 16 * r + 8)
        let yr = y + r * ldy
        if cols == 16 {
            if let residual {
                lo += load8(residual + r * ldy)
                hi += load8(residual + r * ldy + 8)
            }
            if let pre { store8(lo, pre + r * ldy); store8(hi, pre + r * ldy + 8) }
            if gelu { lo = gelu8(lo); hi = gelu8(hi) }
            store8(lo, yr)
            store8(hi, yr + 8)
        } else {
            if let residual {
                lo += loadPartial(residual + r * ldy, count: min(cols, 8))
                if cols > 8 { hi += loadPartial(residual + r * ldy + 8, count: cols - 8) }
            }
            if let pre {
                let pr = pre + r * ldy
                if cols >= 8 { store8(lo, pr); storePartial(hi, pr + 8, count: cols - 8) } else { storePartial(lo, pr, count: cols) }
            }
            if gelu { lo = gelu8(lo); hi = gelu8(hi) }
            if cols >= 8 {
                store8(lo, yr)
                storePartial(hi, yr + 8, count: cols - 8)
            } else {
                storePartial(lo, yr, count: cols)
            }
        }
    }
}
