import Kernels

// The stages of the classifier's forward pass, defined once. Inference
// (`Encoder`, `IntentClassifier`, on padded chunks) and training
// (`ShardWorker`, on ragged shards, with dropout and saved activations) call
// the same functions, so the two cannot drift apart: they differ only in the
// buffers they pass, the attention kernel, and whether a dropout mask is given.
//
// Shapes: R = rows (tokens) of the batch, D = d_model, F = ffn_width,
// B = sequences, Ds = the n-gram branch width, Z = D + Ds, C = a head's classes.

/// Where one attention block writes (each R rows; the first R rows are used).
public struct AttentionBlockBuffers {
    public var normed: UnsafeMutablePointer<Float>  // [R, D]   LN₁(x)
    public var mean: UnsafeMutablePointer<Float>  // [R]      μ of each row of x
    public var rstd: UnsafeMutablePointer<Float>  // [R]      1/σ of each row of x
    public var qkv: UnsafeMutablePointer<Float>  // [R, 3D]  fused projection (Q | K | V)
    public var attention: UnsafeMutablePointer<Float>  // [R, D]   heads concatenated, before `out`

    public init(normed: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                qkv: UnsafeMutablePointer<Float>, attention: UnsafeMutablePointer<Float>) {
        self.normed = normed
        self.mean = mean
        self.rstd = rstd
        self.qkv = qkv
        self.attention = attention
    }
}

/// Where one feed-forward block writes.
public struct FeedForwardBlockBuffers {
    public var normed: UnsafeMutablePointer<Float>  // [R, D]   LN₂(x)
    public var mean: UnsafeMutablePointer<Float>  // [R]
    public var rstd: UnsafeMutablePointer<Float>  // [R]
    public var preActivation: UnsafeMutablePointer<Float>?  // [R, F]   up(LN₂(x)); nil = not kept (inference)
    public var activation: UnsafeMutablePointer<Float>  // [R, F]   GELU(up(LN₂(x)))

    public init(normed: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                preActivation: UnsafeMutablePointer<Float>?, activation: UnsafeMutablePointer<Float>) {
        self.normed = normed
        self.mean = mean
        self.rstd = rstd
        self.preActivation = preActivation
        self.activation = activation
    }
}

/// Dropout on a residual block's output: `out = x + mask ∘ block(x)`, with
/// the unmasked block output written to `scratch` first ([R, D] each).
public struct ResidualDropout {
    public var mask: UnsafePointer<Float>
    public var scratch: UnsafeMutablePointer<Float>

    public init(mask: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        self.mask = mask
        self.scratch = scratch
    }
}

/// The forward stages. Each is a plain function over caller-owned buffers:
/// nothing here allocates.
public enum ForwardStages {
    /// Called after each sub-stage with its name; returning false abandons
    /// the pass (the stage then returns false and its outputs are garbage).
    public typealias StageHook = (String) -> Bool

    /// Token plus position embedding of one sequence:
    /// `rows[t] = E_tok[ids[t]] + E_pos[t]` for `t < ids.count` (ids checked by the caller).
    public static func embed(_ ids: ArraySlice<Int32>, tokenTable: UnsafePointer<Float>, positionTable: UnsafePointer<Float>,
                             dim d: Int, into rows: UnsafeMutablePointer<Float>) {
        for (t, id) in ids.enumerated() {
            let row = rows + t * d, e = tokenTable + Int(id) * d, p = positionTable + t * d
            for j in 0..<d { row[j] = e[j] + p[j] }
        }
    }

    /// The pre-norm attention block of one layer,
    /// `out = x + W_out · attend(W_qkv · LN₁(x) + b_qkv) + b_out`
    /// (the added term multiplied by `dropout.mask` when given).
    /// `out` may be `x` when there is no dropout (the residual is added in
    /// the matmul's epilogue).
    ///
    /// - Parameters:
    ///   - packedQKV, packedOut: `W_qkv`, `W_out` packed for `Kernels.matmul`.
    ///   - attend: multi-head self-attention from the fused QKV rows into the
    ///     attention buffer (padded with a key mask, or ragged).
    @discardableResult
    public static func attentionBlock(
        _ x: UnsafePointer<Float>, rows: Int, config c: EncoderConfig, layer w: LayerWeights,
        packedQKV: UnsafePointer<Float>, packedOut: UnsafePointer<Float>, buffers a: AttentionBlockBuffers,
        dropout: ResidualDropout? = nil, into out: UnsafeMutablePointer<Float>,
        attend: (_ qkv: UnsafePointer<Float>, _ attention: UnsafeMutablePointer<Float>) -> Void, stage: StageHook
    ) -> Bool {
        let d = c.dModel
        layerNorm(x, rows: rows, dim: d, gamma: w.norm1Weight.pointer, beta: w.norm1Bias.pointer,
                  epsilon: EncoderConfig.layerNormEpsilon, into: a.normed, mean: a.mean, rstd: a.rstd)
        if !stage("layer norm") { return false }
        matmul(a.normed, rows: rows, inner: d, packedWeights: packedQKV, columns: 3 * d,
               bias: w.qkvBias.pointer, residual: nil, into: a.qkv)
        if !stage("qkv") { return false }
        attend(a.qkv, a.attention)
        if !stage("attention") { return false }
        residualLinear(a.attention, rows: rows, inner: d, packed: packedOut, columns: d, bias: w.outBias.pointer,
                       residual: x, dropout: dropout, into: out)
        return stage("out")
    }

    /// The pre-norm feed-forward block of one layer,
    /// `out = x + W_down · GELU(W_up · LN₂(x) + b_up) + b_down`
    /// (GELU fused into the up-projection; the added term multiplied by
    /// `dropout.mask` when given). `out` may be `x` when there is no dropout.
    @discardableResult
    public static func feedForwardBlock(
        _ x: UnsafePointer<Float>, rows: Int, config c: EncoderConfig, layer w: LayerWeights,
        packedUp: UnsafePointer<Float>, packedDown: UnsafePointer<Float>, buffers a: FeedForwardBlockBuffers,
        dropout: ResidualDropout? = nil, into out: UnsafeMutablePointer<Float>, stage: StageHook
    ) -> Bool {
        let d = c.dModel, f = c.ffnWidth
        layerNorm(x, rows: rows, dim: d, gamma: w.norm2Weight.pointer, beta: w.norm2Bias.pointer,
                  epsilon: EncoderConfig.layerNormEpsilon, into: a.normed, mean: a.mean, rstd: a.rstd)
        if !stage("layer norm") { return false }
        matmulGELU(a.normed, rows: rows, inner: d, packedWeights: packedUp, columns: f,
                   bias: w.upBias.pointer, into: a.activation, preActivation: a.preActivation)
        if !stage("up + gelu") { return false }
        residualLinear(a.activation, rows: rows, inner: f, packed: packedDown, columns: d, bias: w.downBias.pointer,
                       residual: x, dropout: dropout, into: out)
        return stage("down")
    }

    /// `out = residual + mask ∘ (input · Wᵀ + b)`; without dropout the
    /// residual is added in the matmul's epilogue.
    private static func residualLinear(
        _ input: UnsafePointer<Float>, rows: Int, inner: Int, packed: UnsafePointer<Float>, columns: Int,
        bias: UnsafePointer<Float>, residual: UnsafePointer<Float>, dropout: ResidualDropout?, into out: UnsafeMutablePointer<Float>
    ) {
        guard let dropout else {
            matmul(input, rows: rows, inner: inner, packedWeights: packed, columns: columns, bias: bias, residual: residual, into: out)
            return
        }
        let count = rows * columns
        matmul(input, rows: rows, inner: inner, packedWeights: packed, columns: columns, bias: bias, residual: nil, into: dropout.scratch)
        multiply(dropout.scratch, dropout.mask, count: count, into: dropout.scratch)
        out.update(from: residual, count: count)
        add(dropout.scratch, count: count, into: out)
    }

    /// The final layer norm, `normed = LN_final(x)` over `rows` rows
    /// (μ and 1/σ kept for the backward pass).
    public static func finalNorm(_ x: UnsafePointer<Float>, rows: Int, weights w: EncoderWeights,
                                 into normed: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                 rstd: UnsafeMutablePointer<Float>) {
        layerNorm(x, rows: rows, dim: w.config.dModel, gamma: w.finalNormWeight.pointer, beta: w.finalNormBias.pointer,
                  epsilon: EncoderConfig.layerNormEpsilon, into: normed, mean: mean, rstd: rstd)
    }

    /// Mean pooling of one sequence: `out = (1/n) Σ_t rows[t]` over its `n`
    /// token rows (D floats each); an empty sequence gets zeros. The sum runs
    /// over t in order, so padded and ragged layouts give the same bits.
    public static func meanPool(_ rows: UnsafePointer<Float>, count n: Int, dim d: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: d)
        if n == 0 { return }
        for t in 0..<n { add(rows + t * d, count: d, into: out) }
        let inv = 1 / Float(n)
        for j in 0..<d { out[j] *= inv }
    }

    /// The bag of one message's hashed n-grams: `out = Σ_i values[i] · table[indices[i]]`
    /// (Ds floats; indices checked by the caller).
    public static func ngramBag(indices: [Int32], values: [Float], table: UnsafePointer<Float>, width ds: Int,
                                into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: ds)
        for (idx, v) in zip(indices, values) { addScaled(table + Int(idx) * ds, scale: v, count: ds, into: out) }
    }

    /// The n-gram branch after the bags: optional layer norm, then optional
    /// GELU, written into columns `D ..< D + Ds` of each row of `z`
    /// (row stride Z).
    ///
    /// - Parameters:
    ///   - bags: `[B, Ds]` bags from ``ngramBag(indices:values:table:width:into:)``.
    ///   - normed, mean, rstd: the layer norm's output `[B, Ds]` and statistics `[B]`.
    public static func ngramBranch(bags: UnsafePointer<Float>, rows b: Int, config: ClassifierConfig, weights w: ClassifierWeights,
                                   normed: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
                                   rstd: UnsafeMutablePointer<Float>?, into z: UnsafeMutablePointer<Float>) {
        guard let branch = config.sparse else { return }
        let ds = branch.width, d = config.pooledWidth, zw = config.featureWidth
        var branchOut = bags
        if branch.layerNorm, let gamma = w.sparseNormWeight, let beta = w.sparseNormBias {
            layerNorm(bags, rows: b, dim: ds, gamma: gamma.pointer, beta: beta.pointer, epsilon: EncoderConfig.layerNormEpsilon,
                      into: normed, mean: mean, rstd: rstd)
            branchOut = UnsafePointer(normed)
        }
        for s in 0..<b {
            let dst = z + s * zw + d
            dst.update(from: branchOut + s * ds, count: ds)
            if branch.activation == .gelu { geluTanh(dst, count: ds, into: dst) }
        }
    }

    /// The hidden layer, `out = GELU(z · W_hiddenᵀ + b)` (`[B, Hd]`), keeping
    /// the pre-activation when `preActivation` is given (training).
    public static func hiddenLayer(_ z: UnsafePointer<Float>, rows b: Int, config: ClassifierConfig, bias: UnsafePointer<Float>,
                                   packed: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                   preActivation: UnsafeMutablePointer<Float>?) {
        matmulGELU(z, rows: b, inner: config.featureWidth, packedWeights: packed, columns: config.hiddenWidth,
                   bias: bias, into: out, preActivation: preActivation)
    }

    /// One head's logits, `logits = input · W_headᵀ + b` (`[B, C]`).
    public static func headLogits(_ input: UnsafePointer<Float>, rows b: Int, inner: Int, classes: Int, head w: HeadWeights,
                                  packed: UnsafePointer<Float>, into logits: UnsafeMutablePointer<Float>) {
        matmul(input, rows: b, inner: inner, packedWeights: packed, columns: classes, bias: w.bias.pointer, residual: nil, into: logits)
    }
}
