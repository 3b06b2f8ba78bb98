import Kernels
import Model

/// The classifier's linear weights in the panel layout of `Kernels.matmul`
/// (for the forward pass), re-packed in place after every optimizer step.
final class PackedClassifier: @unchecked Sendable {
    struct Layer { let qkv, out, up, down: Tensor }
    let layers: [Layer]
    let hidden: Tensor?
    let heads: [String: Tensor]
    /// (source, packed) pairs, for ``repack(tensorsAt:)``.
    let pairs: [(source: Tensor, packed: Tensor)]

    init(_ w: ClassifierWeights) {
        var pairs: [(Tensor, Tensor)] = []
        func make(_ t: Tensor) -> Tensor {
            let p = Tensor(shape: [packedWeightCount(n: t.shape[0], k: t.shape[1])])
            pairs.append((t, p))
            return p
        }
        layers = w.encoder.layers.map {
            Layer(qkv: make($0.qkvWeight), out: make($0.outWeight), up: make($0.upWeight), down: make($0.downWeight))
        }
        hidden = w.hiddenWeight.map(make)
        var heads: [String: Tensor] = [:]
        for head in w.config.heads { heads[head.name] = make(w.heads[head.name]!.weight) }
        self.heads = heads
        self.pairs = pairs
        repack(tensorsAt: Array(pairs.indices))
    }

    /// Re-packs the given pairs (indices into ``pairs``).
    func repack(tensorsAt indices: [Int]) {
        for i in indices {
            let (src, dst) = pairs[i]
            packWeights(src.pointer, n: src.shape[0], k: src.shape[1], into: dst.pointer)
        }
    }
}
