import Dispatch
import Foundation
import Kernels

/// What the encoder produces for a batch.
public struct EncoderOutput: Sendable, Equatable {
    /// Sentence vectors, one per input sequence, each `dModel` floats.
    public var pooled: [[Float]]
    /// Head name → one row of logits per sequence.
    public var logits: [String: [[Float]]]
}

/// A problem with the token ids passed to ``Encoder/forward(tokenIDs:threads:)``.
public enum EncoderInputError: Error, CustomStringConvertible, Equatable {
    case sequenceTooLong(index: Int, length: Int, maxLength: Int)
    case tokenOutOfRange(sequence: Int, position: Int, id: Int32, vocabSize: Int)

    public var description: String {
        switch self {
        case let .sequenceTooLong(i, len, max): return "sequence \(i) has \(len) tokens; the model takes at most \(max)"
        case let .tokenOutOfRange(s, p, id, v): return "token id \(id) at sequence \(s), position \(p) is outside the vocabulary [0, \(v))"
        }
    }
}

/// The Concierge sentence encoder: token + learned position embeddings, a stack
/// of pre-norm Transformer layers, a final layer norm, mean pooling, and linear
/// output heads.
///
///     x₀ = E_tok[ids] + E_pos[0..<n]
///     xₗ₊½ = xₗ + Attn(LN₁(xₗ))                 (multi-head, key-padding masked)
///     xₗ₊₁ = xₗ₊½ + W_down · GELU_tanh(W_up · LN₂(xₗ₊½))
///     h = LN_final(x_layers);  pooled = mean_{t < n} h_t;  logits_k = W_k · pooled + b_k
///
/// **Pooling is the mean over the unmasked tokens**, not a `[CLS]` vector: our
/// messages are short (often 3–15 tokens), and averaging uses every token's
/// evidence, is robust to the exact token count, and does not rely on the
/// model learning to route the whole sentence into one position — a job a
/// small model trained from scratch on a few thousand examples does poorly.
/// Padded positions never enter the mean (nor, via the key-padding mask,
/// any valid token's attention), so a message gives the same vector alone or
/// inside a padded batch.
///
/// Thread-safety: `forward` may be called from several threads at once (each
/// call gets its own workspaces); mutating the weights while a forward runs is
/// not allowed.
public final class Encoder: @unchecked Sendable {
    public let config: EncoderConfig
    public private(set) var weights: EncoderWeights
    public var labels: [String: [String]]
    public var vocabHash: String

    private var packed: PackedWeights
    private let lock = NSLock()
    private var spareWorkspaces: [EncoderWorkspace] = []

    /// An encoder over existing weights.
    public init(weights: EncoderWeights, labels: [String: [String]]? = nil, vocabHash: String = "") {
        self.config = weights.config
        self.weights = weights
        self.labels = labels ?? Checkpoint.placeholderLabels(for: weights.config)
        self.vocabHash = vocabHash
        self.packed = PackedWeights(weights)
    }

    /// A randomly initialised encoder, deterministic in `seed` (see
    /// ``EncoderWeights/init(randomWithConfig:seed:)``).
    public convenience init(config: EncoderConfig, seed: UInt64) throws {
        try config.validate()
        self.init(weights: EncoderWeights(randomWithConfig: config, seed: seed))
    }

    /// Loads a checkpoint (see ``Checkpoint/load(from:expectedVocabHash:)`` for the checks).
    public convenience init(checkpoint url: URL, expectedVocabHash: String? = nil) throws {
        let c = try Checkpoint.load(from: url, expectedVocabHash: expectedVocabHash)
        self.init(checkpoint: c)
    }

    public convenience init(checkpoint: Checkpoint) {
        self.init(weights: checkpoint.weights, labels: checkpoint.labels, vocabHash: checkpoint.vocabHash)
    }

    public var checkpoint: Checkpoint { Checkpoint(weights: weights, labels: labels, vocabHash: vocabHash) }

    /// Re-packs the linear weights after they were changed in place (training).
    public func weightsDidChange() { packed = PackedWeights(weights) }

    // MARK: - Forward

    /// Encodes a batch of token-id sequences of any lengths (0 … maxLength).
    ///
    /// The batch is cut into chunks of about 96 padded tokens
    /// (sequences sorted longest first, so a chunk's sequences have similar
    /// lengths and each chunk is padded only to its own longest one). Up to
    /// `threads` threads — the caller and `threads − 1` pool threads — claim
    /// chunks one at a time until none is left, each running the whole
    /// encoder on a chunk in its own workspace: a thread that is slowed down or
    /// preempted simply claims fewer chunks, and the caller never waits for a
    /// helper that has not started (it only waits for chunks already claimed).
    /// A batch that makes one chunk (one sequence, `threads == 1`, or a
    /// small batch) runs on the calling thread with no hand-off. An empty
    /// sequence gets a zero pooled vector (so its logits are the head biases).
    public func forward(tokenIDs: [[Int32]], threads: Int = 2) throws -> EncoderOutput {
        try validate(tokenIDs)
        if tokenIDs.isEmpty { return EncoderOutput(pooled: [], logits: [:]) }
        let job = ForwardJob(ids: tokenIDs, config: config, threads: max(1, threads), rowsPerChunk: Self.rowsPerChunk)
        let helpers = min(max(1, threads), job.chunks.count) - 1
        for _ in 0..<helpers {
            DispatchQueue.global(qos: .userInitiated).async { [self] in work(on: job) }
        }
        work(on: job)
        job.waitUntilDone()
        return job.output()
    }

    /// Padded tokens (matrix rows) per chunk of a batched forward pass. 96
    /// keeps a chunk's activations (≈ 0.6 MB for `small`) in L2 between the
    /// stages of a layer, is one row block of the matmul (16 full 6-row tiles,
    /// no tail, for 3 × 32 or 6 × 16 tokens), and still reuses each weight
    /// panel slice for 96 rows. Measured at batch 64 × 32 on one thread: one
    /// 2048-row chunk 2030 sequences per CPU-second, 64–256-row chunks
    /// 2450–2660 (differences among those within the noise of this box).
    static let rowsPerChunk = 96

    /// Claims and runs chunks of `job` until none is left; then, while other
    /// threads' chunks are still running, backs up any that has been running
    /// for more than twice this thread's own time per chunk (its thread was
    /// probably preempted): whichever copy finishes first is kept, and the
    /// other is abandoned at its next stage boundary.
    private func work(on job: ForwardJob) {
        var ws: EncoderWorkspace?
        var busyNanos: UInt64 = 0, runs: UInt64 = 0
        func runChunk(_ c: Int) {
            let w = ws ?? takeWorkspace(batch: job.maxChunkCount, seqLen: job.maxSeqLen)
            ws = w
            let t0 = DispatchTime.now().uptimeNanoseconds
            let ids = job.order[job.chunks[c]].map { job.ids[$0] }
            if run(ids[...], w, stage: { _ in !job.isDone(c) }) {
                job.complete(chunk: c, from: w)
                busyNanos += DispatchTime.now().uptimeNanoseconds - t0
                runs += 1
            }
        }
        while let c = job.claim() { runChunk(c) }
        while let c = job.backup(grace: runs == 0 ? 2_000_000 : 2 * busyNanos / runs) { runChunk(c) }
        if let ws { returnWorkspaces([ws]) }
    }

    private func validate(_ ids: [[Int32]]) throws {
        for (s, seq) in ids.enumerated() {
            if seq.count > config.maxLength {
                throw EncoderInputError.sequenceTooLong(index: s, length: seq.count, maxLength: config.maxLength)
            }
            for (p, id) in seq.enumerated() where id < 0 || Int(id) >= config.vocabSize {
                throw EncoderInputError.tokenOutOfRange(sequence: s, position: p, id: id, vocabSize: config.vocabSize)
            }
        }
    }

    private func takeWorkspace(batch: Int, seqLen: Int) -> EncoderWorkspace {
        lock.lock()
        defer { lock.unlock() }
        if let i = spareWorkspaces.firstIndex(where: { $0.fits(batch: batch, seqLen: seqLen) }) {
            return spareWorkspaces.remove(at: i)
        }
        return EncoderWorkspace(config: config, batch: batch, seqLen: seqLen)
    }

    private func returnWorkspaces(_ list: [EncoderWorkspace]) {
        lock.lock()
        defer { lock.unlock() }
        spareWorkspaces.append(contentsOf: list)
        // Keep the largest few; drop the rest.
        if spareWorkspaces.count > 4 {
            spareWorkspaces.sort { $0.batchCapacity * $0.seqCapacity > $1.batchCapacity * $1.seqCapacity }
            spareWorkspaces.removeLast(spareWorkspaces.count - 4)
        }
    }

    /// The whole forward pass of one chunk, on the calling thread: the
    /// ``ForwardStages`` over padded rows (row `s · seq + t` is token t of
    /// sequence s; padded rows are zero and masked out of attention and
    /// pooling). `stage` is called after each stage; returning false abandons
    /// the pass (the result is then false and the workspace's outputs are garbage).
    @discardableResult
    private func run(_ ids: ArraySlice<[Int32]>, _ ws: EncoderWorkspace, stage: ForwardStages.StageHook? = nil) -> Bool {
        let c = config
        let b = ids.count, d = c.dModel
        let seq = max(1, ids.map(\.count).max() ?? 1)
        let rows = b * seq
        let hook = stage ?? { _ in true }
        ws.batch = b
        ws.seqLen = seq
        let x = ws.hidden.pointer
        x.update(repeating: 0, count: rows * d)
        for (s, sequence) in ids.enumerated() {
            ws.lengths[s] = Int32(sequence.count)
            ForwardStages.embed(sequence[...], tokenTable: weights.tokenEmbedding.pointer, positionTable: weights.positionEmbedding.pointer,
                                dim: d, into: x + s * seq * d)
        }
        if !hook("embedding") { return false }
        for l in 0..<c.layers {
            let lw = weights.layers[l], pw = packed.layers[l]
            let attended = ForwardStages.attentionBlock(
                x, rows: rows, config: c, layer: lw, packedQKV: pw.qkv.pointer, packedOut: pw.out.pointer,
                buffers: ws.attentionBuffers, into: x,
                attend: { qkv, attention in
                    multiHeadSelfAttention(qkv: qkv, batch: b, seqLen: seq, heads: c.heads, headDim: c.headDim, lengths: ws.lengths,
                                           output: attention, logSumExp: nil, scratch: ws.attentionScratch.pointer)
                }, stage: hook)
            if !attended { return false }
            if !ForwardStages.feedForwardBlock(x, rows: rows, config: c, layer: lw, packedUp: pw.up.pointer, packedDown: pw.down.pointer,
                                               buffers: ws.feedForwardBuffers, into: x, stage: hook) { return false }
        }
        ForwardStages.finalNorm(x, rows: rows, weights: weights, into: ws.finalNormed.pointer,
                                mean: ws.normMean.pointer, rstd: ws.normRstd.pointer)
        if !hook("layer norm") { return false }
        for s in 0..<b {
            ForwardStages.meanPool(ws.finalNormed.pointer + s * seq * d, count: Int(ws.lengths[s]), dim: d, into: ws.pooled.pointer + s * d)
        }
        for head in c.outputHeads {
            guard let hw = weights.heads[head.name], let hp = packed.heads[head.name], let out = ws.logits[head.name] else { continue }
            ForwardStages.headLogits(ws.pooled.pointer, rows: b, inner: d, classes: head.classes, head: hw, packed: hp.pointer,
                                     into: out.pointer)
        }
        return hook("pooling + heads")
    }

    /// Time spent per stage of a batch-1 forward pass of `length` random
    /// tokens on the calling thread, summed over layers and averaged over
    /// `iterations` (milliseconds). For benchmarks and profiling.
    public func stageProfile(length: Int, batch: Int = 1, iterations: Int, seed: UInt64 = 1) -> [(stage: String, milliseconds: Double)] {
        var rng = Xoshiro256(seed: seed)
        let ids = (0..<batch).map { _ in (0..<min(length, config.maxLength)).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) } }
        let ws = EncoderWorkspace(config: config, batch: batch, seqLen: max(1, length))
        var order: [String] = []
        var total: [String: UInt64] = [:]
        for i in 0..<(iterations + 10) {
            var last = DispatchTime.now().uptimeNanoseconds
            run(ids[...], ws) { name in
                let now = DispatchTime.now().uptimeNanoseconds
                if i >= 10 {
                    if total[name] == nil { order.append(name) }
                    total[name, default: 0] += now - last
                }
                last = now
                return true
            }
        }
        return order.map { ($0, Double(total[$0]!) / 1e6 / Double(max(iterations, 1))) }
    }
}

/// Linear weights in the panel layout of `Kernels.matmul`.
struct PackedWeights: @unchecked Sendable {
    struct Layer { let qkv, out, up, down: Tensor }
    let layers: [Layer]
    let heads: [String: Tensor]

    init(_ w: EncoderWeights) {
        func pack(_ t: Tensor) -> Tensor {
            let n = t.shape[0], k = t.shape[1]
            let p = Tensor(shape: [packedWeightCount(n: n, k: k)])
            packWeights(t.pointer, n: n, k: k, into: p.pointer)
            return p
        }
        layers = w.layers.map { Layer(qkv: pack($0.qkvWeight), out: pack($0.outWeight), up: pack($0.upWeight), down: pack($0.downWeight)) }
        heads = w.heads.mapValues { pack($0.weight) }
    }
}

/// One call of ``Encoder/forward(tokenIDs:threads:)``: the chunk plan, a
/// claim counter, and the outputs, written by whichever thread ran a chunk.
private final class ForwardJob: @unchecked Sendable {
    let ids: [[Int32]]
    let config: EncoderConfig
    /// Sequence indices, longest first (stable).
    let order: [Int]
    /// Ranges of `order`, each run as one padded batch.
    let chunks: [Range<Int>]
    let maxChunkCount: Int
    let maxSeqLen: Int
    private let pooled: UnsafeMutablePointer<Float>  // [n, D], original order
    private let logits: [UnsafeMutablePointer<Float>]  // per output head: [n, C]
    private let condition = NSCondition()
    private var claimed = 0, finished = 0
    private var done: [Bool]
    private var startedAt: [UInt64]  // uptime (ns) when each chunk was claimed
    private var backedUp: [Bool]

    init(ids: [[Int32]], config: EncoderConfig, threads: Int, rowsPerChunk: Int) {
        self.ids = ids
        self.config = config
        let lengths = ids.map { max($0.count, 1) }
        order = ids.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
        // With several threads, make at least `threads` chunks when the batch allows it.
        let total = lengths.reduce(0, +)
        let budget = max(1, min(rowsPerChunk, (total + threads - 1) / threads))
        var chunks: [Range<Int>] = []
        var i = 0
        while i < order.count {
            let count = max(1, budget / lengths[order[i]])  // the first is the chunk's longest
            chunks.append(i..<min(order.count, i + count))
            i += count
        }
        self.chunks = chunks
        maxChunkCount = chunks.map(\.count).max() ?? 1
        maxSeqLen = lengths[order[0]]
        pooled = .allocate(capacity: ids.count * config.dModel)
        logits = config.outputHeads.map { .allocate(capacity: ids.count * $0.classes) }
        done = Array(repeating: false, count: chunks.count)
        startedAt = Array(repeating: 0, count: chunks.count)
        backedUp = Array(repeating: false, count: chunks.count)
    }

    deinit {
        pooled.deallocate()
        logits.forEach { $0.deallocate() }
    }

    /// The next unclaimed chunk, if any.
    func claim() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard claimed < chunks.count else { return nil }
        startedAt[claimed] = DispatchTime.now().uptimeNanoseconds
        claimed += 1
        return claimed - 1
    }

    /// Once every chunk is claimed: waits until all are done (nil), or until
    /// one still running (and not backed up yet) has run for `grace`
    /// nanoseconds, and returns it to be run a second time.
    func backup(grace: UInt64) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while finished < chunks.count {
            var oldest: Int?
            for c in 0..<claimed where !done[c] && !backedUp[c] {
                if oldest.map({ startedAt[c] < startedAt[$0] }) ?? true { oldest = c }
            }
            guard let c = oldest else { condition.wait(); continue }
            let now = DispatchTime.now().uptimeNanoseconds, due = startedAt[c] &+ grace
            if now >= due {
                backedUp[c] = true
                return c
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
        }
        return nil
    }

    func isDone(_ chunk: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return done[chunk]
    }

    /// Stores the outputs of `chunk` just run in `ws`, unless the other copy
    /// of a backed-up chunk got there first.
    func complete(chunk: Int, from ws: EncoderWorkspace) {
        condition.lock()
        defer { condition.unlock() }
        if done[chunk] { return }
        let d = config.dModel
        for (s, idx) in order[chunks[chunk]].enumerated() {
            (pooled + idx * d).update(from: ws.pooled.pointer + s * d, count: d)
            for (h, head) in config.outputHeads.enumerated() {
                (logits[h] + idx * head.classes).update(from: ws.logits[head.name]!.pointer + s * head.classes, count: head.classes)
            }
        }
        done[chunk] = true
        finished += 1
        condition.broadcast()
    }

    func waitUntilDone() {
        condition.lock()
        while finished < chunks.count { condition.wait() }
        condition.unlock()
    }

    func output() -> EncoderOutput {
        let d = config.dModel
        let p = (0..<ids.count).map { Array(UnsafeBufferPointer(start: pooled + $0 * d, count: d)) }
        var l: [String: [[Float]]] = [:]
        for (h, head) in config.outputHeads.enumerated() {
            l[head.name] = (0..<ids.count).map { Array(UnsafeBufferPointer(start: logits[h] + $0 * head.classes, count: head.classes)) }
        }
        return EncoderOutput(pooled: p, logits: l)
    }
}
