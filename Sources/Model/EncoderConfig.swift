import Foundation

/// One classification head on top of the pooled sentence vector.
public struct OutputHeadSpec: Codable, Equatable, Hashable, Sendable {
    /// Head name, used in tensor names (`heads.{name}.weight`) and label maps.
    public var name: String
    /// Number of classes (rows of the head's weight matrix).
    public var classes: Int

    public init(name: String, classes: Int) {
        self.name = name
        self.classes = classes
    }
}

/// Hyper-parameters of the encoder. Stored as JSON in every checkpoint
/// (`__metadata__.config`, snake_case keys) and shared with the PyTorch scripts.
public struct EncoderConfig: Codable, Equatable, Hashable, Sendable {
    /// Number of token ids (rows of the token embedding).
    public var vocabSize: Int
    /// Width D of every token vector.
    public var dModel: Int
    /// Attention heads H; D must be a multiple of H (head size D / H).
    public var heads: Int
    /// Number of encoder layers.
    public var layers: Int
    /// Hidden width F of the feed-forward block.
    public var ffnWidth: Int
    /// Longest sequence (rows of the position embedding).
    public var maxLength: Int
    /// Dropout probability used by training (inference ignores it).
    public var dropout: Float
    /// Output heads, in order (e.g. "category", "priority").
    public var outputHeads: [OutputHeadSpec]

    /// Layer-norm ε (PyTorch's default); fixed, not part of the config.
    public static let layerNormEpsilon: Float = 1e-5

    public init(vocabSize: Int, dModel: Int, heads: Int, layers: Int, ffnWidth: Int, maxLength: Int,
                dropout: Float = 0.1, outputHeads: [OutputHeadSpec]) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.heads = heads
        self.layers = layers
        self.ffnWidth = ffnWidth
        self.maxLength = maxLength
        self.dropout = dropout
        self.outputHeads = outputHeads
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", heads, layers, ffnWidth = "ffn_width"
        case maxLength = "max_length", dropout, outputHeads = "output_heads"
    }

    /// Head size D / H.
    public var headDim: Int { dModel / heads }

    /// Reference config "small": D 128, 4 heads, 2 layers, FFN 512, vocab 8000,
    /// 40 categories (+ a 4-way priority head), max length 64.
    public static let small = EncoderConfig(
        vocabSize: 8000, dModel: 128, heads: 4, layers: 2, ffnWidth: 512, maxLength: 64,
        outputHeads: [OutputHeadSpec(name: "category", classes: 40), OutputHeadSpec(name: "priority", classes: 4)])

    /// Reference config "large": D 256, 4 heads, 4 layers, FFN 1024 (otherwise as small).
    public static let large = EncoderConfig(
        vocabSize: 8000, dModel: 256, heads: 4, layers: 4, ffnWidth: 1024, maxLength: 64,
        outputHeads: [OutputHeadSpec(name: "category", classes: 40), OutputHeadSpec(name: "priority", classes: 4)])

    /// Checks every field; throws ``EncoderConfigError`` describing the first problem.
    public func validate() throws {
        func bad(_ s: String) -> EncoderConfigError { EncoderConfigError(message: s) }
        for (name, v) in [("vocab_size", vocabSize), ("d_model", dModel), ("heads", heads), ("layers", layers),
                          ("ffn_width", ffnWidth), ("max_length", maxLength)] where v < 1 {
            throw bad("\(name) must be ≥ 1 (got \(v))")
        }
        // Keep every tensor well below Int32 element counts and sane sizes.
        for (name, v) in [("vocab_size", vocabSize), ("d_model", dModel), ("ffn_width", ffnWidth),
                          ("max_length", maxLength), ("layers", layers)] where v > 1 << 20 {
            throw bad("\(name) is implausibly large (\(v))")
        }
        if dModel % heads != 0 { throw bad("d_model (\(dModel)) must be a multiple of heads (\(heads))") }
        if !(dropout >= 0 && dropout < 1) { throw bad("dropout must be in [0, 1) (got \(dropout))") }
        var seen = Set<String>()
        for head in outputHeads {
            if head.name.isEmpty || head.name.contains(".") || head.name.contains("/") {
                throw bad("output head name '\(head.name)' must be non-empty without '.' or '/'")
            }
            if !seen.insert(head.name).inserted { throw bad("duplicate output head '\(head.name)'") }
            if head.classes < 1 || head.classes > 1 << 20 {
                throw bad("output head '\(head.name)' needs 1 … 2²⁰ classes (got \(head.classes))")
            }
        }
    }

    /// Floating-point operations (multiply and add counted separately) of one
    /// forward pass of a sequence of `length` tokens: the four projections per
    /// layer, QKᵀ and P·V, and the output heads. Norms and activations are not
    /// counted (they are O(L·D), not O(L·D²)).
    public func forwardFLOPs(length: Int) -> Double {
        let l = Double(length), d = Double(dModel), f = Double(ffnWidth)
        let projections = 2 * l * (3 * d * d + d * d + 2 * d * f)
        let attention = 2 * 2 * l * l * d
        let headsFLOPs = 2 * d * Double(outputHeads.reduce(0) { $0 + $1.classes })
        return Double(layers) * (projections + attention) + headsFLOPs
    }
}

/// A config that cannot describe a working encoder.
public struct EncoderConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "invalid encoder config: \(message)" }
}
