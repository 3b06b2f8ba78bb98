import Foundation

/// Activation applied to the sparse branch's bag vector (after the optional layer norm).
public enum SparseActivation: String, Codable, Equatable, Hashable, Sendable {
    /// Identity.
    case none
    /// GELU, tanh approximation (as in the encoder's FFN).
    case gelu
}

/// The sparse branch of an ``IntentClassifier``: an embedding bag over hashed
/// sparse features (e.g. character n-grams, as Rasa's DIET uses).
///
///     bag   = Σᵢ valueᵢ · E_sparse[indexᵢ]        E_sparse: [buckets, width]
///     out   = activation(layerNorm ? LN(bag) : bag)
public struct SparseBranchConfig: Codable, Equatable, Hashable, Sendable {
    /// Number of hash buckets B (rows of the sparse embedding), e.g. 2¹⁷ … 2¹⁸.
    public var buckets: Int
    /// Width Ds of the bag vector.
    public var width: Int
    /// Layer norm (with learned γ, β) on the bag vector.
    public var layerNorm: Bool
    /// Activation after the (optional) layer norm.
    public var activation: SparseActivation

    /// A sparse branch of `buckets` × `width`.
    public init(buckets: Int, width: Int, layerNorm: Bool = true, activation: SparseActivation = .none) {
        self.buckets = buckets
        self.width = width
        self.layerNorm = layerNorm
        self.activation = activation
    }

    enum CodingKeys: String, CodingKey { case buckets, width, layerNorm = "layer_norm", activation }
}

/// Hyper-parameters of an ``IntentClassifier``: the encoder body, the optional
/// sparse branch, the optional hidden layer and the named output heads.
/// Stored as JSON in every classifier checkpoint (`__metadata__.config`).
///
///     pooled  = mean-pooled encoder output                  [D]
///     sparse  = sparse branch output (if configured)        [Ds]
///     z       = concat(pooled, sparse)                      [D + Ds]
///     h       = GELU(W_hidden · z + b_hidden)               [hiddenWidth]   (if hiddenWidth > 0, else h = z)
///     logits  = W_head · h + b_head                         [classes]       per head
public struct ClassifierConfig: Codable, Equatable, Hashable, Sendable {
    /// The encoder body. Its `outputHeads` must be empty (the classifier owns
    /// the heads); its `dropout` is the default training dropout.
    public var encoder: EncoderConfig
    /// The sparse embedding-bag branch, or `nil` for none.
    public var sparse: SparseBranchConfig?
    /// Width of the GELU hidden layer between `z` and the heads; 0 = no hidden layer.
    public var hiddenWidth: Int
    /// Output heads, in order (e.g. "intent" with ~70 classes, "priority" with 4).
    public var heads: [OutputHeadSpec]

    /// A config; `encoder.outputHeads` is cleared (the classifier owns the heads).
    public init(encoder: EncoderConfig, sparse: SparseBranchConfig? = nil, hiddenWidth: Int = 0, heads: [OutputHeadSpec]) {
        var body = encoder
        body.outputHeads = []
        self.encoder = body
        self.sparse = sparse
        self.hiddenWidth = hiddenWidth
        self.heads = heads
    }

    enum CodingKeys: String, CodingKey { case encoder, sparse, hiddenWidth = "hidden_width", heads }

    /// Width of the pooled encoder vector (D).
    public var pooledWidth: Int { encoder.dModel }
    /// Width of the sparse branch output (0 without one).
    public var sparseWidth: Int { sparse?.width ?? 0 }
    /// Width of `z = concat(pooled, sparse)`: the sentence vector.
    public var featureWidth: Int { pooledWidth + sparseWidth }
    /// Width of the heads' input: `hiddenWidth` if there is a hidden layer, else `featureWidth`.
    public var headInputWidth: Int { hiddenWidth > 0 ? hiddenWidth : featureWidth }

    /// The encoder body of ``EncoderConfig/small`` with the given heads.
    public static func small(heads: [OutputHeadSpec], sparse: SparseBranchConfig? = nil, hiddenWidth: Int = 0) -> ClassifierConfig {
        ClassifierConfig(encoder: .small, sparse: sparse, hiddenWidth: hiddenWidth, heads: heads)
    }

    /// Checks every field; throws ``EncoderConfigError`` describing the first problem.
    public func validate() throws {
        func bad(_ s: String) -> EncoderConfigError { EncoderConfigError(message: s) }
        try encoder.validate()
        if !encoder.outputHeads.isEmpty { throw bad("the classifier's encoder must have no output heads (the classifier owns them)") }
        if let s = sparse {
            if s.buckets < 1 || s.buckets > 1 << 26 { throw bad("sparse buckets must be in 1 … 2²⁶ (got \(s.buckets))") }
            if s.width < 1 || s.width > 1 << 16 { throw bad("sparse width must be in 1 … 2¹⁶ (got \(s.width))") }
        }
        if hiddenWidth < 0 || hiddenWidth > 1 << 20 { throw bad("hidden_width must be in 0 … 2²⁰ (got \(hiddenWidth))") }
        if heads.isEmpty { throw bad("a classifier needs at least one output head") }
        var seen = Set<String>()
        for head in heads {
            if head.name.isEmpty || head.name.contains(".") || head.name.contains("/") {
                throw bad("output head name '\(head.name)' must be non-empty without '.' or '/'")
            }
            if !seen.insert(head.name).inserted { throw bad("duplicate output head '\(head.name)'") }
            if head.classes < 1 || head.classes > 1 << 20 {
                throw bad("output head '\(head.name)' needs 1 … 2²⁰ classes (got \(head.classes))")
            }
        }
    }

    /// Forward FLOPs for one sequence of `length` tokens with `sparseFeatures`
    /// active features (multiply and add counted separately): the encoder body,
    /// the bag, the hidden layer and the heads.
    public func forwardFLOPs(length: Int, sparseFeatures: Int = 0) -> Double {
        let body = encoder.forwardFLOPs(length: length)
        let bag = sparse == nil ? 0 : 2 * Double(sparseFeatures * sparseWidth)
        let hidden = hiddenWidth > 0 ? 2 * Double(featureWidth * hiddenWidth) : 0
        let headFLOPs = 2 * Double(headInputWidth * heads.reduce(0) { $0 + $1.classes })
        return body + bag + hidden + headFLOPs
    }
}

/// One example's hashed sparse features: `values[i]` is the weight of bucket
/// `indices[i]`. Indices may repeat (their rows are summed) and need not be sorted.
public struct SparseVector: Codable, Equatable, Hashable, Sendable {
    /// Bucket indices in `0 ..< buckets`.
    public var indices: [Int32]
    /// One weight per index.
    public var values: [Float]

    /// A sparse vector; `indices.count` must equal `values.count` (checked when used).
    public init(indices: [Int32], values: [Float]) {
        self.indices = indices
        self.values = values
    }

    /// No features.
    public static let empty = SparseVector(indices: [], values: [])
}
