// Elementwise vector operations shared by the forward stages and training.

/// `y[i] = a[i] · b[i]` over `count` floats (`y` may alias either input).
/// Exact (one rounding per element).
public func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count { store8(load8(a + i) * load8(b + i), y + i); i += 8 }
    while i < count { y[i] = a[i] * b[i]; i += 1 }
}

/// `y[i] += a[i] · s` over `count` floats. The main loop uses a fused
/// multiply-add (one rounding); the tail rounds the product and the sum
/// separately, so tail elements may differ from the fused result by 1 ulp.
public func addScaled(_ a: UnsafePointer<Float>, scale s: Float, count: Int, into y: UnsafeMutablePointer<Float>) {
    let sv = SIMD8<Float>(repeating: s)
    var i = 0
    while i + 8 <= count { store8(load8(y + i).addingProduct(load8(a + i), sv), y + i); i += 8 }
    while i < count { y[i] += a[i] * s; i += 1 }
}

/// `y[i] += a[i]` over `count` floats. Exact (one rounding per element), so
/// the result equals a scalar loop's bit for bit.
public func add(_ a: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count { store8(load8(y + i) + load8(a + i), y + i); i += 8 }
    while i < count { y[i] += a[i]; i += 1 }
}
