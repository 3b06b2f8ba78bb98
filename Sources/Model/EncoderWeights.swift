/// Weights of one pre-norm encoder layer (D = d_model, F = ffn_width).
/// Linear weights use PyTorch's `nn.Linear` layout `[out, in]`.
public struct LayerWeights: @unchecked Sendable {
    public var norm1Weight: Tensor  // [D]       layers.{i}.norm1.weight
    public var norm1Bias: Tensor  // [D]         layers.{i}.norm1.bias
    public var qkvWeight: Tensor  // [3D, D]     layers.{i}.attention.qkv.weight (rows: Q, then K, then V)
    public var qkvBias: Tensor  // [3D]          layers.{i}.attention.qkv.bias
    public var outWeight: Tensor  // [D, D]      layers.{i}.attention.out.weight
    public var outBias: Tensor  // [D]           layers.{i}.attention.out.bias
    public var norm2Weight: Tensor  // [D]       layers.{i}.norm2.weight
    public var norm2Bias: Tensor  // [D]         layers.{i}.norm2.bias
    public var upWeight: Tensor  // [F, D]       layers.{i}.ffn.up.weight
    public var upBias: Tensor  // [F]            layers.{i}.ffn.up.bias
    public var downWeight: Tensor  // [D, F]     layers.{i}.ffn.down.weight
    public var downBias: Tensor  // [D]          layers.{i}.ffn.down.bias
}

/// One output head: logits = pooled · Wᵀ + b.
public struct HeadWeights: @unchecked Sendable {
    public var weight: Tensor  // [C, D]   heads.{name}.weight
    public var bias: Tensor  // [C]        heads.{name}.bias
}

/// Every parameter of the encoder (V = vocab_size, L = max_length).
public struct EncoderWeights: @unchecked Sendable {
    public let config: EncoderConfig
    public var tokenEmbedding: Tensor  // [V, D]      token_embedding.weight
    public var positionEmbedding: Tensor  // [L, D]   position_embedding.weight
    public var layers: [LayerWeights]
    public var finalNormWeight: Tensor  // [D]        final_norm.weight
    public var finalNormBias: Tensor  // [D]          final_norm.bias
    public var heads: [String: HeadWeights]  // one per config.outputHeads

    /// The canonical tensor names and shapes for `config`, in a fixed order.
    /// The PyTorch scripts use exactly these names.
    public static func parameterShapes(for config: EncoderConfig) -> [(name: String, shape: [Int])] {
        let d = config.dModel, f = config.ffnWidth
        var list: [(String, [Int])] = [
            ("token_embedding.weight", [config.vocabSize, d]),
            ("position_embedding.weight", [config.maxLength, d]),
        ]
        for i in 0..<config.layers {
            let p = "layers.\(i)."
            list += [
                (p + "norm1.weight", [d]), (p + "norm1.bias", [d]),
                (p + "attention.qkv.weight", [3 * d, d]), (p + "attention.qkv.bias", [3 * d]),
                (p + "attention.out.weight", [d, d]), (p + "attention.out.bias", [d]),
                (p + "norm2.weight", [d]), (p + "norm2.bias", [d]),
                (p + "ffn.up.weight", [f, d]), (p + "ffn.up.bias", [f]),
                (p + "ffn.down.weight", [d, f]), (p + "ffn.down.bias", [d]),
            ]
        }
        list += [("final_norm.weight", [d]), ("final_norm.bias", [d])]
        for head in config.outputHeads {
            list += [("heads.\(head.name).weight", [head.classes, d]), ("heads.\(head.name).bias", [head.classes])]
        }
        return list
    }

    /// Builds the weights from named tensors whose names and shapes must match
    /// ``parameterShapes(for:)`` exactly (checked by the checkpoint loader).
    init(config: EncoderConfig, tensors t: [String: Tensor]) {
        func get(_ name: String) -> Tensor {
            guard let tensor = t[name] else { preconditionFailure("EncoderWeights: missing \(name) (validated by caller)") }
            return tensor
        }
        self.config = config
        tokenEmbedding = get("token_embedding.weight")
        positionEmbedding = get("position_embedding.weight")
        layers = (0..<config.layers).map { i in
            let p = "layers.\(i)."
            return LayerWeights(
                norm1Weight: get(p + "norm1.weight"), norm1Bias: get(p + "norm1.bias"),
                qkvWeight: get(p + "attention.qkv.weight"), qkvBias: get(p + "attention.qkv.bias"),
                outWeight: get(p + "attention.out.weight"), outBias: get(p + "attention.out.bias"),
                norm2Weight: get(p + "norm2.weight"), norm2Bias: get(p + "norm2.bias"),
                upWeight: get(p + "ffn.up.weight"), upBias: get(p + "ffn.up.bias"),
                downWeight: get(p + "ffn.down.weight"), downBias: get(p + "ffn.down.bias"))
        }
        finalNormWeight = get("final_norm.weight")
        finalNormBias = get("final_norm.bias")
        var heads: [String: HeadWeights] = [:]
        for head in config.outputHeads {
            heads[head.name] = HeadWeights(weight: get("heads.\(head.name).weight"), bias: get("heads.\(head.name).bias"))
        }
        self.heads = heads
    }

    /// Random initialisation, deterministic in `seed`: embeddings and linear
    /// weights ~ N(0, 0.02²) (BERT/GPT-2 practice), biases 0, layer norms γ = 1, β = 0.
    public init(randomWithConfig config: EncoderConfig, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in Self.parameterShapes(for: config) {
            let tensor = Tensor(shape: shape)
            if name.hasSuffix("norm1.weight") || name.hasSuffix("norm2.weight") || name == "final_norm.weight" {
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
        var list: [(String, Tensor)] = [
            ("token_embedding.weight", tokenEmbedding), ("position_embedding.weight", positionEmbedding),
        ]
        for (i, l) in layers.enumerated() {
            let p = "layers.\(i)."
            list += [
                (p + "norm1.weight", l.norm1Weight), (p + "norm1.bias", l.norm1Bias),
                (p + "attention.qkv.weight", l.qkvWeight), (p + "attention.qkv.bias", l.qkvBias),
                (p + "attention.out.weight", l.outWeight), (p + "attention.out.bias", l.outBias),
                (p + "norm2.weight", l.norm2Weight), (p + "norm2.bias", l.norm2Bias),
                (p + "ffn.up.weight", l.upWeight), (p + "ffn.up.bias", l.upBias),
                (p + "ffn.down.weight", l.downWeight), (p + "ffn.down.bias", l.downBias),
            ]
        }
        list += [("final_norm.weight", finalNormWeight), ("final_norm.bias", finalNormBias)]
        for head in config.outputHeads {
            let h = heads[head.name]!
            list += [("heads.\(head.name).weight", h.weight), ("heads.\(head.name).bias", h.bias)]
        }
        return list
    }
}
