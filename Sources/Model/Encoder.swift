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
    /// The batch is split into up to `threads` contiguous shards of roughly
    /// equal token count, each padded to its own longest sequence and run on
    /// its own thread; a single sequence (or `threads == 1`) runs on the
    /// calling thread with no hand-off. An empty sequence gets a zero pooled
    /// vector (so its logits are the head biases).
    public func forward(tokenIDs: [[Int32]], threads: Int = 2) throws -> EncoderOutput {
        try validate(tokenIDs)
        let shards = shardRanges(tokenIDs, count: max(1, min(threads, tokenIDs.count)))
        let workspaces = shards.map { r in
            takeWorkspace(batch: r.count, seqLen: max(1, tokenIDs[r].map(\.count).max() ?? 1))
        }
        if shards.count == 1 {
            run(tokenIDs[shards[0]], workspaces[0])
        } else {
            DispatchQueue.concurrentPerform(iterations: shards.count) { s in
                run(tokenIDs[shards[s]], workspaces[s])
            }
        }
        var pooled: [[Float]] = []
        pooled.reserveCapacity(tokenIDs.count)
        var logits: [String: [[Float]]] = [:]
        let d = config.dModel
        for (r, ws) in zip(shards, workspaces) {
            for s in 0..<r.count { pooled.append(Array(UnsafeBufferPointer(start: ws.pooled.pointer + s * d, count: d))) }
            for head in config.outputHeads {
                let t = ws.logits[head.name]!
                for s in 0..<r.count {
                    logits[head.name, default: []].append(
                        Array(UnsafeBufferPointer(start: t.pointer + s * head.classes, count: head.classes)))
                }
            }
        }
        returnWorkspaces(workspaces)
        return EncoderOutput(pooled: pooled, logits: logits)
    }

    /// Runs the forward pass for `tokenIDs` on the calling thread into a
    /// caller-owned workspace (training keeps its activations there).
    /// The workspace must fit the batch; ids are validated.
    public func forward(tokenIDs: ArraySlice<[Int32]>, workspace: EncoderWorkspace) throws {
        try validate(Array(tokenIDs))
        let seq = max(1, tokenIDs.map(\.count).max() ?? 1)
        precondition(workspace.config == config && workspace.fits(batch: tokenIDs.count, seqLen: seq),
                     "workspace too small for this batch")
        run(tokenIDs, workspace)
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

    /// Contiguous ranges with about equal token counts.
    private func shardRanges(_ ids: [[Int32]], count: Int) -> [Range<Int>] {
        if count <= 1 || ids.count <= 1 { return [0..<ids.count] }
        let total = ids.reduce(0) { $0 + max($1.count, 1) }
        var ranges: [Range<Int>] = []
        var start = 0, acc = 0
        for (i, seq) in ids.enumerated() {
            acc += max(seq.count, 1)
            let remainingShards = count - ranges.count - 1
            if remainingShards > 0, acc * count >= total * (ranges.count + 1), ids.count - (i + 1) >= remainingShards {
                ranges.append(start..<(i + 1))
                start = i + 1
            }
        }
        if start < ids.count { ranges.append(start..<ids.count) }
        return ranges
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

    /// The whole forward pass of one shard, on the calling thread.
    private func run(_ ids: ArraySlice<[Int32]>, _ ws: EncoderWorkspace, stage: ((String) -> Void)? = nil) {
        let c = config
        let b = ids.count
        let seq = max(1, ids.map(\.count).max() ?? 1)
        let d = c.dModel, f = c.ffnWidth
        let rows = b * seq
        let eps = EncoderConfig.layerNormEpsilon
        ws.batch = b
        ws.seqLen = seq

        // Embeddings: x[s, t] = E_tok[id] + E_pos[t]; padded rows are 0.
        let x0 = ws.hidden[0].pointer
        let tok = weights.tokenEmbedding.pointer, pos = weights.positionEmbedding.pointer
        for (s, seqIDs) in ids.enumerated() {
            ws.lengths[s] = Int32(seqIDs.count)
            for t in 0..<seq {
                let row = x0 + (s * seq + t) * d
                if t < seqIDs.count {
                    let e = tok + Int(seqIDs[seqIDs.startIndex + t]) * d, p = pos + t * d
                    for j in 0..<d { row[j] = e[j] + p[j] }
                } else {
                    row.update(repeating: 0, count: d)
                }
            }
        }

        stage?("embedding")
        for l in 0..<c.layers {
            let lw = weights.layers[l], pw = packed.layers[l]
            let a = ws.layerActivations[ws.retainsActivations ? l : 0]
            let xIn = ws.hidden[ws.retainsActivations ? l : 0].pointer
            let xMid = ws.retainsActivations ? ws.afterAttention[l].pointer : xIn
            let xOut = ws.retainsActivations ? ws.hidden[l + 1].pointer : xIn

            layerNorm(xIn, rows: rows, dim: d, gamma: lw.norm1Weight.pointer, beta: lw.norm1Bias.pointer,
                      epsilon: eps, into: a.norm1.pointer, mean: a.norm1Mean.pointer, rstd: a.norm1Rstd.pointer)
            stage?("layer norm")
            matmul(a.norm1.pointer, rows: rows, inner: d, packedWeights: pw.qkv.pointer, columns: 3 * d,
                   bias: lw.qkvBias.pointer, residual: nil, into: a.qkv.pointer)
            stage?("matmul qkv")
            multiHeadSelfAttention(qkv: a.qkv.pointer, batch: b, seqLen: seq, heads: c.heads, headDim: c.headDim,
                                   lengths: ws.lengths, output: a.attention.pointer,
                                   logSumExp: ws.retainsActivations ? a.logSumExp.pointer : nil,
                                   scratch: ws.attentionScratch.pointer)
            stage?("attention")
            matmul(a.attention.pointer, rows: rows, inner: d, packedWeights: pw.out.pointer, columns: d,
                   bias: lw.outBias.pointer, residual: xIn, into: xMid)
            stage?("matmul out")
            layerNorm(xMid, rows: rows, dim: d, gamma: lw.norm2Weight.pointer, beta: lw.norm2Bias.pointer,
                      epsilon: eps, into: a.norm2.pointer, mean: a.norm2Mean.pointer, rstd: a.norm2Rstd.pointer)
            stage?("layer norm")
            // GELU fused into the up-projection's epilogue; the pre-activation is
            // only written when a training workspace keeps it.
            matmulGELU(a.norm2.pointer, rows: rows, inner: d, packedWeights: pw.up.pointer, columns: f,
                       bias: lw.upBias.pointer, into: a.ffnAct.pointer,
                       preActivation: ws.retainsActivations ? a.ffnPre.pointer : nil)
            stage?("matmul up + gelu")
            matmul(a.ffnAct.pointer, rows: rows, inner: f, packedWeights: pw.down.pointer, columns: d,
                   bias: lw.downBias.pointer, residual: xMid, into: xOut)
            stage?("matmul ffn down")
        }

        let xLast = ws.hidden[ws.retainsActivations ? c.layers : 0].pointer
        layerNorm(xLast, rows: rows, dim: d, gamma: weights.finalNormWeight.pointer, beta: weights.finalNormBias.pointer,
                  epsilon: eps, into: ws.finalNormed.pointer, mean: ws.finalMean.pointer, rstd: ws.finalRstd.pointer)
        stage?("layer norm")

        // Mean over the valid tokens of each sequence.
        let pooled = ws.pooled.pointer
        for s in 0..<b {
            let out = pooled + s * d
            out.update(repeating: 0, count: d)
            let n = Int(ws.lengths[s])
            if n == 0 { continue }
            for t in 0..<n {
                let h = ws.finalNormed.pointer + (s * seq + t) * d
                for j in 0..<d { out[j] += h[j] }
            }
            let inv = 1 / Float(n)
            for j in 0..<d { out[j] *= inv }
        }

        for head in c.outputHeads {
            let hw = weights.heads[head.name]!, hp = packed.heads[head.name]!
            matmul(pooled, rows: b, inner: d, packedWeights: hp.pointer, columns: head.classes,
                   bias: hw.bias.pointer, residual: nil, into: ws.logits[head.name]!.pointer)
        }
        stage?("pooling + heads")
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
