import Kernels

/// Every buffer an inference forward pass writes, allocated once for a batch
/// shape and reused across calls and across layers (the residual stream is
/// updated in place in `hidden`). Training keeps its own activations per
/// layer (`ShardWorker` in the Training module) and calls the same
/// ``ForwardStages``.
///
/// Shapes: R = batch · seqLen rows (padded), D = d_model, F = ffn_width,
/// B = batch, C = a head's classes. Buffers are sized for the workspace's
/// capacity; the first R rows are valid after a pass.
public final class EncoderWorkspace: @unchecked Sendable {
    public let config: EncoderConfig
    public let batchCapacity: Int
    public let seqCapacity: Int

    /// Shape of the last forward pass.
    public internal(set) var batch = 0
    public internal(set) var seqLen = 0

    public let lengths: UnsafeMutablePointer<Int32>  // [B]     valid tokens per sequence
    public let hidden: Tensor  // [R, D]   the residual stream, updated in place layer by layer
    public let normed: Tensor  // [R, D]   LN₁ or LN₂ of the residual stream (the block being run)
    public let normMean: Tensor  // [R]
    public let normRstd: Tensor  // [R]
    public let qkv: Tensor  // [R, 3D]   fused projection (Q | K | V)
    public let attention: Tensor  // [R, D]   attention output, heads concatenated (before `out`)
    public let ffnActivation: Tensor  // [R, F]   GELU(up(LN₂(x)))
    public let finalNormed: Tensor  // [R, D]   final_norm(hidden)
    public let pooled: Tensor  // [B, D]   mean over valid tokens of finalNormed
    public let logits: [String: Tensor]  // head → [B, C]
    let attentionScratch: Tensor

    /// - Parameters:
    ///   - batch, seqLen: the largest batch shape this workspace will hold
    ///     (`seqLen` ≤ `config.maxLength`); any batch′ ≤ batch, seqLen′ ≤ seqLen fits.
    public init(config: EncoderConfig, batch: Int, seqLen: Int) {
        self.config = config
        batchCapacity = max(batch, 1)
        seqCapacity = max(min(seqLen, config.maxLength), 1)
        let rows = batchCapacity * seqCapacity
        let d = config.dModel, bCap = batchCapacity
        lengths = .allocate(capacity: batchCapacity)
        lengths.initialize(repeating: 0, count: batchCapacity)
        hidden = Tensor(shape: [rows, d])
        normed = Tensor(shape: [rows, d])
        normMean = Tensor(shape: [rows])
        normRstd = Tensor(shape: [rows])
        qkv = Tensor(shape: [rows, 3 * d])
        attention = Tensor(shape: [rows, d])
        ffnActivation = Tensor(shape: [rows, config.ffnWidth])
        finalNormed = Tensor(shape: [rows, d])
        pooled = Tensor(shape: [batchCapacity, d])
        logits = Dictionary(uniqueKeysWithValues: config.outputHeads.map { ($0.name, Tensor(shape: [bCap, $0.classes])) })
        attentionScratch = Tensor(shape: [attentionScratchCount(seqLen: seqCapacity, headDim: config.headDim)])
    }

    deinit { lengths.deallocate() }

    /// Whether a batch of `batch` sequences padded to `seqLen` fits.
    public func fits(batch: Int, seqLen: Int) -> Bool {
        batch <= batchCapacity && seqLen <= seqCapacity
    }

    /// The attention block's buffers.
    var attentionBuffers: AttentionBlockBuffers {
        AttentionBlockBuffers(normed: normed.pointer, mean: normMean.pointer, rstd: normRstd.pointer,
                              qkv: qkv.pointer, attention: attention.pointer)
    }

    /// The feed-forward block's buffers (the pre-activation is not kept).
    var feedForwardBuffers: FeedForwardBlockBuffers {
        FeedForwardBlockBuffers(normed: normed.pointer, mean: normMean.pointer, rstd: normRstd.pointer,
                                preActivation: nil, activation: ffnActivation.pointer)
    }
}
