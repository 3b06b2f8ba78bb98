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
                var i = i0
                while end - i >= 6 {
                    microKernel(6, xk + i * ldx, ldx, kc, wp, y + i * ldy + col0, ldy, cols, bLo, bHi,
                                res.map { $0 + i * ldy + col0 }, act, pre.map { $0 + i * ldy + col0 })
                    i += 6
                }
                let r = end - i
                let xr = xk + i * ldx, yr = y + i * ldy + col0
                let rr = res.map { $0 + i * ldy + col0 }
                let pr = pre.map { $0 + i * ldy + col0 }
                switch r {
                case 5: microKernel(5, xr, ldx, kc, wp, yr, ldy, cols, bLo, bHi, rr, act, pr)
                case 4: microKernel(4, xr, ldx, kc, wp, yr, ldy, cols, bLo, bHi, rr, act, pr)
                case 3: microKernel(3, xr, ldx, kc, wp, yr, ldy, cols, bLo, bHi, rr, act, pr)
                case 2: microKernel(2, xr, ldx, kc, wp, yr, ldy, cols, bLo, bHi, rr, act, pr)
                case 1: microKernel(1, xr, ldx, kc, wp, yr, ldy, cols, bLo, bHi, rr, act, pr)
                default: break
                }
            }
            i0 = end
        }
        k0 += kc
    } while k0 < k
}

/// One `rows × 16` tile (rows ≤ 6, a constant after inlining so unused rows
/// vanish): main loop over k with the tile in registers, then the epilogue
/// (bias, residual, store; partial store for the last panel).
@inline(always)
private func microKernel(
    _ rows: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ k: Int, _ w: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ residual: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
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
    storeTileRow(c00, c01, y, cols, bLo, bHi, residual, gelu, pre)
    if rows > 1 { storeTileRow(c10, c11, y + ldy, cols, bLo, bHi, residual.map { $0 + ldy }, gelu, pre.map { $0 + ldy }) }
    if rows > 2 { storeTileRow(c20, c21, y + 2 * ldy, cols, bLo, bHi, residual.map { $0 + 2 * ldy }, gelu, pre.map { $0 + 2 * ldy }) }
    if rows > 3 { storeTileRow(c30, c31, y + 3 * ldy, cols, bLo, bHi, residual.map { $0 + 3 * ldy }, gelu, pre.map { $0 + 3 * ldy }) }
    if rows > 4 { storeTileRow(c40, c41, y + 4 * ldy, cols, bLo, bHi, residual.map { $0 + 4 * ldy }, gelu, pre.map { $0 + 4 * ldy }) }
    if rows > 5 { storeTileRow(c50, c51, y + 5 * ldy, cols, bLo, bHi, residual.map { $0 + 5 * ldy }, gelu, pre.map { $0 + 5 * ldy }) }
}

@inline(always)
private func storeTileRow(
    _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>, _ cols: Int,
    _ bLo: SIMD8<Float>, _ bHi: SIMD8<Float>, _ residual: UnsafePointer<Float>?,
    _ gelu: Bool, _ pre: UnsafeMutablePointer<Float>?
) {
    var lo = lo + bLo
    var hi = hi + bHi
    if cols == 16 {
        if let residual {
            lo += load8(residual)
            hi += load8(residual + 8)
        }
        if let pre { store8(lo, pre); store8(hi, pre + 8) }
        if gelu { lo = gelu8(lo); hi = gelu8(hi) }
        store8(lo, y)
        store8(hi, y + 8)
    } else {
        if let residual {
            lo += loadPartial(residual, count: min(cols, 8))
            if cols > 8 { hi += loadPartial(residual + 8, count: cols - 8) }
        }
        if let pre {
            if cols >= 8 { store8(lo, pre); storePartial(hi, pre + 8, count: cols - 8) } else { storePartial(lo, pre, count: cols) }
        }
        if gelu { lo = gelu8(lo); hi = gelu8(hi) }
        if cols >= 8 {
            store8(lo, y)
            storePartial(hi, y + 8, count: cols - 8)
        } else {
            storePartial(lo, y, count: cols)
        }
    }
}
