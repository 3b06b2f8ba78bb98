import Kernels
import Model

/// The classifier's linear weights in the panel layout of `Kernels.matmul`,
/// twice: `W` as is (forward, `y = x·Wᵀ`) and transposed (backward,
/// `dX = dY·W`, packed with `packWeightsKN`). Re-packed in place after every
/// optimizer step.
final class PackedClassifier: @unchecked Sendable {
    /// Forward and backward packing of one weight matrix.
    struct Linear {
        let forward: Tensor
        let backward: Tensor
    }
    struct Layer { let qkv, out, up, down: Linear }
    let layers: [Layer]
    let hidden: Linear?
    let heads: [String: Linear]
    /// (source, forward, backward), for ``repack(tensorsAt:)``.
    let pairs: [(source: Tensor, forward: Tensor, backward: Tensor)]

    init(_ w: ClassifierWeights) {
        var pairs: [(Tensor, Tensor, Tensor)] = []
        func make(_ t: Tensor) -> Linear {
            let n = t.shape[0], k = t.shape[1]
            let l = Linear(forward: Tensor(shape: [packedWeightCount(n: n, k: k)]), backward: Tensor(shape: [packedWeightCount(n: k, k: n)]))
            pairs.append((t, l.forward, l.backward))
            return l
        }
        layers = w.encoder.layers.map {
            Layer(qkv: make($0.qkvWeight), out: make($0.outWeight), up: make($0.upWeight), down: make($0.downWeight))
        }
        hidden = w.hiddenWeight.map(make)
        var heads: [String: Linear] = [:]
        for head in w.config.heads { heads[head.name] = make(w.heads[head.name]!.weight) }
        self.heads = heads
        self.pairs = pairs
        repack(tensorsAt: Array(pairs.indices))
    }

    /// Re-packs the given pairs (indices into ``pairs``).
    func repack(tensorsAt indices: [Int]) {
        for i in indices {
            let (src, fwd, bwd) = pairs[i]
            let n = src.shape[0], k = src.shape[1]
            packWeights(src.pointer, n: n, k: k, into: fwd.pointer)
            packWeightsKN(src.pointer, k: n, n: k, into: bwd.pointer)
        }
    }
}
