// A matrix product over strided operands, for the backward passes:
//
//     y[i, j] (+)= Σ_d x[i·xRow + d·xStep] · w[d·wStep + j]      i < m, j < n, d < depth
//
// with w's rows contiguous in j. The two backward products of a linear layer
// y = x·Wᵀ + b are both of this shape without any packing or transposing:
//
//     dX = dY · W        x = dY  (xRow = N, xStep = 1),   w = W  (depth N, wStep = K)
//     dW += dYᵀ · X      x = dYᵀ (xRow = 1, xStep = N),   w = X  (depth R, wStep = K)
//
// and so are the attention products (Pᵀ·dO, dS·K, dSᵀ·Q read P, dS, Q, K, dO
// in place). The micro-kernel is the inference kernel's 6 × 16 tile (12 ymm
// accumulators, one broadcast per row, two weight vectors per step) with a
// general stride for the broadcast operand and an unpacked weight operand
// (16 contiguous floats per step, stride `wStep`).

/// Depth per cache block: a 16-column slice of w (256 × 64 B = 16 KiB) stays in L1.
let stridedDepthBlock = 256
/// Rows per cache block.
let stridedRowBlock = 96

/// `y = x·w` (or `y += x·w` with `accumulate`), operands as described in
/// the file header. `y` has row stride `ldy` and must not overlap `x` or `w`.
/// Any m, n, depth ≥ 0; with `depth == 0` and no accumulation y is zeroed.
func stridedGemm(
    _ x: UnsafePointer<Float>, rows m: Int, depth: Int, xRow: Int, xStep: Int,
    _ w: UnsafePointer<Float>, wStep: Int, columns n: Int,
    into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
) {
    if m == 0 || n == 0 { return }
    if depth == 0 {
        if !accumulate { for i in 0..<m { (y + i * ldy).update(repeating: 0, count: n) } }
        return
    }
    let tailCols = n - ((n + 15) / 16 - 1) * 16
    // Packed copy of the last (partial) panel's slice: [depthBlock][16], zero-padded.
    if tailCols < 16 {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: stridedDepthBlock * 16) { buf in
            stridedGemmBlocks(x, m, depth, xRow, xStep, w, wStep, n, y, ldy, accumulate, tailPack: buf.baseAddress!)
        }
    } else {
        stridedGemmBlocks(x, m, depth, xRow, xStep, w, wStep, n, y, ldy, accumulate, tailPack: nil)
    }
}

private func stridedGemmBlocks(
    _ x: UnsafePointer<Float>, _ m: Int, _ depth: Int, _ xRow: Int, _ xStep: Int,
    _ w: UnsafePointer<Float>, _ wStep: Int, _ n: Int,
    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ accumulate: Bool, tailPack: UnsafeMutablePointer<Float>?
) {
    let panels = (n + 15) / 16
    let tailCols = n - (panels - 1) * 16
    var d0 = 0
    while d0 < depth {
        let dc = min(stridedDepthBlock, depth - d0)
        let acc = accumulate || d0 > 0
        let xd = x + d0 * xStep
        let wd = w + d0 * wStep
        if let tailPack {
            let src = wd + (panels - 1) * 16
            for d in 0..<dc {
                let dst = tailPack + d * 16
                for c in 0..<16 { dst[c] = c < tailCols ? src[d * wStep + c] : 0 }
            }
        }
        var i0 = 0
        while i0 < m {
            let end = min(m, i0 + stridedRowBlock)
            for p in 0..<panels {
                let full = p < panels - 1 || tailPack == nil
                let wp = full ? wd + p * 16 : UnsafePointer(tailPack!)
                let ws = full ? wStep : 16
                let cols = full ? 16 : tailCols
                var i = i0
                while i + 6 <= end {
                    sgTile6(xd + i * xRow, xRow, xStep, dc, wp, ws, y + i * ldy + p * 16, ldy, cols, acc)
                    i += 6
                }
                let xr = xd + i * xRow, yr = y + i * ldy + p * 16
                switch end - i {
                case 5: sgTile5(xr, xRow, xStep, dc, wp, ws, yr, ldy, cols, acc)
                case 4: sgTile4(xr, xRow, xStep, dc, wp, ws, yr, ldy, cols, acc)
                case 3: sgTile3(xr, xRow, xStep, dc, wp, ws, yr, ldy, cols, acc)
                case 2: sgTile2(xr, xRow, xStep, dc, wp, ws, yr, ldy, cols, acc)
                case 1: sgTile1(xr, xRow, xStep, dc, wp, ws, yr, ldy, cols, acc)
                default: break
                }
            }
            i0 = end
        }
        d0 += dc
    }
}

@inline(never)
func sgTile6(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(6, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}
@inline(never)
func sgTile5(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(5, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}
@inline(never)
func sgTile4(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(4, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}
@inline(never)
func sgTile3(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(3, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}
@inline(never)
func sgTile2(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(2, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}
@inline(never)
func sgTile1(_ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                     _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    sgTile(1, x, xr, xs, k, w, ws, y, ldy, cols, acc)
}

/// One `rows × 16` tile. Full tiles (`cols == 16`) accumulate straight into y;
/// a partial tile goes through a 6 × 16 stack buffer.
@inline(__always)
private func sgTile(_ rows: Int, _ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int, _ w: UnsafePointer<Float>, _ ws: Int,
                    _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ cols: Int, _ acc: Bool) {
    if cols == 16 {
        sgKernel(rows, x, xr, xs, k, w, ws, y, ldy, acc)
    } else {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * 16) { buf in
            let t = buf.baseAddress!
            for r in 0..<rows {
                for c in 0..<16 { t[r * 16 + c] = acc && c < cols ? y[r * ldy + c] : 0 }
            }
            sgKernel(rows, x, xr, xs, k, w, ws, t, 16, true)
            for r in 0..<rows {
                for c in 0..<cols { y[r * ldy + c] = t[r * 16 + c] }
            }
        }
    }
}

@inline(__always)
private func sgKernel(_ rows: Int, _ x: UnsafePointer<Float>, _ xr: Int, _ xs: Int, _ k: Int,
                      _ w: UnsafePointer<Float>, _ ws: Int,
                      _ out: UnsafeMutablePointer<Float>, _ ldo: Int, _ acc: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    if acc {
        c00 = ld8(out); c01 = ld8(out + 8)
        if rows > 1 { c10 = ld8(out + ldo); c11 = ld8(out + ldo + 8) }
        if rows > 2 { c20 = ld8(out + 2 * ldo); c21 = ld8(out + 2 * ldo + 8) }
        if rows > 3 { c30 = ld8(out + 3 * ldo); c31 = ld8(out + 3 * ldo + 8) }
        if rows > 4 { c40 = ld8(out + 4 * ldo); c41 = ld8(out + 4 * ldo + 8) }
        if rows > 5 { c50 = ld8(out + 5 * ldo); c51 = ld8(out + 5 * ldo + 8) }
    }
    var xp = x
    var wp = w
    for _ in 0..<k {
        let w0 = ld8(wp), w1 = ld8(wp + 8)
        let a0 = SIMD8<Float>(repeating: xp[0])
        c00.addProduct(a0, w0); c01.addProduct(a0, w1)
        if rows > 1 {
            let a = SIMD8<Float>(repeating: xp[xr])
            c10.addProduct(a, w0); c11.addProduct(a, w1)
        }
        if rows > 2 {
            let a = SIMD8<Float>(repeating: xp[2 * xr])
            c20.addProduct(a, w0); c21.addProduct(a, w1)
        }
        if rows > 3 {
            let a = SIMD8<Float>(repeating: xp[3 * xr])
            c30.addProduct(a, w0); c31.addProduct(a, w1)
        }
        if rows > 4 {
            let a = SIMD8<Float>(repeating: xp[4 * xr])
            c40.addProduct(a, w0); c41.addProduct(a, w1)
        }
        if rows > 5 {
            let a = SIMD8<Float>(repeating: xp[5 * xr])
            c50.addProduct(a, w0); c51.addProduct(a, w1)
        }
        xp += xs
        wp += ws
    }
    st8(c00, out); st8(c01, out + 8)
    if rows > 1 { st8(c10, out + ldo); st8(c11, out + ldo + 8) }
    if rows > 2 { st8(c20, out + 2 * ldo); st8(c21, out + 2 * ldo + 8) }
    if rows > 3 { st8(c30, out + 3 * ldo); st8(c31, out + 3 * ldo + 8) }
    if rows > 4 { st8(c40, out + 4 * ldo); st8(c41, out + 4 * ldo + 8) }
    if rows > 5 { st8(c50, out + 5 * ldo); st8(c51, out + 5 * ldo + 8) }
}

/// Scratch for ``gemmTransposedAccumulate(_:rows:outer:_:inner:into:scratch:)``.
final class GemmScratch {
    private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacity = 1
    func ensure(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count + count / 4
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }
    deinit { pointer.deallocate() }
}

/// Weight gradient of a linear layer, `dW[n, k] += Σ_r dY[r, n] · X[r, k]`
/// (`dY`: rows × n, `X`: rows × k, `dW`: n × k, all row-major).
///
/// X is first packed into 16-column panels `[k/16][rows][16]` so that the
/// micro-kernel streams it contiguously; dYᵀ is read in place (6 adjacent
/// floats of a dY row per step). Packing costs rows·k copies against
/// rows·n·k multiply-adds. Per depth block of 256 rows, the loop nest keeps
/// the smaller operand block in L2 and one tile's slice of the other in L1.
func gemmTransposedAccumulate(_ dy: UnsafePointer<Float>, rows r: Int, outer n: Int,
                              _ x: UnsafePointer<Float>, inner k: Int,
                              into dW: UnsafeMutablePointer<Float>, scratch: GemmScratch) {
    if r == 0 || n == 0 || k == 0 { return }
    let panels = (k + 15) / 16
    let px = scratch.ensure(panels * 16 * r)
    packPanels(x, rows: r, cols: k, into: px)
    gemmTransposedPacked(px: px, dy: dy, rows: r, outer: n, inner: k, into: dW)
}

/// `src` (rows × cols) → `[cols/16][rows][16]`, zero-padded.
func packPanels(_ src: UnsafePointer<Float>, rows r: Int, cols k: Int, into dst: UnsafeMutablePointer<Float>) {
    let panels = (k + 15) / 16
    for p in 0..<panels {
        let width = min(16, k - p * 16)
        let d = dst + p * 16 * r
        if width == 16 {
            for row in 0..<r {
                let s = src + row * k + p * 16
                st8(ld8(s), d + row * 16)
                st8(ld8(s + 8), d + row * 16 + 8)
            }
        } else {
            for row in 0..<r {
                let s = src + row * k + p * 16
                for c in 0..<16 { d[row * 16 + c] = c < width ? s[c] : 0 }
            }
        }
    }
}

func gemmTransposedPacked(px: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, rows r: Int, outer n: Int,
                          inner k: Int, into dW: UnsafeMutablePointer<Float>) {
    let panels = (k + 15) / 16, strips = (n + 5) / 6
    @inline(__always) func tile(_ p: Int, _ t: Int, _ d0: Int, _ dc: Int) {
        let cols = min(16, k - p * 16)
        let w = UnsafePointer(px + p * 16 * r + d0 * 16)
        let xs = dy + d0 * n + t * 6
        let y = dW + t * 6 * k + p * 16
        switch min(6, n - t * 6) {
        case 6: sgTile6(xs, 1, n, dc, w, 16, y, k, cols, true)
        case 5: sgTile5(xs, 1, n, dc, w, 16, y, k, cols, true)
        case 4: sgTile4(xs, 1, n, dc, w, 16, y, k, cols, true)
        case 3: sgTile3(xs, 1, n, dc, w, 16, y, k, cols, true)
        case 2: sgTile2(xs, 1, n, dc, w, 16, y, k, cols, true)
        default: sgTile1(xs, 1, n, dc, w, 16, y, k, cols, true)
        }
    }
    var d0 = 0
    while d0 < r {
        let dc = min(stridedDepthBlock, r - d0)
        if n > k {
            // dY block is the larger: one strip of it in L1, all panel slices (256 × k) in L2.
            for t in 0..<strips { for p in 0..<panels { tile(p, t, d0, dc) } }
        } else {
            for p in 0..<panels { for t in 0..<strips { tile(p, t, d0, dc) } }
        }
        d0 += dc
    }
}
