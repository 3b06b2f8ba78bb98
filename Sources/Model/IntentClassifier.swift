import Foundation
import Kernels

/// What an ``IntentClassifier`` produces for a batch.
public struct ClassifierOutput: Sendable, Equatable {
    /// Mean-pooled encoder vectors, `dModel` floats each.
    public var pooled: [[Float]]
    /// Sentence vectors `z = concat(pooled, sparse branch)`, `featureWidth` floats each
    /// (equal to `pooled` without a sparse branch). For retrieval experiments.
    public var features: [[Float]]
    /// Head name → one row of logits per example.
    public var logits: [String: [[Float]]]
    /// Head name → one row of probabilities (softmax of the logits) per example.
    public var probabilities: [String: [[Float]]]
}

/// A problem with the sparse features passed to an ``IntentClassifier``.
public enum ClassifierInputError: Error, CustomStringConvertible, Equatable {
    /// `sparse` has a different number of entries than `tokenIDs`.
    case sparseCountMismatch(examples: Int, sparseVectors: Int)
    /// `indices` and `values` of one example differ in length.
    case sparseLengthMismatch(example: Int, indices: Int, values: Int)
    case sparseIndexOutOfRange(example: Int, position: Int, index: Int32, buckets: Int)
    case nonFiniteSparseValue(example: Int, position: Int)

    public var description: String {
        switch self {
        case let .sparseCountMismatch(n, s): return "\(s) sparse vectors for \(n) examples (need one per example)"
        case let .sparseLengthMismatch(e, i, v): return "sparse vector \(e) has \(i) indices but \(v) values"
        case let .sparseIndexOutOfRange(e, p, idx, b):
            return "sparse index \(idx) at example \(e), position \(p) is outside the bucket range [0, \(b))"
        case let .nonFiniteSparseValue(e, p): return "sparse value at example \(e), position \(p) is NaN or infinite"
        }
    }

    /// Validates `sparse` against `count` examples and `config` (no sparse
    /// branch: any sparse input is ignored, and not validated).
    public static func validate(_ sparse: [SparseVector]?, count: Int, config: ClassifierConfig) throws {
        guard let sparse, let branch = config.sparse else { return }
        if sparse.count != count { throw ClassifierInputError.sparseCountMismatch(examples: count, sparseVectors: sparse.count) }
        for (e, v) in sparse.enumerated() {
            try validate(v, example: e, buckets: branch.buckets)
        }
    }

    /// Validates one sparse vector against `buckets`.
    public static func validate(_ v: SparseVector, example e: Int, buckets: Int) throws {
        if v.indices.count != v.values.count {
            throw ClassifierInputError.sparseLengthMismatch(example: e, indices: v.indices.count, values: v.values.count)
        }
        for (p, idx) in v.indices.enumerated() where idx < 0 || Int(idx) >= buckets {
            throw ClassifierInputError.sparseIndexOutOfRange(example: e, position: p, index: idx, buckets: buckets)
        }
        for (p, x) in v.values.enumerated() where !x.isFinite {
            throw ClassifierInputError.nonFiniteSparseValue(example: e, position: p)
        }
    }
}

/// The Concierge intent classifier: the encoder body (embeddings → pre-norm
/// layers → final norm → mean pooling over unmasked tokens), an optional sparse
/// embedding-bag branch over hashed features, an optional GELU hidden layer,
/// and several named softmax heads (multi-task: e.g. "intent", "priority").
///
///     pooled = Encoder body(tokenIDs)                       [D]
///     sparse = act(LN(Σᵢ vᵢ · E_sparse[idxᵢ]))             [Ds]   (sparse branch)
///     z      = concat(pooled, sparse)                       [D + Ds]
///     h      = GELU(W_hidden · z + b_hidden)                (or h = z without a hidden layer)
///     p_head = softmax(W_head · h + b_head)
///
/// The encoder body runs on ``Encoder`` (batched over `threads`, batch 1 on the
/// calling thread); the small tail (bag, hidden layer, heads) runs on the
/// calling thread. Dropout is a training-time thing: inference never drops.
///
/// Thread-safety: `forward`/`predict` may be called concurrently; changing the
/// weights (training) while a prediction runs is not allowed. After changing
/// weight values in place call ``weightsDidChange()``.
public final class IntentClassifier: @unchecked Sendable {
    public let config: ClassifierConfig
    public let weights: ClassifierWeights
    /// Head name → class labels.
    public var labels: [String: [String]]
    public var vocabHash: String
    /// Free-form metadata stored in the checkpoint.
    public var extra: [String: String]

    /// The encoder body (no heads of its own).
    public let encoder: Encoder
    private var packedHidden: Tensor?
    private var packedHeads: [String: Tensor] = [:]
    private let tails: ClassifierTailPool

    /// A classifier over existing weights (shared, not copied).
    public init(weights: ClassifierWeights, labels: [String: [String]]? = nil, vocabHash: String = "", extra: [String: String] = [:]) {
        self.config = weights.config
        self.weights = weights
        self.labels = labels ?? ClassifierCheckpoint.placeholderLabels(for: weights.config)
        self.vocabHash = vocabHash
        self.extra = extra
        self.encoder = Encoder(weights: weights.encoder, vocabHash: vocabHash)
        self.tails = ClassifierTailPool(config: weights.config)
        repackTail()
    }

    /// A randomly initialised classifier, deterministic in `seed`.
    public convenience init(config: ClassifierConfig, seed: UInt64) throws {
        try config.validate()
        self.init(weights: ClassifierWeights(randomWithConfig: config, seed: seed))
    }

    /// Loads a classifier checkpoint (see ``ClassifierCheckpoint/load(from:expectedVocabHash:)``).
    public convenience init(checkpoint url: URL, expectedVocabHash: String? = nil) throws {
        self.init(checkpoint: try ClassifierCheckpoint.load(from: url, expectedVocabHash: expectedVocabHash))
    }

    /// A classifier over a loaded checkpoint (tensors shared).
    public convenience init(checkpoint c: ClassifierCheckpoint) {
        self.init(weights: c.weights, labels: c.labels, vocabHash: c.vocabHash, extra: c.extra)
    }

    /// The checkpoint of the current weights (tensors shared, not copied).
    public var checkpoint: ClassifierCheckpoint {
        ClassifierCheckpoint(weights: weights, labels: labels, vocabHash: vocabHash, extra: extra)
    }

    /// Re-packs every linear weight after values were changed in place (training).
    public func weightsDidChange() {
        encoder.weightsDidChange()
        repackTail()
    }

    private func repackTail() {
        func pack(_ t: Tensor) -> Tensor {
            let n = t.shape[0], k = t.shape[1]
            let p = Tensor(shape: [packedWeightCount(n: n, k: k)])
            packWeights(t.pointer, n: n, k: k, into: p.pointer)
            return p
        }
        packedHidden = weights.hiddenWeight.map(pack)
        packedHeads = weights.heads.mapValues { pack($0.weight) }
    }

    // MARK: - Inference

    /// Probabilities per head (softmax of the logits), one row per example.
    ///
    /// - Parameters:
    ///   - tokenIDs: one token-id sequence per example (0 … maxLength ids each).
    ///   - sparse: one ``SparseVector`` per example, or `nil` (= no sparse
    ///     features). Ignored when the config has no sparse branch.
    ///   - threads: encoder threads (batch 1 always runs on the calling thread).
    /// - Throws: ``EncoderInputError`` or ``ClassifierInputError`` for bad input.
    public func predict(tokenIDs: [[Int32]], sparse: [SparseVector]? = nil, threads: Int = 2) throws -> [String: [[Float]]] {
        try forward(tokenIDs: tokenIDs, sparse: sparse, threads: threads).probabilities
    }

    /// Sentence vectors `z = concat(pooled, sparse branch)` (for FAQ retrieval experiments).
    public func sentenceVectors(tokenIDs: [[Int32]], sparse: [SparseVector]? = nil, threads: Int = 2) throws -> [[Float]] {
        try forward(tokenIDs: tokenIDs, sparse: sparse, threads: threads).features
    }

    /// The full forward pass: pooled vectors, sentence vectors, logits and probabilities.
    public func forward(tokenIDs: [[Int32]], sparse: [SparseVector]? = nil, threads: Int = 2) throws -> ClassifierOutput {
        try ClassifierInputError.validate(sparse, count: tokenIDs.count, config: config)
        let n = tokenIDs.count
        if n == 0 {
            let empty = Dictionary(uniqueKeysWithValues: config.heads.map { ($0.name, [[Float]]()) })
            return ClassifierOutput(pooled: [], features: [], logits: empty, probabilities: empty)
        }
        let pooled = try encoder.forward(tokenIDs: tokenIDs, threads: threads).pooled
        let tail = tails.take(rows: n)
        defer { tails.give(tail) }
        return runTail(pooled: pooled, sparse: sparse, tail)
    }

    /// z = [pooled | n-gram branch] → hidden layer → heads → softmax, in
    /// `tail`'s buffers (the ``ForwardStages`` training runs too).
    private func runTail(pooled: [[Float]], sparse: [SparseVector]?, _ tail: ClassifierTailWorkspace) -> ClassifierOutput {
        let n = pooled.count, d = config.pooledWidth, zw = config.featureWidth
        let z = tail.z.pointer
        for (i, p) in pooled.enumerated() {
            p.withUnsafeBufferPointer { (z + i * zw).update(from: $0.baseAddress!, count: d) }
        }
        if let branch = config.sparse, let table = weights.sparseEmbedding {
            for i in 0..<n {
                ForwardStages.ngramBag(indices: sparse?[i].indices ?? [], values: sparse?[i].values ?? [], table: table.pointer,
                                       width: branch.width, into: tail.bags.pointer + i * branch.width)
            }
            ForwardStages.ngramBranch(bags: tail.bags.pointer, rows: n, config: config, weights: weights,
                                      normed: tail.normed.pointer, mean: nil, rstd: nil, into: z)
        }
        let features = (0..<n).map { Array(UnsafeBufferPointer(start: z + $0 * zw, count: zw)) }
        var headInput = UnsafePointer(z)
        if let hb = weights.hiddenBias, let hp = packedHidden {
            ForwardStages.hiddenLayer(z, rows: n, config: config, bias: hb.pointer, packed: hp.pointer,
                                      into: tail.hidden.pointer, preActivation: nil)
            headInput = UnsafePointer(tail.hidden.pointer)
        }
        var logits: [String: [[Float]]] = [:], probabilities: [String: [[Float]]] = [:]
        for head in config.heads {
            guard let hw = weights.heads[head.name], let hp = packedHeads[head.name], let out = tail.logits[head.name] else { continue }
            let c = head.classes
            ForwardStages.headLogits(headInput, rows: n, inner: config.headInputWidth, classes: c, head: hw, packed: hp.pointer,
                                     into: out.pointer)
            logits[head.name] = (0..<n).map { Array(UnsafeBufferPointer(start: out.pointer + $0 * c, count: c)) }
            softmaxRows(out.pointer, rows: n, cols: c, into: out.pointer)
            probabilities[head.name] = (0..<n).map { Array(UnsafeBufferPointer(start: out.pointer + $0 * c, count: c)) }
        }
        return ClassifierOutput(pooled: pooled, features: features, logits: logits, probabilities: probabilities)
    }
}

/// The classifier tail's buffers for up to `rows` messages (B = rows,
/// Z = feature width, Ds = n-gram branch width, Hd = hidden width,
/// C = a head's classes), allocated once and reused.
final class ClassifierTailWorkspace: @unchecked Sendable {
    let rows: Int
    let z: Tensor  // [B, Z]    [pooled | n-gram branch]
    let bags: Tensor  // [B, Ds]   Σ value · embedding of each message's n-grams
    let normed: Tensor  // [B, Ds]   the bags after the branch's layer norm
    let hidden: Tensor  // [B, Hd]   GELU(hidden layer)
    let logits: [String: Tensor]  // head → [B, C]  (probabilities after the softmax)

    init(config: ClassifierConfig, rows: Int) {
        self.rows = rows
        let ds = max(config.sparseWidth, 1)
        z = Tensor(shape: [rows, config.featureWidth])
        bags = Tensor(shape: [rows, ds])
        normed = Tensor(shape: [rows, ds])
        hidden = Tensor(shape: [rows, max(config.hiddenWidth, 1)])
        logits = Dictionary(uniqueKeysWithValues: config.heads.map { ($0.name, Tensor(shape: [rows, $0.classes])) })
    }
}

/// A small pool of tail workspaces, so concurrent calls each get their own
/// and a steady stream of requests allocates nothing.
final class ClassifierTailPool: @unchecked Sendable {
    private let config: ClassifierConfig
    private let lock = NSLock()
    private var spare: [ClassifierTailWorkspace] = []
    /// Workspaces kept between calls.
    static let capacity = 4

    init(config: ClassifierConfig) { self.config = config }

    /// A workspace for at least `rows` messages (one from the pool if it fits).
    func take(rows: Int) -> ClassifierTailWorkspace {
        lock.lock()
        defer { lock.unlock() }
        if let i = spare.firstIndex(where: { $0.rows >= rows }) { return spare.remove(at: i) }
        return ClassifierTailWorkspace(config: config, rows: max(rows, 1))
    }

    /// Returns a workspace to the pool (the largest few are kept).
    func give(_ workspace: ClassifierTailWorkspace) {
        lock.lock()
        defer { lock.unlock() }
        spare.append(workspace)
        if spare.count > Self.capacity {
            spare.sort { $0.rows > $1.rows }
            spare.removeLast(spare.count - Self.capacity)
        }
    }
}
