// Elementwise activations and the row softmax.

/// GELU, tanh approximation (the one PyTorch computes for
/// `nn.GELU(approximate="tanh")`):
///
///     gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
///
/// evaluated as the algebraically equal `x / (1 + e^(−2u))`, u = √(2/π)(x + 0.044715x³),
/// which needs one exponential and no cancellation. Absolute error ≲ 1e-6·max(1, |x|).
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
    // −2·√(2/π) = −1.5957691216057308
    let x3 = x * x * x
    let minus2u = x.addingProduct(SIMD8(repeating: 0.044715), x3) * SIMD8(repeating: -1.595_769_121_605_730_8)
    return x / (SIMD8(repeating: 1) + exp8(minus2u))
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
