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
        let c = config.encoder
        let d = c.dModel, f = c.ffnWidth, hd = c.headDim
        let eps = EncoderConfig.layerNormEpsilon
        batch = examples.count
        layout = RaggedLayout(lengths: examples.map { $0.tokenIDs.count }, heads: c.heads)
        let rows = layout.rows
        ensureCapacity(rows: rows, batch: batch, probs: layout.probCount, dropout: dropout)
        let b = batch

        // Dropout masks (scale factors 0 or 1/(1-p)), per example in a fixed site order.
        if dropout.encoder > 0 || dropout.sparse > 0 || dropout.hidden > 0 {
            makeMasks(examples, firstIndex: firstIndex, dropout: dropout, maskSeed: maskSeed)
        }

        // Embeddings.
        let tok = w.encoder.tokenEmbedding.pointer, pos = w.encoder.positionEmbedding.pointer
        for (s, ex) in examples.enumerated() {
            let off = layout.offsets[s]
            for (t, id) in ex.tokenIDs.enumerated() {
                let row = x0.pointer + (off + t) * d, e = tok + Int(id) * d, p = pos + t * d
                for j in 0..<d { row[j] = e[j] + p[j] }
            }
        }
        if dropout.encoder > 0 { multiply(x0.pointer, embMask.pointer, count: rows * d, into: x0.pointer) }
        stage?("fwd embeddings + masks")

        // Encoder layers.
        var xIn = x0.pointer
        for l in 0..<c.layers {
            let lw = w.encoder.layers[l], pw = packed.layers[l]
            let a = layers[l]
            layerNorm(xIn, rows: rows, dim: d, gamma: lw.norm1Weight.pointer, beta: lw.norm1Bias.pointer, epsilon: eps,
                      into: a.norm1.pointer, mean: a.mean1.pointer, rstd: a.rstd1.pointer)
            stage?("fwd layer norm")
            matmul(a.norm1.pointer, rows: rows, inner: d, packedWeights: pw.qkv.forward.pointer, columns: 3 * d,
                   bias: lw.qkvBias.pointer, residual: nil, into: a.qkv.pointer)
            stage?("fwd qkv")
            raggedAttentionForward(qkv: a.qkv.pointer, layout: layout, heads: c.heads, headDim: hd,
                                   att: a.att.pointer, probs: a.probs.pointer, scratch: attScratch.pointer)
            stage?("fwd attention")
            if dropout.encoder > 0 {
                matmul(a.att.pointer, rows: rows, inner: d, packedWeights: pw.out.forward.pointer, columns: d,
                       bias: lw.outBias.pointer, residual: nil, into: tmp.pointer)
                multiply(tmp.pointer, a.attMask.pointer, count: rows * d, into: tmp.pointer)
                a.mid.pointer.update(from: xIn, count: rows * d)
                add(tmp.pointer, count: rows * d, into: a.mid.pointer)
            } else {
                matmul(a.att.pointer, rows: rows, inner: d, packedWeights: pw.out.forward.pointer, columns: d,
                       bias: lw.outBias.pointer, residual: xIn, into: a.mid.pointer)
            }
            stage?("fwd out")
            layerNorm(a.mid.pointer, rows: rows, dim: d, gamma: lw.norm2Weight.pointer, beta: lw.norm2Bias.pointer, epsilon: eps,
                      into: a.norm2.pointer, mean: a.mean2.pointer, rstd: a.rstd2.pointer)
            stage?("fwd layer norm")
            matmulGELU(a.norm2.pointer, rows: rows, inner: d, packedWeights: pw.up.forward.pointer, columns: f,
                       bias: lw.upBias.pointer, into: a.act.pointer, preActivation: a.pre.pointer)
            stage?("fwd up + gelu")
            if dropout.encoder > 0 {
                matmul(a.act.pointer, rows: rows, inner: f, packedWeights: pw.down.forward.pointer, columns: d,
                       bias: lw.downBias.pointer, residual: nil, into: tmp.pointer)
                multiply(tmp.pointer, a.ffnMask.pointer, count: rows * d, into: tmp.pointer)
                a.out.pointer.update(from: a.mid.pointer, count: rows * d)
                add(tmp.pointer, count: rows * d, into: a.out.pointer)
            } else {
                matmul(a.act.pointer, rows: rows, inner: f, packedWeights: pw.down.forward.pointer, columns: d,
                       bias: lw.downBias.pointer, residual: a.mid.pointer, into: a.out.pointer)
            }
            stage?("fwd down")
            xIn = a.out.pointer
        }
        layerNorm(xIn, rows: rows, dim: d, gamma: w.encoder.finalNormWeight.pointer, beta: w.encoder.finalNormBias.pointer,
                  epsilon: eps, into: fnorm.pointer, mean: fmean.pointer, rstd: frstd.pointer)

        // z = [pooled | sparse branch] (then dropout).
        let zw = config.featureWidth, ds = config.sparseWidth
        for s in 0..<b {
            let out = z.pointer + s * zw
            out.update(repeating: 0, count: d)
            let n = layout.lengths[s]
            if n == 0 { continue }
            let off = layout.offsets[s]
            for t in 0..<n { add(fnorm.pointer + (off + t) * d, count: d, into: out) }
            let inv = 1 / Float(n)
            for j in 0..<d { out[j] *= inv }
        }
        if let branch = config.sparse {
            let table = w.sparseEmbedding!.pointer
            for (s, ex) in examples.enumerated() {
                let out = bag.pointer + s * ds
                out.update(repeating: 0, count: ds)
                for (idx, v) in zip(ex.sparseIndices, ex.sparseValues) { addScaled(table + Int(idx) * ds, scale: v, count: ds, into: out) }
            }
            var sparseOut = bag.pointer
            if branch.layerNorm {
                layerNorm(bag.pointer, rows: b, dim: ds, gamma: w.sparseNormWeight!.pointer, beta: w.sparseNormBias!.pointer,
                          epsilon: eps, into: bagNormed.pointer, mean: bagMean.pointer, rstd: bagRstd.pointer)
                sparseOut = bagNormed.pointer
            }
            for s in 0..<b {
                let dst = z.pointer + s * zw + d
                dst.update(from: sparseOut + s * ds, count: ds)
                if branch.activation == .gelu { geluTanh(dst, count: ds, into: dst) }
            }
        }
        if dropout.encoder > 0 || dropout.sparse > 0 { multiply(z.pointer, zMask.pointer, count: b * zw, into: z.pointer) }

        // Hidden layer.
        let iw = config.headInputWidth, hw = config.hiddenWidth
        var headInput = z.pointer
        if hw > 0 {
            matmulGELU(z.pointer, rows: b, inner: zw, packedWeights: packed.hidden!.forward.pointer, columns: hw,
                       bias: w.hiddenBias!.pointer, into: headIn.pointer, preActivation: hpre.pointer)
            if dropout.hidden > 0 { multiply(headIn.pointer, hMask.pointer, count: b * hw, into: headIn.pointer) }
            headInput = headIn.pointer
        }

        // Heads and loss (logits buffers become probabilities; dLogits written).
        var loss = 0.0
        for (k, head) in config.heads.enumerated() {
            let cls = head.classes
            matmul(headInput, rows: b, inner: iw, packedWeights: packed.heads[head.name]!.forward.pointer, columns: cls,
                   bias: w.heads[head.name]!.bias.pointer, residual: nil, into: logits[k].pointer)
            for (s, ex) in examples.enumerated() {
                let label = Int(ex.labels[k])
                let dl = dLogits[k].pointer + s * cls
                if label < 0 {
                    if backward { dl.update(repeating: 0, count: cls) }
                    continue
                }
                let perClass = k < classWeights.count ? classWeights[k] : []
                let scale = perClass.isEmpty ? headScales[k] : headScales[k] * perClass[label]
                loss += Double(scale) * crossEntropy(logits: logits[k].pointer + s * cls, classes: cls, label: label,
                                                     smoothing: labelSmoothing, gradientScale: scale,
                                                     gradient: backward ? dl : nil)
            }
        }
        stage?("fwd norm, pool, sparse, hidden, heads, loss")
        if !backward { return loss }

        // ---------------- Backward ----------------
        grads.zero()
        stage?("bwd zero gradients")
        // Heads: dW += dLᵀ·in, db += Σ dL, dIn (+)= dL·W.
        for (k, head) in config.heads.enumerated() {
            let cls = head.classes
            linearBackward(x: headInput, dy: dLogits[k].pointer, packedTransposed: packed.heads[head.name]!.backward.pointer,
                           rows: b, inner: iw, outer: cls,
                           dWeight: grads["heads.\(head.name).weight"].pointer, dBias: grads["heads.\(head.name).bias"].pointer,
                           dx: dHeadIn.pointer, accumulateDX: k > 0, scratch: gemmScratch)
        }
        // Hidden layer.
        var dz = dHeadIn.pointer
        if hw > 0 {
            if dropout.hidden > 0 { multiply(dHeadIn.pointer, hMask.pointer, count: b * hw, into: dHeadIn.pointer) }
            geluBackward(pre: hpre.pointer, dy: dHeadIn.pointer, count: b * hw, into: dHeadIn.pointer)
            linearBackward(x: z.pointer, dy: dHeadIn.pointer, packedTransposed: packed.hidden!.backward.pointer, rows: b, inner: zw, outer: hw,
                           dWeight: grads["hidden.weight"].pointer, dBias: grads["hidden.bias"].pointer,
                           dx: dZ.pointer, accumulateDX: false, scratch: gemmScratch)
            dz = dZ.pointer
        }
        if dropout.encoder > 0 || dropout.sparse > 0 { multiply(dz, zMask.pointer, count: b * zw, into: dz) }

        // Sparse branch.
        if let branch = config.sparse {
            let sg = grads.sparse!
            for s in 0..<b { (dSparse.pointer + s * ds).update(from: dz + s * zw + d, count: ds) }
            if branch.activation == .gelu {
                let geluIn = branch.layerNorm ? bagNormed.pointer : bag.pointer
                geluBackward(pre: geluIn, dy: dSparse.pointer, count: b * ds, into: dSparse.pointer)
            }
            var dBagIn = dSparse.pointer
            if branch.layerNorm {
                layerNormBackward(x: bag.pointer, mean: bagMean.pointer, rstd: bagRstd.pointer, gamma: w.sparseNormWeight!.pointer,
                                  dy: dSparse.pointer, rows: b, dim: ds, dx: dBag.pointer,
                                  accumulate: false, dGamma: grads["sparse.norm.weight"].pointer, dBeta: grads["sparse.norm.bias"].pointer)
                dBagIn = dBag.pointer
            }
            for (s, ex) in examples.enumerated() {
                let g = dBagIn + s * ds
                for (idx, v) in zip(ex.sparseIndices, ex.sparseValues) { addScaled(g, scale: v, count: ds, into: sg.row(Int(idx))) }
            }
        }

        // Mean pooling → final norm.
        for s in 0..<b {
            let n = layout.lengths[s]
            if n == 0 { continue }
            let off = layout.offsets[s], inv = 1 / Float(n)
            let src = dz + s * zw
            for t in 0..<n {
                let dst = dTmp.pointer + (off + t) * d
                for j in 0..<d { dst[j] = src[j] * inv }
            }
        }
        let lastOut = c.layers > 0 ? layers[c.layers - 1].out.pointer : x0.pointer
        layerNormBackward(x: lastOut, mean: fmean.pointer, rstd: frstd.pointer, gamma: w.encoder.finalNormWeight.pointer,
                          dy: dTmp.pointer, rows: rows, dim: d, dx: dX.pointer, accumulate: false,
                          dGamma: grads["final_norm.weight"].pointer, dBeta: grads["final_norm.bias"].pointer)
        stage?("bwd heads, hidden, sparse, pool, norm")

        // Layers, last to first. dX holds d(loss)/d(layer output).
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let lw = w.encoder.layers[l], a = layers[l], pw = packed.layers[l]
            let p = "layers.\(l)."
            let layerIn = l > 0 ? layers[l - 1].out.pointer : x0.pointer
            // FFN block: out = mid + mask ∘ (down(gelu(up(LN2(mid))))).
            var dDown = UnsafePointer(dX.pointer)
            if dropout.encoder > 0 {
                multiply(dX.pointer, a.ffnMask.pointer, count: rows * d, into: dTmp.pointer)
                dDown = UnsafePointer(dTmp.pointer)
            }
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
            // Attention block: mid = in + mask ∘ out(attention(LN1(in))).
            var dOutProj = UnsafePointer(dX.pointer)
            if dropout.encoder > 0 {
                multiply(dX.pointer, a.attMask.pointer, count: rows * d, into: dTmp.pointer)
                dOutProj = UnsafePointer(dTmp.pointer)
            }
            linearBackward(x: a.att.pointer, dy: dOutProj, packedTransposed: pw.out.backward.pointer, rows: rows, inner: d, outer: d,
                           dWeight: grads[p + "attention.out.weight"].pointer, dBias: grads[p + "attention.out.bias"].pointer,
                           dx: dAtt.pointer, accumulateDX: false, scratch: gemmScratch)
            stage?("bwd out")
            raggedAttentionBackward(qkv: a.qkv.pointer, probs: a.probs.pointer, dAtt: dAtt.pointer, layout: layout,
                                    heads: c.heads, headDim: hd, dQKV: dQKV.pointer, scratch: attScratch.pointer)
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
        // Embeddings.
        if dropout.encoder > 0 { multiply(dX.pointer, embMask.pointer, count: rows * d, into: dX.pointer) }
        let dPos = grads["position_embedding.weight"].pointer
        for (s, ex) in examples.enumerated() {
            let off = layout.offsets[s]
            for (t, id) in ex.tokenIDs.enumerated() {
                let g = dX.pointer + (off + t) * d
                add(g, count: d, into: dPos + t * d)
                add(g, count: d, into: grads.tokens.row(Int(id)))
            }
        }
        stage?("bwd embeddings")
        return loss
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
