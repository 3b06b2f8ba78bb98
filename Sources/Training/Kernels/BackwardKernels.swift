// Elementwise and row-wise backward kernels (SIMD8 = one AVX2 register).

@inline(__always)
func ld8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func ld8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func st8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

@inline(__always)
func hsum8(_ v: SIMD8<Float>) -> Float {
    let s4 = v.lowHalf + v.highHalf
    let s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

/// Lane-wise clamp to [lo, hi] with plain selects (the stdlib's generic
/// `clamped` is not always inlined into hot loops).
@inline(__always)
func clamp8(_ x: SIMD8<Float>, _ lo: Float, _ hi: Float) -> SIMD8<Float> {
    let l = SIMD8<Float>(repeating: lo), h = SIMD8<Float>(repeating: hi)
    let a = x.replacing(with: l, where: x .< l)
    return a.replacing(with: h, where: a .> h)
}

/// tanh as the forward GELU computes it (Eigen's rational approximation, the
/// same coefficients as `Kernels.tanh8`), so the derivative matches the forward.
@inline(__always)
func tanhApprox8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = clamp8(x, -9, 9)
    let x2 = c * c
    var p = SIMD8<Float>(repeating: -2.760_768_477_423_55e-16)
    p = SIMD8<Float>(repeating: 2.000_187_904_824_77e-13).addingProduct(p, x2)
    p = SIMD8<Float>(repeating: -8.604_671_522_137_35e-11).addingProduct(p, x2)
    p = SIMD8<Float>(repeating: 5.122_297_090_371_14e-08).addingProduct(p, x2)
    p = SIMD8<Float>(repeating: 1.485_722_357_179_79e-05).addingProduct(p, x2)
    p = SIMD8<Float>(repeating: 6.372_619_288_754_36e-04).addingProduct(p, x2)
    p = SIMD8<Float>(repeating: 4.893_524_558_917_86e-03).addingProduct(p, x2)
    p *= c
    var q = SIMD8<Float>(repeating: 1.198_258_394_667_02e-06)
    q = SIMD8<Float>(repeating: 1.185_347_056_866_54e-04).addingProduct(q, x2)
    q = SIMD8<Float>(repeating: 2.268_434_632_439_00e-03).addingProduct(q, x2)
    q = SIMD8<Float>(repeating: 4.893_525_185_543_85e-03).addingProduct(q, x2)
    return clamp8(p / q, -1, 1)
}

/// d/dx of the tanh-approximated GELU:
/// `½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)`, `t = tanh(√(2/π)(x + 0.044715x³))`.
@inline(__always)
func geluDerivative8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let k = SIMD8<Float>(repeating: 0.797_884_560_802_865_4)
    let x2 = x * x
    let u = (x + SIMD8(repeating: 0.044715) * x2 * x) * k
    let t = tanhApprox8(u)
    let half = SIMD8<Float>(repeating: 0.5)
    let du = k * SIMD8(repeating: 1).addingProduct(SIMD8(repeating: 3 * 0.044715), x2)
    return half * (SIMD8(repeating: 1) + t) + half * x * (SIMD8(repeating: 1) - t * t) * du
}

/// `dx[i] = dy[i] · gelu′(pre[i])`. `dx` may be `dy`.
func geluBackward(pre: UnsafePointer<Float>, dy: UnsafePointer<Float>, count: Int, into dx: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count {
        st8(ld8(dy + i) * geluDerivative8(ld8(pre + i)), dx + i)
        i += 8
    }
    if i < count {
        var p = SIMD8<Float>(), g = SIMD8<Float>()
        for j in 0..<(count - i) { p[j] = pre[i + j]; g[j] = dy[i + j] }
        let r = g * geluDerivative8(p)
        for j in 0..<(count - i) { dx[i + j] = r[j] }
    }
}

/// Backward of `y = (x − μ)·rstd·γ + β` over `rows` rows of `dim`:
///
///     x̂ = (x − μ)·rstd,  g = dy·γ
///     dγ += Σ_rows dy·x̂,  dβ += Σ_rows dy
///     dx (+)= rstd · (g − mean(g) − x̂ · mean(g·x̂))
///
/// `dx` may not alias `dy`. With `accumulate` dx is added to, else written.
func layerNormBackward(
    x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    dy: UnsafePointer<Float>, rows: Int, dim: Int,
    dx: UnsafeMutablePointer<Float>, accumulate: Bool,
    dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>
) {
    let vecEnd = dim & ~7
    let invDim = 1 / Float(dim)
    for r in 0..<rows {
        let xr = x + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
        let mu = mean[r], rs = rstd[r]
        let muV = SIMD8<Float>(repeating: mu), rsV = SIMD8<Float>(repeating: rs)
        var sg = SIMD8<Float>(), sgx = SIMD8<Float>()
        var j = 0
        while j < vecEnd {
            let xh = (ld8(xr + j) - muV) * rsV
            let d = ld8(dyr + j)
            st8(ld8(dGamma + j).addingProduct(d, xh), dGamma + j)
            st8(ld8(dBeta + j) + d, dBeta + j)
            let g = d * ld8(gamma + j)
            sg += g
            sgx.addProduct(g, xh)
            j += 8
        }
        var sumG = hsum8(sg), sumGX = hsum8(sgx)
        while j < dim {
            let xh = (xr[j] - mu) * rs
            let d = dyr[j]
            dGamma[j] += d * xh
            dBeta[j] += d
            let g = d * gamma[j]
            sumG += g
            sumGX += g * xh
            j += 1
        }
        let a = sumG * invDim, b = sumGX * invDim
        let aV = SIMD8<Float>(repeating: a), bV = SIMD8<Float>(repeating: b)
        j = 0
        while j < vecEnd {
            let xh = (ld8(xr + j) - muV) * rsV
            let g = ld8(dyr + j) * ld8(gamma + j)
            var v = (g - aV - xh * bV) * rsV
            if accumulate { v += ld8(dxr + j) }
            st8(v, dxr + j)
            j += 8
        }
        while j < dim {
            let xh = (xr[j] - mu) * rs
            let v = (dyr[j] * gamma[j] - a - xh * b) * rs
            dxr[j] = accumulate ? dxr[j] + v : v
            j += 1
        }
    }
}

/// `sums[j] += Σ_r m[r·ld + j]` for `j < cols` (bias gradients).
func addColumnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, into sums: UnsafeMutablePointer<Float>) {
    let vecEnd = cols & ~7
    var j = 0
    // Four columns-vectors at a time keeps 4 independent add chains.
    while j + 32 <= vecEnd {
        var a0 = ld8(sums + j), a1 = ld8(sums + j + 8), a2 = ld8(sums + j + 16), a3 = ld8(sums + j + 24)
        for r in 0..<rows {
            let p = m + r * ld + j
            a0 += ld8(p); a1 += ld8(p + 8); a2 += ld8(p + 16); a3 += ld8(p + 24)
        }
        st8(a0, sums + j); st8(a1, sums + j + 8); st8(a2, sums + j + 16); st8(a3, sums + j + 24)
        j += 32
    }
    while j < vecEnd {
        var a = ld8(sums + j)
        for r in 0..<rows { a += ld8(m + r * ld + j) }
        st8(a, sums + j)
        j += 8
    }
    while j < cols {
        var a = sums[j]
        for r in 0..<rows { a += m[r * ld + j] }
        sums[j] = a
        j += 1
    }
}

/// Σ a[i]² in Double (for gradient norms), vectorised in Float per 8-block then accumulated in Double per 1024 elements.
func sumOfSquares(_ a: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end { let v = ld8(a + i); acc.addProduct(v, v); i += 8 }
        var s = Double(hsum8(acc))
        while i < end { s += Double(a[i]) * Double(a[i]); i += 1 }
        total += s
    }
    return total
}
