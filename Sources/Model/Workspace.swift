/// Activations of one encoder layer for one batch (R = batch · seqLen rows,
/// D = d_model, F = ffn_width, H = heads, B = batch, L = seqLen). Buffers are
/// sized for the workspace's capacity; the first R rows are valid.
public struct LayerActivations: @unchecked Sendable {
    public let norm1: Tensor  // [R, D]   LN1(x)
    public let norm1Mean: Tensor  // [R]
    public let norm1Rstd: Tensor  // [R]
    public let qkv: Tensor  // [R, 3D]    fused projection (Q | K | V)
    public let attention: Tensor  // [R, D]   attention output, heads concatenated (before `out`)
    public let logSumExp: Tensor  // [B, H, L]   per-query log Σ exp(score), for the backward pass (retained workspaces only)
    public let norm2: Tensor  // [R, D]   LN2(x + attn)
    public let norm2Mean: Tensor  // [R]
    public let norm2Rstd: Tensor  // [R]
    public let ffnPre: Tensor  // [R, F]  up(LN2(..)), the GELU input (written only when activations are retained)
    public let ffnAct: Tensor  // [R, F]  GELU(ffnPre); the same tensor as ffnPre when activations are not retained

    init(rows: Int, batch: Int, seq: Int, config c: EncoderConfig, separateActivation: Bool) {
        norm1 = Tensor(shape: [rows, c.dModel])
        norm1Mean = Tensor(shape: [rows]); norm1Rstd = Tensor(shape: [rows])
        qkv = Tensor(shape: [rows, 3 * c.dModel])
        attention = Tensor(shape: [rows, c.dModel])
        logSumExp = Tensor(shape: [batch, c.heads, seq])
        norm2 = Tensor(shape: [rows, c.dModel])
        norm2Mean = Tensor(shape: [rows]); norm2Rstd = Tensor(shape: [rows])
        ffnPre = Tensor(shape: [rows, c.ffnWidth])
        ffnAct = separateActivation ? Tensor(shape: [rows, c.ffnWidth]) : ffnPre
    }
}

/// Every buffer a forward pass writes, allocated once for a batch shape and
/// reused across calls (and across layers when activations are not retained).
///
/// With `retainsActivations` (training), each layer keeps its own
/// ``LayerActivations`` and the residual stream is kept between sub-blocks:
/// `hidden[l]` is the input of layer l, `afterAttention[l]` = `hidden[l]` +
/// attention block, `hidden[l+1]` = `afterAttention[l]` + FFN block. Without
/// it (inference), one set of buffers is reused and the residual stream is
/// updated in place in `hidden[0]`.
public final class EncoderWorkspace: @unchecked Sendable {
    public let config: EncoderConfig
    public let batchCapacity: Int
    public let seqCapacity: Int
    public let retainsActivations: Bool

    /// Shape of the last forward pass.
    public internal(set) var batch = 0
    public internal(set) var seqLen = 0

    public let lengths: UnsafeMutablePointer<Int32>  // [B]  valid tokens per sequence
    public let hidden: [Tensor]  // layers + 1 (retained) or 1 tensors, each [R, D]
    public let afterAttention: [Tensor]  // layers (retained) or 0 tensors, each [R, D]
    public let layerActivations: [LayerActivations]  // layers (retained) or 1
    public let finalNormed: Tensor  // [R, D]  final_norm(hidden[last])
    public let finalMean: Tensor  // [R]
    public let finalRstd: Tensor  // [R]
    public let pooled: Tensor  // [B, D]  mean over valid tokens of finalNormed
    public let logits: [String: Tensor]  // head → [B, C]
    let attentionScratch: Tensor

    /// - Parameters:
    ///   - batch, seqLen: the largest batch shape this workspace will hold
    ///     (`seqLen` ≤ `config.maxLength`); any batch′ ≤ batch, seqLen′ ≤ seqLen fits.
    public init(config: EncoderConfig, batch: Int, seqLen: Int, retainsActivations: Bool = false) {
        self.config = config
        batchCapacity = max(batch, 1)
        seqCapacity = max(min(seqLen, config.maxLength), 1)
        self.retainsActivations = retainsActivations
        let rows = batchCapacity * seqCapacity
        let d = config.dModel
        lengths = .allocate(capacity: batchCapacity)
        lengths.initialize(repeating: 0, count: batchCapacity)
        let layerCount = retainsActivations ? config.layers : 1
        let (bCap, sCap) = (batchCapacity, seqCapacity)
        hidden = (0..<(retainsActivations ? config.layers + 1 : 1)).map { _ in Tensor(shape: [rows, d]) }
        afterAttention = retainsActivations ? (0..<config.layers).map { _ in Tensor(shape: [rows, d]) } : []
        layerActivations = (0..<layerCount).map { _ in
            LayerActivations(rows: rows, batch: bCap, seq: sCap, config: config,
                             separateActivation: retainsActivations)
        }
        finalNormed = Tensor(shape: [rows, d])
        finalMean = Tensor(shape: [rows]); finalRstd = Tensor(shape: [rows])
        pooled = Tensor(shape: [batchCapacity, d])
        logits = Dictionary(uniqueKeysWithValues: config.outputHeads.map { ($0.name, Tensor(shape: [bCap, $0.classes])) })
        attentionScratch = Tensor(shape: [attentionScratchCountFor(seqCapacity, config.headDim)])
    }

    deinit { lengths.deallocate() }

    /// Whether a batch of `batch` sequences padded to `seqLen` fits.
    public func fits(batch: Int, seqLen: Int) -> Bool {
        batch <= batchCapacity && seqLen <= seqCapacity
    }
}

import Kernels

@inline(__always) func attentionScratchCountFor(_ seqLen: Int, _ headDim: Int) -> Int {
    attentionScratchCount(seqLen: seqLen, headDim: headDim)
}
