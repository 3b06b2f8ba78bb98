// Elementwise activations and the row softmax.

/// GELU, tanh approximation (the one PyTorch computes for
/// `nn.GELU(approximate="tanh")`):
///
///     gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
///
/// with `tanh` from ``tanh8`` (a rational minimax approximation: no
/// exponential, one division). Absolute error ≲ 1e-6·max(1, |x|).
/// `y` may be `x` (in place). `count` ≥ 0 floats.
public func geluTanh(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count {
        store8(gelu8(load8(x + i)), y + i)
        i += 8
    }
    if i < count {
        let v = gelu8(loadPartial(x + i, count: count - i))
        storePartial(v, y + i, count: count - i)
    }
}

@inline(always)
func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let x3 = x * x * x
    let u = x.addingProduct(SIMD8(repeating: 0.044715), x3) * SIMD8(repeating: 0.797_884_560_802_865_4)  // √(2/π)
    let half = SIMD8<Float>(repeating: 0.5) * x
    return half.addingProduct(half, tanh8(u))
}

/// Vector hyperbolic tangent: the rational approximation p(x)/q(x) of degree
/// 13/6 that Eigen uses for `float` (`ptanh_float`), on x clamped to
/// ±9, result clamped to [−1, 1]. Absolute error ≤ 3e-7 (tested).
@inline(always)
func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = vmin(vmax(x, SIMD8(repeating: -9)), SIMD8(repeating: 9))
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
    // At ±7.9053 p/q is 1 − 2.4e-7, which GELU would multiply by a large |x|;
    // the input clamp is therefore ±9 (where p/q ≥ 1) and the result is
    // clamped to [−1, 1], so tanh saturates to exactly ±1.
    return vmin(vmax(p / q, SIMD8(repeating: -1)), SIMD8(repeating: 1))
}

/// Softmax of each row: `y[i, j] = exp(x[i, j] − maxⱼ x[i, :]) / Σⱼ exp(x[i, j] − maxⱼ x[i, :])`.
/// Entries may be −∞ (weight 0); a row with no finite entry gives unspecified values. `y` may be `x`. `rows × cols` floats, row-major.
public func softmaxRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into y: UnsafeMutablePointer<Float>) {
    if cols == 0 { return }
    let vecEnd = cols & ~7
    for r in 0..<rows {
        let xr = x + r * cols, yr = y + r * cols
        var mv = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j < vecEnd { mv = vmax(mv, load8(xr + j)); j += 8 }
        var m = hmax(mv)
        while j < cols { m = Swift.max(m, xr[j]); j += 1 }
        let mV = SIMD8<Float>(repeating: m)
        var sv = SIMD8<Float>()
        j = 0
        while j < vecEnd {
            let e = exp8(load8(xr + j) - mV)
            store8(e, yr + j); sv += e; j += 8
        }
        var s = hsum(sv)
        if j < cols {
            let e = exp8(loadPartial(xr + j, count: cols - j, fill: -.infinity) - mV)
            storePartial(e, yr + j, count: cols - j)
            s += hsum(e)
        }
        let inv = SIMD8<Float>(repeating: 1 / s)
        j = 0
        while j < vecEnd { store8(load8(yr + j) * inv, yr + j); j += 8 }
        while j < cols { yr[j] *= inv[0]; j += 1 }
    }
}
