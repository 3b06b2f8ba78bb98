// Layer normalization over the last dimension.

/// Layer norm of each row: `y[i, :] = (x[i, :] − μᵢ) · σᵢ⁻¹ · γ + β` with
/// `μᵢ = mean(x[i, :])`, `σᵢ = sqrt(var(x[i, :]) + ε)` (biased variance, as
/// PyTorch's `nn.LayerNorm`). `y` may be `x` (in place).
///
/// - Parameters:
///   - x, y: `rows × dim` floats.
///   - gamma, beta: `dim` floats.
///   - mean, rstd: optional `rows` floats receiving μᵢ and 1/σᵢ (kept by
///     training for the backward pass).
public func layerNorm(
    _ x: UnsafePointer<Float>, rows: Int, dim: Int,
    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float = 1e-5,
    into y: UnsafeMutablePointer<Float>,
    mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
) {
    if dim == 0 { return }
    let vecEnd = dim & ~7
    let invDim = 1 / Float(dim)
    for r in 0..<rows {
        let xr = x + r * dim
        let yr = y + r * dim
        // Mean (two accumulators), then the variance about it (two-pass: no
        // cancellation for rows with a large mean).
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var j = 0
        while j + 16 <= vecEnd { s0 += load8(xr + j); s1 += load8(xr + j + 8); j += 16 }
        if j < vecEnd { s0 += load8(xr + j); j += 8 }
        var sum = hsum(s0 + s1)
        while j < dim { sum += xr[j]; j += 1 }
        let mu = sum * invDim
        let muV = SIMD8<Float>(repeating: mu)
        s0 = SIMD8(); s1 = SIMD8()
        j = 0
        while j + 16 <= vecEnd {
            let d0 = load8(xr + j) - muV, d1 = load8(xr + j + 8) - muV
            s0.addProduct(d0, d0); s1.addProduct(d1, d1); j += 16
        }
        if j < vecEnd { let d0 = load8(xr + j) - muV; s0.addProduct(d0, d0); j += 8 }
        var sq = hsum(s0 + s1)
        while j < dim { let d = xr[j] - mu; sq += d * d; j += 1 }
        let rs = 1 / (sq * invDim + epsilon).squareRoot()
        mean?[r] = mu
        rstd?[r] = rs
        let rsV = SIMD8<Float>(repeating: rs)
        j = 0
        while j < vecEnd {
            let v = (load8(xr + j) - muV) * rsV
            store8(v * load8(gamma + j) + load8(beta + j), yr + j)
            j += 8
        }
        while j < dim { yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j]; j += 1 }
    }
}
