// Kernels: the numeric building blocks of the Concierge encoder.
//
// Everything here works on raw `UnsafePointer<Float>` buffers with explicit
// shapes, row-major, so that the same kernels serve inference, training and
// benchmarks without copies. No Foundation: only the standard library's SIMD
// types. The target is compiled with `-target-cpu haswell` (AVX2 + FMA), so
// `SIMD8<Float>` maps onto one ymm register and `addProduct` onto `vfmadd*ps`.
//
// Vector width: AVX2 registers hold 8 floats and there are 16 of them. We use
// `SIMD8<Float>` everywhere so that the register budget of each micro-kernel
// is explicit (one `SIMD8` = one ymm). `SIMD16<Float>` would be legalised into
// pairs of ymm registers by LLVM anyway, and hides how many are live.
