import Foundation
import Kernels
import Model

/// Dropout probabilities per site (0 = off).
struct DropoutRates: Equatable, Sendable {
    /// Embedding output, attention block output, FFN block output, and the pooled part of z.
    var encoder: Float = 0
    /// The sparse branch output (its part of z).
    var sparse: Float = 0
    /// The hidden layer's output.
    var hidden: Float = 0

    var isOff: Bool { encoder == 0 && sparse == 0 && hidden == 0 }
}

/// Growable float buffer.
struct Buffer {
    private(set) var tensor = Tensor(shape: [0])
    var pointer: UnsafeMutablePointer<Float> { tensor.pointer }
    mutating func ensure(_ count: Int) {
        if tensor.count < count { tensor = Tensor(shape: [count + count / 4]) }
    }
}

/// Forward and backward pass of the classifier on one shard of a batch, on the
/// calling thread, into its own activation buffers and ``Gradients``.
///
/// Tokens are packed back to back (``RaggedLayout``): every row-wise operation
/// (projections, norms, FFN) runs on exactly the real tokens, no padding.
final class ShardWorker {
    let config: ClassifierConfig
    let grads: Gradients

    // Per-layer activations (R = rows of the shard, B = examples).
    private struct LayerBuffers {
        var norm1 = Buffer(), mean1 = Buffer(), rstd1 = Buffer()  // [R, D], [R], [R]
        var qkv = Buffer()  // [R, 3D]
        var att = Buffer()  // [R, D]  attention output before `out`
        var probs = Buffer()  // layout.probCount
        var mid = Buffer()  // [R, D]  x + attention block
        var norm2 = Buffer(), mean2 = Buffer(), rstd2 = Buffer()
        var pre = Buffer(), act = Buffer()  // [R, F]
        var attMask = Buffer(), ffnMask = Buffer()  // [R, D] dropout scale factors
        var out = Buffer()  // [R, D]  layer output

        var attentionBuffers: AttentionBlockBuffers {
            AttentionBlockBuffers(normed: norm1.pointer, mean: mean1.pointer, rstd: rstd1.pointer, qkv: qkv.pointer, attention: att.pointer)
        }
        var feedForwardBuffers: FeedForwardBlockBuffers {
            FeedForwardBlockBuffers(normed: norm2.pointer, mean: mean2.pointer, rstd: rstd2.pointer,
                                    preActivation: pre.pointer, activation: act.pointer)
        }
    }
    private var layers: [LayerBuffers]
    private var x0 = Buffer(), embMask = Buffer()  // [R, D]
    private var fnorm = Buffer(), fmean = Buffer(), frstd = Buffer()  // [R, D], [R], [R]
    private var tmp = Buffer()  // [R, D]  scratch (pre-dropout block output)
    private var bag = Buffer(), bagMean = Buffer(), bagRstd = Buffer(), bagNormed = Buffer()  // [B, Ds], [B], [B], [B, Ds]
    private var z = Buffer(), zMask = Buffer()  // [B, Z]  z after dropout, mask
    private var hpre = Buffer(), headIn = Buffer(), hMask = Buffer()  // [B, Hd], [B, I], [B, Hd]
    private var logits: [Buffer]  // per head [B, C]  (probabilities after the loss)
    private var attScratch = Buffer()
    private let gemmScratch = GemmScratch()

    // Backward buffers.
    private var dX = Buffer(), dTmp = Buffer(), dAtt = Buffer()  // [R, D]
    private var dF = Buffer()  // [R, F]
    private var dQKV = Buffer()  // [R, 3D]
    private var dLogits: [Buffer]  // per head [B, C]
    private var dHeadIn = Buffer(), dZ = Buffer(), dSparse = Buffer(), dBag = Buffer()  // [B, I], [B, Z], [B, Ds], [B, Ds]

    private(set) var layout = RaggedLayout()
    private(set) var batch = 0
    /// Profiling hook: called with a stage name after each stage of ``run``.
    var stage: ((String) -> Void)?

    init(config: ClassifierConfig) {
        self.config = config
        grads = Gradients(config: config)
        layers = Array(repeating: LayerBuffers(), count: config.encoder.layers)
        logits = Array(repeating: Buffer(), count: config.heads.count)
        dLogits = Array(repeating: Buffer(), count: config.heads.count)
        attScratch.ensure(raggedAttentionScratchCount(maxLength: config.encoder.maxLength, headDim: config.encoder.headDim))
    }

    private func ensureCapacity(rows r: Int, batch b: Int, probs: Int, dropout: DropoutRates) {
        let c = config.encoder
        let d = c.dModel, f = c.ffnWidth
        let r1 = max(r, 1), b1 = max(b, 1)
        for l in layers.indices {
            layers[l].norm1.ensure(r1 * d); layers[l].mean1.ensure(r1); layers[l].rstd1.ensure(r1)
            layers[l].qkv.ensure(r1 * 3 * d); layers[l].att.ensure(r1 * d); layers[l].probs.ensure(max(probs, 1))
            layers[l].mid.ensure(r1 * d)
            layers[l].norm2.ensure(r1 * d); layers[l].mean2.ensure(r1); layers[l].rstd2.ensure(r1)
            layers[l].pre.ensure(r1 * f); layers[l].act.ensure(r1 * f)
            layers[l].out.ensure(r1 * d)
            if dropout.encoder > 0 { layers[l].attMask.ensure(r1 * d); layers[l].ffnMask.ensure(r1 * d) }
        }
        x0.ensure(r1 * d); if dropout.encoder > 0 { embMask.ensure(r1 * d) }
        fnorm.ensure(r1 * d); fmean.ensure(r1); frstd.ensure(r1); tmp.ensure(r1 * d)
        let ds = config.sparseWidth, zw = config.featureWidth, hw = config.hiddenWidth, iw = config.headInputWidth
        bag.ensure(b1 * max(ds, 1)); bagMean.ensure(b1); bagRstd.ensure(b1); bagNormed.ensure(b1 * max(ds, 1))
        z.ensure(b1 * zw); zMask.ensure(b1 * zw)
        hpre.ensure(b1 * max(hw, 1)); headIn.ensure(b1 * iw); hMask.ensure(b1 * max(hw, 1))
        for (i, h) in config.heads.enumerated() { logits[i].ensure(b1 * h.classes); dLogits[i].ensure(b1 * h.classes) }
        dX.ensure(r1 * d); dTmp.ensure(r1 * d); dAtt.ensure(r1 * d); dF.ensure(r1 * f); dQKV.ensure(r1 * 3 * d)
        dHeadIn.ensure(b1 * iw); dZ.ensure(b1 * zw); dSparse.ensure(b1 * max(ds, 1)); dBag.ensure(b1 * max(ds, 1))
    }

    /// How a head's examples are weighted in the loss (see ``run``).
    struct LossWeights {
        var headScales: [Float]
        var classWeights: [[Float]]
        var labelSmoothing: Float

        /// The loss weight of an example of class `label` in head `k`.
        func scale(head k: Int, label: Int) -> Float {
            let perClass = k < classWeights.count ? classWeights[k] : []
            return perClass.isEmpty ? headScales[k] : headScales[k] * perClass[label]
        }
    }

    /// Runs forward (and, with `backward`, backward into ``grads``, which it
    /// zeroes first) on `examples`.
    ///
    /// - Parameters:
    ///   - headScales: per head, the loss weight of one labelled example of
    ///     class weight 1 (head weight / total class weight of the labelled
    ///     examples in the whole batch).
    ///   - classWeights: per head, the loss weight of each class (empty, or
    ///     an empty row for a head = every class weighs 1). An example of
    ///     class c counts `headScales[k] · classWeights[k][c]`.
    ///   - maskSeed: dropout masks of example `i` (0-based in the batch) come
    ///     from a generator seeded with `(maskSeed, firstIndex + i)`, so they
    ///     do not depend on how the batch is split across workers.
    /// - Returns: this shard's contribution to the batch loss.
    @discardableResult
    func run(_ examples: ArraySlice<PreparedExample>, firstIndex: Int, weights w: ClassifierWeights, packed: PackedClassifier,
             headScales: [Float], classWeights: [[Float]] = [], labelSmoothing: Float, dropout: DropoutRates, maskSeed: UInt64,
             backward: Bool) -> Double {
        prepare(examples, firstIndex: firstIndex, dropout: dropout, maskSeed: maskSeed)
        forwardEncoder(examples, weights: w, packed: packed, dropout: dropout)
        forwardFeatures(examples, weights: w, dropout: dropout)
        let headInput = forwardHidden(weights: w, packed: packed, dropout: dropout)
        let lossWeights = LossWeights(headScales: headScales, classWeights: classWeights, labelSmoothing: labelSmoothing)
        let loss = headsAndLoss(examples, headInput: headInput, weights: w, packed: packed, lossWeights: lossWeights, backward: backward)
        stage?("fwd norm, pool, sparse, hidden, heads, loss")
        if !backward { return loss }

        grads.zero()
        stage?("bwd zero gradients")
        let dz = backwardHeadsAndHidden(headInput: headInput, packed: packed, dropout: dropout)
        backwardNgramBranch(examples, dz: dz, weights: w)
        backwardPoolAndFinalNorm(dz: dz, weights: w)
        stage?("bwd heads, hidden, sparse, pool, norm")
        for l in stride(from: config.encoder.layers - 1, through: 0, by: -1) {
            backwardFeedForward(layer: l, weights: w, packed: packed, dropout: dropout)
            backwardAttention(layer: l, weights: w, packed: packed, dropout: dropout)
        }
        backwardEmbeddings(examples, dropout: dropout)
        stage?("bwd embeddings")
        return loss
    }

    // MARK: Forward

    /// Lays the shard out (ragged), sizes the buffers and draws the dropout masks.
    private func prepare(_ examples: ArraySlice<PreparedExample>, firstIndex: Int, dropout: DropoutRates, maskSeed: UInt64) {
        batch = examples.count
        layout = RaggedLayout(lengths: examples.map { $0.tokenIDs.count }, heads: config.encoder.heads)
        ensureCapacity(rows: layout.rows, batch: batch, probs: layout.probCount, dropout: dropout)
        // Dropout masks (scale factors 0 or 1/(1-p)), per example in a fixed site order.
        if !dropout.isOff { makeMasks(examples, firstIndex: firstIndex, dropout: dropout, maskSeed: maskSeed) }
    }

    /// The stage hook ``ForwardStages`` calls, forwarding to ``stage`` with a "fwd " prefix.
    private var forwardHook: ForwardStages.StageHook {
        guard let stage else { return { _ in true } }
        return { name in stage("fwd " + name); return true }
    }

    /// Embeddings and every encoder layer (``ForwardStages``), keeping each
    /// layer's activations; the last layer's output is `layers[L-1].out`.
    private func forwardEncoder(_ examples: ArraySlice<PreparedExample>, weights w: ClassifierWeights, packed: PackedClassifier,
                                dropout: DropoutRates) {
        let c = config.encoder, d = c.dModel, rows = layout.rows
        for (s, ex) in examples.enumerated() {
            ForwardStages.embed(ex.tokenIDs[...], tokenTable: w.encoder.tokenEmbedding.pointer,
                                positionTable: w.encoder.positionEmbedding.pointer, dim: d, into: x0.pointer + layout.offsets[s] * d)
        }
        if dropout.encoder > 0 { multiply(x0.pointer, embMask.pointer, count: rows * d, into: x0.pointer) }
        stage?("fwd embeddings + masks")
        let hook = forwardHook, layout = self.layout, scratch = attScratch.pointer
        var xIn = x0.pointer
        for l in 0..<c.layers {
            let lw = w.encoder.layers[l], pw = packed.layers[l], a = layers[l]
            let attentionDropout = dropout.encoder > 0 ? ResidualDropout(mask: a.attMask.pointer, scratch: tmp.pointer) : nil
            let ffnDropout = dropout.encoder > 0 ? ResidualDropout(mask: a.ffnMask.pointer, scratch: tmp.pointer) : nil
            ForwardStages.attentionBlock(
                xIn, rows: rows, config: c, layer: lw, packedQKV: pw.qkv.forward.pointer, packedOut: pw.out.forward.pointer,
                buffers: a.attentionBuffers, dropout: attentionDropout, into: a.mid.pointer,
                attend: { qkv, attention in
                    raggedAttentionForward(qkv: qkv, layout: layout, heads: c.heads, headDim: c.headDim,
                                           att: attention, probs: a.probs.pointer, scratch: scratch)
                }, stage: hook)
            ForwardStages.feedForwardBlock(a.mid.pointer, rows: rows, config: c, layer: lw, packedUp: pw.up.forward.pointer,
                                           packedDown: pw.down.forward.pointer, buffers: a.feedForwardBuffers, dropout: ffnDropout,
                                           into: a.out.pointer, stage: hook)
            xIn = a.out.pointer
        }
    }

    /// The last layer's output (or the embeddings, with no layers).
    private var encoderOutput: UnsafeMutablePointer<Float> {
        config.encoder.layers > 0 ? layers[config.encoder.layers - 1].out.pointer : x0.pointer
    }

    /// z = [mean-pooled final norm | n-gram branch], then its dropout.
    private func forwardFeatures(_ examples: ArraySlice<PreparedExample>, weights w: ClassifierWeights, dropout: DropoutRates) {
        let d = config.encoder.dModel, zw = config.featureWidth, b = batch
        ForwardStages.finalNorm(encoderOutput, rows: layout.rows, weights: w.encoder, into: fnorm.pointer,
                                mean: fmean.pointer, rstd: frstd.pointer)
        for s in 0..<b {
            ForwardStages.meanPool(fnorm.pointer + layout.offsets[s] * d, count: layout.lengths[s], dim: d, into: z.pointer + s * zw)
        }
        if let branch = config.sparse, let table = w.sparseEmbedding {
            for (s, ex) in examples.enumerated() {
                ForwardStages.ngramBag(indices: ex.sparseIndices, values: ex.sparseValues, table: table.pointer, width: branch.width,
                                       into: bag.pointer + s * branch.width)
            }
            ForwardStages.ngramBranch(bags: bag.pointer, rows: b, config: config, weights: w, normed: bagNormed.pointer,
                                      mean: bagMean.pointer, rstd: bagRstd.pointer, into: z.pointer)
        }
        if dropout.encoder > 0 || dropout.sparse > 0 { multiply(z.pointer, zMask.pointer, count: b * zw, into: z.pointer) }
    }

    /// The hidden layer (and its dropout); returns the heads' input (z without a hidden layer).
    private func forwardHidden(weights w: ClassifierWeights, packed: PackedClassifier, dropout: DropoutRates) -> UnsafeMutablePointer<Float> {
        let hw = config.hiddenWidth
        guard hw > 0, let bias = w.hiddenBias, let hidden = packed.hidden else { return z.pointer }
        ForwardStages.hiddenLayer(z.pointer, rows: batch, config: config, bias: bias.pointer, packed: hidden.forward.pointer,
                                  into: headIn.pointer, preActivation: hpre.pointer)
        if dropout.hidden > 0 { multiply(headIn.pointer, hMask.pointer, count: batch * hw, into: headIn.pointer) }
        return headIn.pointer
    }

    /// Every head's logits and the weighted cross-entropy; the logits become
    /// probabilities and, with `backward`, `dLogits` the loss gradient.
    private func headsAndLoss(_ examples: ArraySlice<PreparedExample>, headInput: UnsafeMutablePointer<Float>, weights w: ClassifierWeights,
                              packed: PackedClassifier, lossWeights: LossWeights, backward: Bool) -> Double {
        var loss = 0.0
        for (k, head) in config.heads.enumerated() {
            let cls = head.classes
            guard let hw = w.heads[head.name], let hp = packed.heads[head.name] else { continue }
            ForwardStages.headLogits(headInput, rows: batch, inner: config.headInputWidth, classes: cls, head: hw,
                                     packed: hp.forward.pointer, into: logits[k].pointer)
            for (s, ex) in examples.enumerated() {
                let label = Int(ex.labels[k])
                let dl = dLogits[k].pointer + s * cls
                if label < 0 {
                    if backward { dl.update(repeating: 0, count: cls) }
                    continue
                }
                let scale = lossWeights.scale(head: k, label: label)
                loss += Double(scale) * crossEntropy(logits: logits[k].pointer + s * cls, classes: cls, label: label,
                                                     smoothing: lossWeights.labelSmoothing, gradientScale: scale,
                                                     gradient: backward ? dl : nil)
            }
        }
        return loss
    }

    // MARK: Backward

    /// Heads, then the hidden layer; returns d(loss)/dz (after z's dropout).
    private func backwardHeadsAndHidden(headInput: UnsafeMutablePointer<Float>, packed: PackedClassifier,
                                        dropout: DropoutRates) -> UnsafeMutablePointer<Float> {
        let b = batch, iw = config.headInputWidth, hw = config.hiddenWidth, zw = config.featureWidth
        // Heads: dW += dLᵀ·in, db += Σ dL, dIn (+)= dL·W.
        for (k, head) in config.heads.enumerated() {
            guard let hp = packed.heads[head.name] else { continue }
            linearBackward(x: headInput, dy: dLogits[k].pointer, packedTransposed: hp.backward.pointer,
                           rows: b, inner: iw, outer: head.classes,
                           dWeight: grads["heads.\(head.name).weight"].pointer, dBias: grads["heads.\(head.name).bias"].pointer,
                           dx: dHeadIn.pointer, accumulateDX: k > 0, scratch: gemmScratch)
        }
        var dz = dHeadIn.pointer
        if hw > 0, let hidden = packed.hidden {
            if dropout.hidden > 0 { multiply(dHeadIn.pointer, hMask.pointer, count: b * hw, into: dHeadIn.pointer) }
            geluBackward(pre: hpre.pointer, dy: dHeadIn.pointer, count: b * hw, into: dHeadIn.pointer)
            linearBackward(x: z.pointer, dy: dHeadIn.pointer, packedTransposed: hidden.backward.pointer, rows: b, inner: zw, outer: hw,
                           dWeight: grads["hidden.weight"].pointer, dBias: grads["hidden.bias"].pointer,
                           dx: dZ.pointer, accumulateDX: false, scratch: gemmScratch)
            dz = dZ.pointer
        }
        if dropout.encoder > 0 || dropout.sparse > 0 { multiply(dz, zMask.pointer, count: b * zw, into: dz) }
        return dz
    }

    /// The n-gram branch: GELU, layer norm, then each bag's rows of the sparse table.
    private func backwardNgramBranch(_ examples: ArraySlice<PreparedExample>, dz: UnsafeMutablePointer<Float>, weights w: ClassifierWeights) {
        guard let branch = config.sparse, let sg = grads.sparse else { return }
        let b = batch, d = config.encoder.dModel, zw = config.featureWidth, ds = config.sparseWidth
        for s in 0..<b { (dSparse.pointer + s * ds).update(from: dz + s * zw + d, count: ds) }
        if branch.activation == .gelu {
            let geluIn = branch.layerNorm ? bagNormed.pointer : bag.pointer
            geluBackward(pre: geluIn, dy: dSparse.pointer, count: b * ds, into: dSparse.pointer)
        }
        var dBagIn = dSparse.pointer
        if branch.layerNorm, let gamma = w.sparseNormWeight {
            layerNormBackward(x: bag.pointer, mean: bagMean.pointer, rstd: bagRstd.pointer, gamma: gamma.pointer,
                              dy: dSparse.pointer, rows: b, dim: ds, dx: dBag.pointer,
                              accumulate: false, dGamma: grads["sparse.norm.weight"].pointer, dBeta: grads["sparse.norm.bias"].pointer)
            dBagIn = dBag.pointer
        }
        for (s, ex) in examples.enumerated() {
            let g = dBagIn + s * ds
            for (idx, v) in zip(ex.sparseIndices, ex.sparseValues) { addScaled(g, scale: v, count: ds, into: sg.row(Int(idx))) }
        }
    }

    /// Mean pooling, then the final norm; leaves d(loss)/d(last layer output) in `dX`.
    private func backwardPoolAndFinalNorm(dz: UnsafeMutablePointer<Float>, weights w: ClassifierWeights) {
        let d = config.encoder.dModel, zw = config.featureWidth
        for s in 0..<batch {
            let n = layout.lengths[s]
            if n == 0 { continue }
            let off = layout.offsets[s], inv = 1 / Float(n)
            let src = dz + s * zw
            for t in 0..<n {
                let dst = dTmp.pointer + (off + t) * d
                for j in 0..<d { dst[j] = src[j] * inv }
            }
        }
        layerNormBackward(x: encoderOutput, mean: fmean.pointer, rstd: frstd.pointer, gamma: w.encoder.finalNormWeight.pointer,
                          dy: dTmp.pointer, rows: layout.rows, dim: d, dx: dX.pointer, accumulate: false,
                          dGamma: grads["final_norm.weight"].pointer, dBeta: grads["final_norm.bias"].pointer)
    }

    /// The gradient reaching a residual block's branch from `dX` (its
    /// output's gradient): `dX` itself, or `mask ∘ dX` in `dTmp` with dropout.
    private func residualBranchGradient(mask: Buffer, dropout: DropoutRates) -> UnsafePointer<Float> {
        guard dropout.encoder > 0 else { return UnsafePointer(dX.pointer) }
        multiply(dX.pointer, mask.pointer, count: layout.rows * config.encoder.dModel, into: dTmp.pointer)
        return UnsafePointer(dTmp.pointer)
    }

    /// The FFN block of layer `l`, out = mid + mask ∘ down(gelu(up(LN₂(mid)))):
    /// turns `dX` = d/d(out) into d/d(mid).
    private func backwardFeedForward(layer l: Int, weights w: ClassifierWeights, packed: PackedClassifier, dropout: DropoutRates) {
        let c = config.encoder, d = c.dModel, f = c.ffnWidth, rows = layout.rows
        let lw = w.encoder.layers[l], a = layers[l], pw = packed.layers[l], p = "layers.\(l)."
        let dDown = residualBranchGradient(mask: a.ffnMask, dropout: dropout)
        linearBackward(x: a.act.pointer, dy: dDown, packedTransposed: pw.down.backward.pointer, rows: rows, inner: f, outer: d,
                       dWeight: grads[p + "ffn.down.weight"].pointer, dBias: grads[p + "ffn.down.bias"].pointer,
                       dx: dF.pointer, accumulateDX: false, scratch: gemmScratch)
        stage?("bwd down")
        geluBackward(pre: a.pre.pointer, dy: dF.pointer, count: rows * f, into: dF.pointer)
        stage?("bwd gelu")
        linearBackward(x: a.norm2.pointer, dy: dF.pointer, packedTransposed: pw.up.backward.pointer, rows: rows, inner: d, outer: f,
                       dWeight: grads[p + "ffn.up.weight"].pointer, dBias: grads[p + "ffn.up.bias"].pointer,
                       dx: dTmp.pointer, accumulateDX: false, scratch: gemmScratch)
        stage?("bwd up")
        layerNormBackward(x: a.mid.pointer, mean: a.mean2.pointer, rstd: a.rstd2.pointer, gamma: lw.norm2Weight.pointer,
                          dy: dTmp.pointer, rows: rows, dim: d, dx: dX.pointer, accumulate: true,
                          dGamma: grads[p + "norm2.weight"].pointer, dBeta: grads[p + "norm2.bias"].pointer)
        stage?("bwd layer norm")
    }

    /// The attention block of layer `l`, mid = in + mask ∘ out(attention(LN₁(in))):
    /// turns `dX` = d/d(mid) into d/d(in).
    private func backwardAttention(layer l: Int, weights w: ClassifierWeights, packed: PackedClassifier, dropout: DropoutRates) {
        let c = config.encoder, d = c.dModel, rows = layout.rows
        let lw = w.encoder.layers[l], a = layers[l], pw = packed.layers[l], p = "layers.\(l)."
        let layerIn = l > 0 ? layers[l - 1].out.pointer : x0.pointer
        let dOutProj = residualBranchGradient(mask: a.attMask, dropout: dropout)
        linearBackward(x: a.att.pointer, dy: dOutProj, packedTransposed: pw.out.backward.pointer, rows: rows, inner: d, outer: d,
                       dWeight: grads[p + "attention.out.weight"].pointer, dBias: grads[p + "attention.out.bias"].pointer,
                       dx: dAtt.pointer, accumulateDX: false, scratch: gemmScratch)
        stage?("bwd out")
        raggedAttentionBackward(qkv: a.qkv.pointer, probs: a.probs.pointer, dAtt: dAtt.pointer, layout: layout,
                                heads: c.heads, headDim: c.headDim, dQKV: dQKV.pointer, scratch: attScratch.pointer)
        stage?("bwd attention")
        linearBackward(x: a.norm1.pointer, dy: dQKV.pointer, packedTransposed: pw.qkv.backward.pointer, rows: rows, inner: d, outer: 3 * d,
                       dWeight: grads[p + "attention.qkv.weight"].pointer, dBias: grads[p + "attention.qkv.bias"].pointer,
                       dx: dTmp.pointer, accumulateDX: false, scratch: gemmScratch)
        stage?("bwd qkv")
        layerNormBackward(x: layerIn, mean: a.mean1.pointer, rstd: a.rstd1.pointer, gamma: lw.norm1Weight.pointer,
                          dy: dTmp.pointer, rows: rows, dim: d, dx: dX.pointer, accumulate: true,
                          dGamma: grads[p + "norm1.weight"].pointer, dBeta: grads[p + "norm1.bias"].pointer)
        stage?("bwd layer norm")
    }

    /// The embeddings: each token's gradient into its position and token rows.
    private func backwardEmbeddings(_ examples: ArraySlice<PreparedExample>, dropout: DropoutRates) {
        let d = config.encoder.dModel
        if dropout.encoder > 0 { multiply(dX.pointer, embMask.pointer, count: layout.rows * d, into: dX.pointer) }
        let dPos = grads["position_embedding.weight"].pointer
        for (s, ex) in examples.enumerated() {
            let off = layout.offsets[s]
            for (t, id) in ex.tokenIDs.enumerated() {
                let g = dX.pointer + (off + t) * d
                add(g, count: d, into: dPos + t * d)
                add(g, count: d, into: grads.tokens.row(Int(id)))
            }
        }
    }

    /// Dropout masks for every site, example by example.
    private func makeMasks(_ examples: ArraySlice<PreparedExample>, firstIndex: Int, dropout: DropoutRates, maskSeed: UInt64) {
        let d = config.encoder.dModel, zw = config.featureWidth, hw = config.hiddenWidth
        let enc = DropoutSampler(rate: dropout.encoder), sp = DropoutSampler(rate: dropout.sparse), hid = DropoutSampler(rate: dropout.hidden)
        for (s, ex) in examples.enumerated() {
            var rng = Xoshiro256(seed: maskSeed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(firstIndex + s + 1))
            let n = ex.tokenIDs.count, off = layout.offsets[s]
            if enc.active {
                enc.fill(embMask.pointer + off * d, count: n * d, &rng)
                for l in layers.indices {
                    enc.fill(layers[l].attMask.pointer + off * d, count: n * d, &rng)
                    enc.fill(layers[l].ffnMask.pointer + off * d, count: n * d, &rng)
                }
            }
            let zm = zMask.pointer + s * zw
            enc.fill(zm, count: d, &rng)
            sp.fill(zm + d, count: zw - d, &rng)
            if hw > 0 { hid.fill(hMask.pointer + s * hw, count: hw, &rng) }
        }
    }
}

/// Draws dropout scale factors: 0 with probability ≈ `rate` (quantised to
/// 1/65536), else 1/(keep probability) so the expectation is exactly 1.
struct DropoutSampler {
    let threshold: UInt64
    let scale: Float
    var active: Bool { threshold > 0 }

    init(rate: Float) {
        threshold = UInt64((Double(rate) * 65536).rounded())
        scale = threshold > 0 ? Float(65536 / Double(65536 - threshold)) : 1
    }

    func fill(_ p: UnsafeMutablePointer<Float>, count: Int, _ rng: inout Xoshiro256) {
        if !active { p.update(repeating: 1, count: count); return }
        // Two 64-bit draws = eight 16-bit uniforms = eight mask values per SIMD8 store.
        let t = SIMD8<UInt32>(repeating: UInt32(threshold)), keep = SIMD8<Float>(repeating: scale)
        var i = 0
        while i < count {
            let a = rng.next(), b = rng.next()
            let lanes = SIMD8<UInt32>(UInt32(a & 0xFFFF), UInt32((a >> 16) & 0xFFFF), UInt32((a >> 32) & 0xFFFF), UInt32(a >> 48),
                                      UInt32(b & 0xFFFF), UInt32((b >> 16) & 0xFFFF), UInt32((b >> 32) & 0xFFFF), UInt32(b >> 48))
            let v = keep.replacing(with: 0, where: lanes .< t)
            if i + 8 <= count {
                st8(v, p + i)
            } else {
                for j in 0..<(count - i) { p[i + j] = v[j] }
            }
            i += 8
        }
    }
}

/// Backward of `y = x·Wᵀ + b` (`x`: rows × inner, `W`: outer × inner):
/// `dW += dyᵀ·x` (``gemmTransposedAccumulate(_:rows:outer:_:inner:into:scratch:)``),
/// `db += Σ_rows dy`, `dx (+)= dy·W` (`Kernels.matmul` on W packed
/// transposed, `packWeightsKN`).
func linearBackward(
    x: UnsafePointer<Float>, dy: UnsafePointer<Float>, packedTransposed: UnsafePointer<Float>,
    rows: Int, inner k: Int, outer n: Int,
    dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
    dx: UnsafeMutablePointer<Float>?, accumulateDX: Bool, scratch: GemmScratch
) {
    gemmTransposedAccumulate(dy, rows: rows, outer: n, x, inner: k, into: dWeight, scratch: scratch)
    if let dBias { addColumnSums(dy, rows: rows, cols: n, ld: n, into: dBias) }
    if let dx {
        matmul(dy, rows: rows, inner: n, packedWeights: packedTransposed, columns: k, bias: nil,
               residual: accumulateDX ? UnsafePointer(dx) : nil, into: dx)
    }
}

/// Cross-entropy of one row of logits against `label`, with label smoothing ε
/// (target `(1 − ε)·onehot + ε/C`). Overwrites `logits` with the
/// probabilities; writes `gradientScale · (p − target)` into `gradient`.
/// Returns the (unscaled) loss.
func crossEntropy(logits: UnsafeMutablePointer<Float>, classes c: Int, label: Int, smoothing: Float,
                  gradientScale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
    var m = -Float.infinity
    for j in 0..<c { m = max(m, logits[j]) }
    var sum = 0.0
    for j in 0..<c { sum += Double(Foundation.exp(logits[j] - m)) }
    let logZ = Double(m) + Foundation.log(sum)
    let eps = Double(smoothing), off = eps / Double(c)
    var loss = 0.0
    for j in 0..<c {
        let logP = Double(logits[j]) - logZ
        let target = (j == label ? 1 - eps : 0) + off
        loss -= target * logP
        let p = Foundation.exp(logP)
        logits[j] = Float(p)
        gradient?[j] = gradientScale * Float(p - target)
    }
    return loss
}
