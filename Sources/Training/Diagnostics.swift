import Dispatch
import Kernels
import Model

/// Kernel-level measurements for `concierge bench training --kernels`.
public enum TrainingDiagnostics {
    /// GFLOP/s of the forward matmul and of both backward products (dW = dYᵀ·X,
    /// dX = dY·W) for the linear layers of the small config at `rows` token
    /// rows, on the calling thread. Each entry is measured for about `seconds`.
    public static func gemmThroughput(rows r: Int = 1024, seconds: Double = 1) -> [(name: String, gflops: Double)] {
        var out: [(String, Double)] = []
        var rng = Xoshiro256(seed: 5)
        func random(_ n: Int) -> Tensor {
            let t = Tensor(shape: [n])
            for i in 0..<n { t[i] = Float(rng.nextNormal()) }
            return t
        }
        // Best of many short timings: robust to other processes on a shared box.
        func time(_ flops: Double, _ body: () -> Void) -> Double {
            body()
            var best = Double.infinity
            let t0 = DispatchTime.now().uptimeNanoseconds
            repeat {
                let t = DispatchTime.now().uptimeNanoseconds
                body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
            } while Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 < seconds
            return flops / best / 1e9
        }
        for (name, n, k) in [("qkv", 384, 128), ("out", 128, 128), ("up", 512, 128), ("down", 128, 512)] {
            let x = random(r * k), w = random(n * k), dy = random(r * n)
            let packed = Tensor(shape: [packedWeightCount(n: n, k: k)])
            packWeights(w.pointer, n: n, k: k, into: packed.pointer)
            let y = Tensor(shape: [r * n]), dW = Tensor(shape: [n * k]), dX = Tensor(shape: [r * k])
            let flops = 2 * Double(r * n * k)
            out.append(("\(name) forward  y = x·Wᵀ  [\(r)×\(k)]·[\(k)×\(n)]",
                        time(flops) { matmul(x.pointer, rows: r, inner: k, packedWeights: packed.pointer, columns: n, bias: nil, residual: nil, into: y.pointer) }))
            out.append(("\(name) backward dW += dYᵀ·X",
                        time(flops) { stridedGemm(dy.pointer, rows: n, depth: r, xRow: 1, xStep: n, x.pointer, wStep: k, columns: k, into: dW.pointer, ldy: k, accumulate: true) }))
            let scratch = GemmScratch()
            out.append(("\(name) backward dW += dYᵀ·X (packed)",
                        time(flops) { gemmTransposedAccumulate(dy.pointer, rows: r, outer: n, x.pointer, inner: k, into: dW.pointer, scratch: scratch) }))
            let px = scratch.ensure((k + 15) / 16 * 16 * r)
            out.append(("\(name) backward dW, packing only",
                        time(flops) { packPanels(x.pointer, rows: r, cols: k, into: px) }))
            out.append(("\(name) backward dW, kernel only",
                        time(flops) { gemmTransposedPacked(px: px, dy: dy.pointer, rows: r, outer: n, inner: k, into: dW.pointer) }))
            let packedKN = Tensor(shape: [packedWeightCount(n: k, k: n)])
            packWeightsKN(w.pointer, k: n, n: k, into: packedKN.pointer)
            out.append(("\(name) backward dX = dY·W (packed, Kernels.matmul)",
                        time(flops) { matmul(dy.pointer, rows: r, inner: n, packedWeights: packedKN.pointer, columns: k, bias: nil, residual: nil, into: dX.pointer) }))
            out.append(("\(name) backward dX = dY·W",
                        time(flops) { stridedGemm(dy.pointer, rows: r, depth: n, xRow: n, xStep: 1, w.pointer, wStep: k, columns: k, into: dX.pointer, ldy: k, accumulate: false) }))
        }
        return out
    }
}
