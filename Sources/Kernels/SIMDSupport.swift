// Loads, stores and transcendental functions on `SIMD8<Float>`.

/// Loads 8 consecutive floats from `p` (no alignment requirement).
@inline(always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Loads 8 consecutive floats from `p` (no alignment requirement).
@inline(always)
func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores 8 floats at `p` (no alignment requirement).
@inline(always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Loads `count` (< 8) floats from `p`; the remaining lanes are `fill`.
@inline(always)
func loadPartial(_ p: UnsafePointer<Float>, count: Int, fill: Float = 0) -> SIMD8<Float> {
    var v = SIMD8<Float>(repeating: fill)
    for i in 0..<count { v[i] = p[i] }
    return v
}

/// Stores the first `count` (< 8) lanes of `v` at `p`.
@inline(always)
func storePartial(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { p[i] = v[i] }
}

/// Lane-wise maximum (the stdlib's `pointwiseMax` is generic and is not
/// inlined into our loops; this is one `vmaxps`-class select).
@inline(always)
func vmax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }

/// Lane-wise minimum.
@inline(always)
func vmin(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .< a) }

/// Largest lane (the stdlib's `max()` is an out-of-line generic call).
@inline(always)
func hmax(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf, b = v.highHalf
    let m4 = a.replacing(with: b, where: b .> a)
    let c = m4.lowHalf, d = m4.highHalf
    let m2 = c.replacing(with: d, where: d .> c)
    return Swift.max(m2[0], m2[1])
}

/// Sum of the lanes, pairwise.
@inline(always)
func hsum(_ v: SIMD8<Float>) -> Float {
    let s4 = v.lowHalf + v.highHalf
    let s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

/// Vector exponential, `eˣ` lane by lane.
///
/// Contract: relative error ≤ 2·10⁻⁷ for x ∈ [−87.3, 88.3]; returns exactly 0
/// for x < −87.3 (including −∞, which is how masked attention scores reach
/// it); inputs above 88.3 are clamped (result ≈ 2¹²⁷·1.x, finite). NaN in
/// gives an unspecified value.
///
/// Method (Cephes `expf`): x = n·ln2 + r with n = round(x·log₂e) and |r| ≤ ln2/2
/// (Cody–Waite two-constant reduction), eʳ by a degree-6 polynomial, 2ⁿ built
/// directly in the exponent bits.
@inline(always)
func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let underflow = x .< SIMD8<Float>(repeating: -87.3)
    var v = vmin(vmax(x, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
    // round(x·log₂e) with the 1.5·2²³ trick (round-to-nearest-even in the adder).
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = magic.addingProduct(v, SIMD8(repeating: 1.442_695_040_888_963_4))
    let n = shifted - magic
    v = v.addingProduct(n, SIMD8(repeating: -0.693_359_375))
    v = v.addingProduct(n, SIMD8(repeating: 2.121_944_40e-4))
    // Horner with fused multiply-adds: c + p·v.
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = SIMD8<Float>(repeating: 1.398_199_950_7e-3).addingProduct(p, v)
    p = SIMD8<Float>(repeating: 8.333_451_907_3e-3).addingProduct(p, v)
    p = SIMD8<Float>(repeating: 4.166_579_589_4e-2).addingProduct(p, v)
    p = SIMD8<Float>(repeating: 1.666_666_545_9e-1).addingProduct(p, v)
    p = SIMD8<Float>(repeating: 5.000_000_120_1e-1).addingProduct(p, v)
    p = (v + SIMD8(repeating: 1)).addingProduct(p, v * v)
    // 2ⁿ: the low mantissa bits of (n + 1.5·2²³ + 127) hold n + 127; shift them
    // into the exponent field.
    let biased = n + SIMD8(repeating: 12_582_912 + 127)
    let bits = unsafeBitCast(biased, to: SIMD8<UInt32>.self) &<< 23
    let pow2n = unsafeBitCast(bits, to: SIMD8<Float>.self)
    return (p * pow2n).replacing(with: 0, where: underflow)
}

/// Scalar `eˣ` with the accuracy of ``exp8``.
@inline(always)
func expScalar(_ x: Float) -> Float {
    exp8(SIMD8(repeating: x))[0]
}

/// Scalar natural logarithm for x > 0 (relative error ≈ 1e-7); −∞ for 0,
/// NaN for negative input. Used once per attention row for the log-sum-exp.
@usableFromInline
func logScalar(_ x: Float) -> Float {
    if x.isNaN || x < 0 { return .nan }
    if x == 0 { return -.infinity }
    if x == .infinity { return .infinity }
    // x = 2^e · s, s ∈ [1, 2); ln s = 2·atanh(t), t = (s − 1)/(s + 1) ∈ [0, 1/3).
    let e = Double(x.exponent)
    let s = Double(x.significand)
    let t = (s - 1) / (s + 1)
    let t2 = t * t
    var series = 1.0 / 13.0
    series = series * t2 + 1.0 / 11.0
    series = series * t2 + 1.0 / 9.0
    series = series * t2 + 1.0 / 7.0
    series = series * t2 + 1.0 / 5.0
    series = series * t2 + 1.0 / 3.0
    series = series * t2 + 1.0
    return Float(e * 0.693_147_180_559_945_3 + 2 * t * series)
}
