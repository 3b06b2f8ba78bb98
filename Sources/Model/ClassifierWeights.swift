/// Every parameter of an ``IntentClassifier`` (D = d_model, Ds = sparse width,
/// B = sparse buckets, Z = D + Ds, Hd = hidden width, I = head input width =
/// Hd if there is a hidden layer, else Z). Linear weights use PyTorch's
/// `nn.Linear` layout `[out, in]`. Tensors are reference types: the trainer
/// updates them in place.
public struct ClassifierWeights: @unchecked Sendable {
    public let config: ClassifierConfig
    /// The encoder body (its own tensor names: `token_embedding.weight`, `layers.{i}.…`, `final_norm.…`).
    public var encoder: EncoderWeights
    public var sparseEmbedding: Tensor?  // [B, Ds]   sparse.embedding.weight
    public var sparseNormWeight: Tensor?  // [Ds]     sparse.norm.weight   (if layer_norm)
    public var sparseNormBias: Tensor?  // [Ds]       sparse.norm.bias     (if layer_norm)
    public var hiddenWeight: Tensor?  // [Hd, Z]      hidden.weight        (if hidden_width > 0)
    public var hiddenBias: Tensor?  // [Hd]           hidden.bias
    public var heads: [String: HeadWeights]  // heads.{name}.weight [C, I], heads.{name}.bias [C]

    /// The canonical tensor names and shapes for `config`, in a fixed order:
    /// the encoder's (``EncoderWeights/parameterShapes(for:)``), then the
    /// sparse branch, the hidden layer and the heads.
    public static func parameterShapes(for config: ClassifierConfig) -> [(name: String, shape: [Int])] {
        var list = EncoderWeights.parameterShapes(for: config.encoder)
        if let s = config.sparse {
            list.append(("sparse.embedding.weight", [s.buckets, s.width]))
            if s.layerNorm { list += [("sparse.norm.weight", [s.width]), ("sparse.norm.bias", [s.width])] }
        }
        if config.hiddenWidth > 0 {
            list += [("hidden.weight", [config.hiddenWidth, config.featureWidth]), ("hidden.bias", [config.hiddenWidth])]
        }
        for head in config.heads {
            list += [("heads.\(head.name).weight", [head.classes, config.headInputWidth]), ("heads.\(head.name).bias", [head.classes])]
        }
        return list
    }

    /// Builds the weights from named tensors whose names and shapes match
    /// ``parameterShapes(for:)`` exactly (checked by the checkpoint loader).
    init(config: ClassifierConfig, tensors t: [String: Tensor]) {
        func get(_ name: String) -> Tensor {
            guard let tensor = t[name] else { preconditionFailure("ClassifierWeights: missing \(name) (validated by caller)") }
            return tensor
        }
        self.config = config
        encoder = EncoderWeights(config: config.encoder, tensors: t)
        if let s = config.sparse {
            sparseEmbedding = get("sparse.embedding.weight")
            if s.layerNorm {
                sparseNormWeight = get("sparse.norm.weight")
                sparseNormBias = get("sparse.norm.bias")
            }
        }
        if config.hiddenWidth > 0 {
            hiddenWeight = get("hidden.weight")
            hiddenBias = get("hidden.bias")
        }
        var heads: [String: HeadWeights] = [:]
        for head in config.heads {
            heads[head.name] = HeadWeights(weight: get("heads.\(head.name).weight"), bias: get("heads.\(head.name).bias"))
        }
        self.heads = heads
    }

    /// Random initialisation, deterministic in `seed`: the encoder body as
    /// ``EncoderWeights/init(randomWithConfig:seed:)``; the sparse embedding
    /// ~ N(0, 0.02²); the hidden layer and heads ~ N(0, 0.02²); biases 0;
    /// layer norms γ = 1, β = 0.
    public init(randomWithConfig config: ClassifierConfig, seed: UInt64) {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in EncoderWeights(randomWithConfig: config.encoder, seed: seed).namedTensors {
            tensors[name] = tensor
        }
        var rng = Xoshiro256(seed: seed ^ 0x5EED_C1A5_51F1_E700)
        for (name, shape) in Self.parameterShapes(for: config) where tensors[name] == nil {
            let tensor = Tensor(shape: shape)
            if name == "sparse.norm.weight" {
                for i in 0..<tensor.count { tensor[i] = 1 }
            } else if name.hasSuffix(".weight") {
                for i in 0..<tensor.count { tensor[i] = Float(0.02 * rng.nextNormal()) }
            }
            tensors[name] = tensor
        }
        self.init(config: config, tensors: tensors)
    }

    /// Every tensor with its canonical name, in ``parameterShapes(for:)`` order.
    public var namedTensors: [(name: String, tensor: Tensor)] {
        var list = encoder.namedTensors
        if let e = sparseEmbedding { list.append(("sparse.embedding.weight", e)) }
        if let w = sparseNormWeight, let b = sparseNormBias { list += [("sparse.norm.weight", w), ("sparse.norm.bias", b)] }
        if let w = hiddenWeight, let b = hiddenBias { list += [("hidden.weight", w), ("hidden.bias", b)] }
        for head in config.heads {
            let h = heads[head.name]!
            list += [("heads.\(head.name).weight", h.weight), ("heads.\(head.name).bias", h.bias)]
        }
        return list
    }

    /// A deep copy (new tensors with the same values).
    public func copy() -> ClassifierWeights {
        var tensors: [String: Tensor] = [:]
        for (name, t) in namedTensors {
            let c = Tensor(shape: t.shape)
            c.pointer.update(from: t.pointer, count: t.count)
            tensors[name] = c
        }
        return ClassifierWeights(config: config, tensors: tensors)
    }

    /// Copies every value of `other` (same config) into these tensors, in place.
    public func assign(from other: ClassifierWeights) {
        precondition(other.config == config, "ClassifierWeights.assign: config mismatch")
        for ((_, dst), (_, src)) in zip(namedTensors, other.namedTensors) {
            dst.pointer.update(from: src.pointer, count: dst.count)
        }
    }
}
