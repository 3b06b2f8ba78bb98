import Foundation
import Model

/// One labelled training example.
public struct TrainingExample: Codable, Equatable, Sendable {
    /// Token ids (0 … maxLength of them).
    public var tokenIDs: [Int32]
    /// Hashed sparse features; `nil` = none. Ignored without a sparse branch.
    public var sparse: SparseVector?
    /// Head name → class index. A head missing here contributes no loss for
    /// this example (e.g. "priority" only for service requests).
    public var labels: [String: Int]

    /// An example; see the properties.
    public init(tokenIDs: [Int32], sparse: SparseVector? = nil, labels: [String: Int]) {
        self.tokenIDs = tokenIDs
        self.sparse = sparse
        self.labels = labels
    }
}

/// How the huge sparse embedding table is updated (only touched rows are ever visited).
public enum SparseOptimizer: String, Codable, Equatable, Sendable {
    /// Lazy Adam (PyTorch's `SparseAdam`): moments of a row move only on steps that touch it.
    case lazyAdam
    /// Plain SGD on the touched rows (no optimizer state: 1 table instead of 3).
    case sgd
}

/// Hyper-parameters of a training run. Every field has a default; the
/// defaults are a reasonable start for the small config on a few thousand examples.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// Passes over the training set (an upper bound with early stopping).
    public var epochs: Int = 30
    /// Examples per optimizer step.
    public var batchSize: Int = 32
    /// Peak AdamW learning rate of the dense parameters.
    public var learningRate: Float = 1e-3
    /// Peak learning rate of the sparse embedding table (same schedule).
    public var sparseLearningRate: Float = 1e-2
    /// Optimizer of the sparse embedding table.
    public var sparseOptimizer: SparseOptimizer = .lazyAdam
    /// Decoupled weight decay, applied to linear weights only (not to biases,
    /// layer norms or embeddings).
    public var weightDecay: Float = 0.01
    /// Fraction of all steps spent on the linear warm-up.
    public var warmupFraction: Float = 0.06
    /// Decay after the warm-up.
    public var decay: LearningRateDecay = .linear
    /// Final learning rate as a fraction of the peak.
    public var floorFraction: Float = 0
    /// Global gradient-norm clipping threshold (≤ 0: no clipping).
    public var clipNorm: Float = 1
    /// Dropout of the encoder (embeddings, attention block, FFN block) and of the pooled vector.
    public var dropout: Float = 0.1
    /// Dropout of the sparse branch output.
    public var sparseDropout: Float = 0.1
    /// Dropout after the hidden layer.
    public var hiddenDropout: Float = 0.1
    /// Label smoothing ε of the cross-entropy (target (1 − ε)·onehot + ε/C).
    public var labelSmoothing: Float = 0.1
    /// Loss weight per head (default 1).
    public var headWeights: [String: Float] = [:]
    /// Loss weight per class of a head, in class order (nil, or a head not
    /// listed: every class weighs 1). A head's loss is the class-weighted mean
    /// over its labelled examples, Σ wᵢ·ℓᵢ / Σ wᵢ (as PyTorch's weighted
    /// cross-entropy), so weights only shift the balance between classes.
    public var classWeights: [String: [Float]]? = nil
    /// Seed of initialisation, shuffling and dropout. Same seed, data and
    /// `threads` → bit-identical weights.
    public var seed: UInt64 = 42
    /// Worker threads (the batch is split across them).
    public var threads: Int = 2
    /// Epochs without improvement of the validation metric before stopping
    /// (≤ 0: never stop early). The best epoch's weights are returned.
    public var patience: Int = 4
    /// Adam β₁, β₂, ε.
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    /// Update only the touched rows of the token embedding (lazy Adam) instead
    /// of the exact dense AdamW update of all rows.
    public var lazyTokenEmbedding: Bool = false

    /// The defaults.
    public init() {}

    /// Checks ranges; throws ``TrainingError/invalidOptions(_:)``.
    public func validate() throws {
        func bad(_ s: String) -> TrainingError { .invalidOptions(s) }
        if epochs < 1 { throw bad("epochs must be ≥ 1") }
        if batchSize < 1 { throw bad("batchSize must be ≥ 1") }
        if !(learningRate > 0 && learningRate.isFinite) { throw bad("learningRate must be > 0") }
        if !(sparseLearningRate >= 0 && sparseLearningRate.isFinite) { throw bad("sparseLearningRate must be ≥ 0") }
        if !(weightDecay >= 0 && weightDecay < 1) { throw bad("weightDecay must be in [0, 1)") }
        if !(warmupFraction >= 0 && warmupFraction <= 1) { throw bad("warmupFraction must be in [0, 1]") }
        if !(floorFraction >= 0 && floorFraction <= 1) { throw bad("floorFraction must be in [0, 1]") }
        for (name, p) in [("dropout", dropout), ("sparseDropout", sparseDropout), ("hiddenDropout", hiddenDropout)] where !(p >= 0 && p < 1) {
            throw bad("\(name) must be in [0, 1)")
        }
        if !(labelSmoothing >= 0 && labelSmoothing < 1) { throw bad("labelSmoothing must be in [0, 1)") }
        if threads < 1 { throw bad("threads must be ≥ 1") }
        if !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1) { throw bad("beta1 and beta2 must be in [0, 1)") }
        if !(adamEpsilon > 0) { throw bad("adamEpsilon must be > 0") }
        for (head, w) in headWeights where !(w >= 0 && w.isFinite) { throw bad("head weight of '\(head)' must be ≥ 0") }
        for (head, ws) in classWeights ?? [:] where ws.contains(where: { !($0 > 0 && $0.isFinite) }) {
            throw bad("class weights of '\(head)' must be > 0")
        }
    }
}

/// Why training could not run. Never a crash on bad input.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOptions(String)
    case invalidConfig(String)
    case emptyTrainingSet
    /// Example `index` of the named set (`"train"`, `"validation"`) is unusable.
    case invalidExample(set: String, index: Int, reason: String)
    /// The loss became NaN or infinite (learning rate too high?).
    case diverged(step: Int)

    public var description: String {
        switch self {
        case let .invalidOptions(why): return "invalid training options: \(why)"
        case let .invalidConfig(why): return "invalid classifier config: \(why)"
        case .emptyTrainingSet: return "the training set is empty"
        case let .invalidExample(set, index, reason): return "\(set) example \(index): \(reason)"
        case let .diverged(step): return "training diverged at step \(step) (loss is not finite); try a lower learning rate"
        }
    }
}

/// A training example checked against a config, in the form the engine uses.
public struct PreparedExample: Sendable {
    var tokenIDs: [Int32]
    var sparseIndices: [Int32]
    var sparseValues: [Float]
    /// Aligned with `config.heads`; -1 = no label.
    var labels: [Int32]

    /// Validates `example` against `config` (token ids, length, sparse indices, label names and ranges).
    public init(_ example: TrainingExample, config: ClassifierConfig, set: String = "train", index: Int = 0) throws {
        func bad(_ s: String) -> TrainingError { .invalidExample(set: set, index: index, reason: s) }
        let c = config.encoder
        if example.tokenIDs.count > c.maxLength {
            throw bad("\(example.tokenIDs.count) tokens; the model takes at most \(c.maxLength)")
        }
        for (p, id) in example.tokenIDs.enumerated() where id < 0 || Int(id) >= c.vocabSize {
            throw bad("token id \(id) at position \(p) is outside the vocabulary [0, \(c.vocabSize))")
        }
        tokenIDs = example.tokenIDs
        sparseIndices = []
        sparseValues = []
        if let branch = config.sparse, let v = example.sparse {
            do { try ClassifierInputError.validate(v, example: index, buckets: branch.buckets) } catch {
                throw bad("\(error)")
            }
            sparseIndices = v.indices
            sparseValues = v.values
        }
        var labels = [Int32](repeating: -1, count: config.heads.count)
        for (name, cls) in example.labels {
            guard let k = config.heads.firstIndex(where: { $0.name == name }) else {
                throw bad("label for unknown head '\(name)'")
            }
            if cls < 0 || cls >= config.heads[k].classes {
                throw bad("class \(cls) of head '\(name)' is outside [0, \(config.heads[k].classes))")
            }
            labels[k] = Int32(cls)
        }
        self.labels = labels
    }

    init(tokenIDs: [Int32], sparseIndices: [Int32], sparseValues: [Float], labels: [Int32]) {
        self.tokenIDs = tokenIDs
        self.sparseIndices = sparseIndices
        self.sparseValues = sparseValues
        self.labels = labels
    }
}
