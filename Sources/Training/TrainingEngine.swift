import Kernels
import Dispatch
import Foundation
import Model

/// What one optimizer step did.
public struct StepResult: Sendable {
    /// Mean loss of the batch (Σ over heads of weight · mean cross-entropy of the labelled examples).
    public var loss: Double
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
    /// Learning rate used for the dense parameters.
    public var learningRate: Float
}

/// Forward + backward + AdamW over a batch, data-parallel over `threads`
/// workers. The building block of ``Trainer``; also used directly by
/// benchmarks. Updates the weights it was created with, in place.
///
/// Each step: the batch is cut into contiguous shards of about equal token
/// count, one per worker; each worker runs forward and backward into its own
/// gradients; the gradients are reduced in worker order (fixed, so results do
/// not depend on thread timing); the global norm is clipped; AdamW updates
/// the dense parameters (decoupled weight decay on linear weights only), the
/// token embedding (dense, or lazily on touched rows) and the touched rows of
/// the sparse table; the forward copies of the linear weights are re-packed.
/// Reduction, update and packing are split across the same threads.
public final class TrainingEngine {
    public let config: ClassifierConfig
    public let options: TrainingOptions
    /// The weights being trained (updated in place by ``step(_:learningRate:sparseLearningRate:)``).
    public let weights: ClassifierWeights
    /// Optimizer steps taken.
    public private(set) var stepCount = 0

    let workers: [ShardWorker]
    let packed: PackedClassifier
    private let threads: Int
    private let headWeights: [Float]
    private let classWeights: [[Float]]

    // Optimizer state.
    private struct DenseParameter {
        let name: String
        let value: Tensor
        let state: AdamState
        let decay: Bool
        let packIndex: Int?
    }
    private let denseParams: [DenseParameter]
    private let tokenState: AdamState
    private let sparseState: AdamState?
    /// Work items for the parallel reduction/update: (dense parameter index, element range).
    private let chunks: [(param: Int, range: Range<Int>)]

    /// - Parameters:
    ///   - weights: the parameters to train (their tensors are updated in place).
    public init(weights: ClassifierWeights, options: TrainingOptions) throws {
        try options.validate()
        do { try weights.config.validate() } catch { throw TrainingError.invalidConfig("\(error)") }
        config = weights.config
        self.options = options
        self.weights = weights
        threads = max(1, options.threads)
        workers = (0..<threads).map { _ in ShardWorker(config: weights.config) }
        packed = PackedClassifier(weights)
        headWeights = config.heads.map { options.headWeights[$0.name] ?? 1 }
        for name in options.headWeights.keys where !config.heads.contains(where: { $0.name == name }) {
            throw TrainingError.invalidOptions("head weight for unknown head '\(name)'")
        }
        classWeights = config.heads.map { options.classWeights?[$0.name] ?? [] }
        for (name, ws) in options.classWeights ?? [:] {
            guard let head = config.heads.first(where: { $0.name == name }) else {
                throw TrainingError.invalidOptions("class weights for unknown head '\(name)'")
            }
            if ws.count != head.classes {
                throw TrainingError.invalidOptions("\(ws.count) class weights for head '\(name)' of \(head.classes) classes")
            }
        }

        var params: [DenseParameter] = []
        var packIndex: [ObjectIdentifier: Int] = [:]
        for (i, pair) in packed.pairs.enumerated() { packIndex[ObjectIdentifier(pair.source)] = i }
        for (name, t) in weights.namedTensors where name != Gradients.tokenName && name != Gradients.sparseName {
            // Decay linear weights only: 2-D tensors that are not embeddings.
            let decay = t.shape.count == 2 && !name.contains("embedding")
            params.append(DenseParameter(name: name, value: t, state: AdamState(like: t), decay: decay,
                                         packIndex: packIndex[ObjectIdentifier(t)]))
        }
        denseParams = params
        tokenState = AdamState(like: weights.encoder.tokenEmbedding)
        sparseState = (weights.sparseEmbedding != nil && options.sparseOptimizer == .lazyAdam) ? AdamState(like: weights.sparseEmbedding!) : nil
        var chunks: [(Int, Range<Int>)] = []
        let chunkSize = 1 << 15
        for (i, p) in params.enumerated() {
            var s = 0
            while s < p.value.count {
                chunks.append((i, s..<min(p.value.count, s + chunkSize)))
                s += chunkSize
            }
        }
        self.chunks = chunks
    }

    /// Validates examples against the config (see ``PreparedExample/init(_:config:set:index:)``).
    public func prepare(_ examples: [TrainingExample], set: String = "train") throws -> [PreparedExample] {
        try examples.enumerated().map { try PreparedExample($1, config: config, set: set, index: $0) }
    }

    /// Contiguous shard ranges of about equal token count (deterministic in the batch).
    func shardRanges(_ batch: ArraySlice<PreparedExample>) -> [Range<Int>] {
        let n = batch.count
        let count = max(1, min(threads, n))
        if count == 1 { return [batch.startIndex..<batch.endIndex] }
        let cost = batch.map { $0.tokenIDs.count + 4 }
        let total = cost.reduce(0, +)
        var ranges: [Range<Int>] = []
        var start = 0, acc = 0
        for i in 0..<n {
            acc += cost[i]
            let remainingShards = count - ranges.count - 1
            if remainingShards > 0, acc * count >= total * (ranges.count + 1), n - (i + 1) >= remainingShards {
                ranges.append((batch.startIndex + start)..<(batch.startIndex + i + 1))
                start = i + 1
            }
        }
        if start < n { ranges.append((batch.startIndex + start)..<batch.endIndex) }
        return ranges
    }

    /// Runs `body(t)` for t in 0..<count on up to `threads` threads (the calling thread included).
    private func parallel(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || threads == 1 {
            for i in 0..<count { body(i) }
        } else {
            concurrentPerform(count, body)
        }
    }

    /// One optimizer step on `batch`.
    ///
    /// - Parameters:
    ///   - learningRate: dense learning rate for this step (the caller applies the schedule).
    ///   - sparseLearningRate: learning rate of the sparse table for this step.
    /// - Throws: ``TrainingError/diverged(step:)`` if the loss is not finite
    ///   (the weights are then left untouched).
    @discardableResult
    public func step(_ batch: ArraySlice<PreparedExample>, learningRate: Float, sparseLearningRate: Float) throws -> StepResult {
        precondition(!batch.isEmpty, "TrainingEngine.step: empty batch")
        let shards = shardRanges(batch)
        let loss = forwardBackward(batch, shards: shards)
        stage?("workers (forward + backward)")
        if !loss.isFinite { throw TrainingError.diverged(step: stepCount) }
        let norm = reduceGradients(workersUsed: shards.count)
        if !norm.isFinite { throw TrainingError.diverged(step: stepCount) }
        stage?("reduce + norm")
        let clip: Float = options.clipNorm > 0 && norm > Double(options.clipNorm) ? Float(Double(options.clipNorm) / norm) : 1

        stepCount += 1
        let t = Float(stepCount)
        let adam = AdamStep(learningRate: learningRate, weightDecay: options.weightDecay, beta1: options.beta1, beta2: options.beta2,
                            epsilon: options.adamEpsilon, gradientScale: clip,
                            biasCorrection1: 1 - Foundation.pow(options.beta1, t), biasCorrection2: 1 - Foundation.pow(options.beta2, t))
        updateDense(adam)
        stage?("adamw dense")
        updateTokenEmbedding(adam)
        stage?("adamw token embedding")
        updateSparseTable(adam, learningRate: sparseLearningRate, clip: clip)
        stage?("sparse table update")
        // Re-pack the forward copies of the linear weights.
        let packCount = packed.pairs.count
        parallel(min(threads, packCount)) { part in
            self.packed.repack(tensorsAt: Array(stride(from: part, to: packCount, by: self.threads)))
        }
        stage?("re-pack weights")
        return StepResult(loss: loss, gradientNorm: norm, learningRate: learningRate)
    }

    /// Forward and backward of every shard, one worker each, in parallel;
    /// returns the batch loss.
    private func forwardBackward(_ batch: ArraySlice<PreparedExample>, shards: [Range<Int>]) -> Double {
        let scales = headScales(batch)
        let dropout = DropoutRates(encoder: options.dropout, sparse: config.sparse == nil ? 0 : options.sparseDropout,
                                   hidden: config.hiddenWidth > 0 ? options.hiddenDropout : 0)
        var sm = SplitMix64(seed: options.seed ^ 0xD50F_0000_0000_0000 &+ UInt64(stepCount))
        let maskSeed = sm.next()
        var losses = [Double](repeating: 0, count: shards.count)
        losses.withUnsafeMutableBufferPointer { lp in
            guard let lossesPointer = lp.baseAddress else { return }
            parallel(shards.count) { s in
                let r = shards[s]
                lossesPointer[s] = workers[s].run(batch[r], firstIndex: r.lowerBound - batch.startIndex, weights: weights,
                                                  packed: packed, headScales: scales, classWeights: classWeights,
                                                  labelSmoothing: options.labelSmoothing, dropout: dropout, maskSeed: maskSeed,
                                                  backward: true)
            }
        }
        return losses.reduce(0, +)
    }

    /// Sums the workers' gradients into worker 0's (in a fixed order) and
    /// returns the global gradient norm.
    private func reduceGradients(workersUsed used: Int) -> Double {
        var squares = [Double](repeating: 0, count: chunks.count)
        let g0 = workers[0].grads
        squares.withUnsafeMutableBufferPointer { sq in
            guard let sqp = sq.baseAddress else { return }
            parallelChunks { c in
                let (pi, range) = chunks[c]
                let dst = g0.dense[pi].tensor.pointer + range.lowerBound
                for w in 1..<max(used, 1) {
                    add(workers[w].grads.dense[pi].tensor.pointer + range.lowerBound, count: range.count, into: dst)
                }
                sqp[c] = sumOfSquares(dst, count: range.count)
            }
        }
        for w in 1..<max(used, 1) {
            g0.tokens.merge(from: workers[w].grads.tokens)
            if let s = g0.sparse, let other = workers[w].grads.sparse { s.merge(from: other) }
        }
        var total = squares.reduce(0, +)
        total += g0.tokens.sumOfSquaresTouched()
        if let s = g0.sparse { total += s.sumOfSquaresTouched() }
        return total.squareRoot()
    }

    /// AdamW on every dense parameter, chunks in parallel.
    private func updateDense(_ adam: AdamStep) {
        let g0 = workers[0].grads
        parallelChunks { c in
            let (pi, range) = chunks[c]
            let p = denseParams[pi]
            let o = range.lowerBound
            adam.update(p.value.pointer + o, p.state.m.pointer + o, p.state.v.pointer + o,
                        g0.dense[pi].tensor.pointer + o, count: range.count, decay: p.decay)
        }
    }

    /// The token embedding: no decay; dense (exact AdamW) or lazy on touched rows.
    private func updateTokenEmbedding(_ adam: AdamStep) {
        let g0 = workers[0].grads
        let d = config.encoder.dModel
        let tok = weights.encoder.tokenEmbedding
        if options.lazyTokenEmbedding {
            for (i, r) in g0.tokens.touched.enumerated() {
                let o = Int(r) * d
                adam.update(tok.pointer + o, tokenState.m.pointer + o, tokenState.v.pointer + o, g0.tokens.slotRow(i), count: d, decay: false)
            }
            return
        }
        let vocab = config.encoder.vocabSize
        let parts = threads
        parallel(parts) { part in
            let lo = vocab * part / parts, hi = vocab * (part + 1) / parts
            for r in lo..<hi {
                let slot = g0.tokens.slot(of: r)
                let o = r * d
                adam.update(tok.pointer + o, self.tokenState.m.pointer + o, self.tokenState.v.pointer + o,
                            slot >= 0 ? UnsafePointer(g0.tokens.slotRow(slot)) : nil, count: d, decay: false)
            }
        }
    }

    /// The n-gram table, touched rows only: AdamW at the sparse learning rate,
    /// or plain SGD (clipped) when the table has no optimizer state.
    private func updateSparseTable(_ adam: AdamStep, learningRate: Float, clip: Float) {
        guard let table = weights.sparseEmbedding, let sg = workers[0].grads.sparse else { return }
        let ds = config.sparseWidth
        if let st = sparseState {
            var adam = adam
            adam.learningRate = learningRate
            for (i, r) in sg.touched.enumerated() {
                let o = Int(r) * ds
                adam.update(table.pointer + o, st.m.pointer + o, st.v.pointer + o, sg.slotRow(i), count: ds, decay: false)
            }
        } else {
            let step = -learningRate * clip
            for (i, r) in sg.touched.enumerated() { addScaled(sg.slotRow(i), scale: step, count: ds, into: table.pointer + Int(r) * ds) }
        }
    }

    private var stage: ((String) -> Void)?

    /// Time per stage of a step on `batch` in milliseconds: the minimum over
    /// `iterations` steps (after 3 warm-up steps) of the calling thread's CPU
    /// time (`CLOCK_THREAD_CPUTIME_ID`), robust to other processes on a shared
    /// machine; with several threads, wall time. With one thread the worker's forward and backward
    /// stages are listed; with more, the worker phase is one entry. Updates
    /// the weights (use a throwaway engine).
    public func stageProfile(_ batch: ArraySlice<PreparedExample>, iterations: Int) throws -> [(stage: String, milliseconds: Double)] {
        var order: [String] = []
        var best: [String: UInt64] = [:]
        var current: [String: UInt64] = [:]
        let cpuClock = threads == 1
        func now() -> UInt64 {
            if cpuClock {
                var ts = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
                return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
            }
            return DispatchTime.now().uptimeNanoseconds
        }
        var last = now()
        let hook: (String) -> Void = { name in
            let now = now()
            if current[name] == nil && !order.contains(name) { order.append(name) }
            current[name, default: 0] += now - last
            last = now
        }
        if threads == 1 { workers[0].stage = hook }
        stage = hook
        defer { workers[0].stage = nil; stage = nil }
        for i in 0..<(iterations + 3) {
            current = [:]
            last = now()
            try step(batch, learningRate: 1e-4, sparseLearningRate: 1e-3)
            if i < 3 { continue }
            for (name, ns) in current { best[name] = min(best[name] ?? .max, ns) }
        }
        return order.compactMap { name in best[name].map { (name, Double($0) / 1e6) } }
    }

    /// Runs `body` over every chunk index, chunks split across the threads.
    private func parallelChunks(_ body: (Int) -> Void) {
        let n = chunks.count
        if threads == 1 {
            for c in 0..<n { body(c) }
            return
        }
        let parts = threads
        concurrentPerform(parts) { part in
            var c = part
            while c < n { body(c); c += parts }
        }
    }

    /// Loss weight of one labelled example of class weight 1, per head: head
    /// weight / total class weight of the examples labelled for that head.
    private func headScales(_ examples: ArraySlice<PreparedExample>) -> [Float] {
        var totals = [Float](repeating: 0, count: config.heads.count)
        for ex in examples {
            for k in 0..<totals.count where ex.labels[k] >= 0 {
                totals[k] += classWeights[k].isEmpty ? 1 : classWeights[k][Int(ex.labels[k])]
            }
        }
        return (0..<totals.count).map { totals[$0] > 0 ? headWeights[$0] / totals[$0] : 0 }
    }

    /// Loss and gradient of every parameter (canonical names, dense tensors,
    /// embedding tables included) on `examples`, without dropout and without
    /// an update. For checks against other implementations.
    public func lossAndGradients(_ examples: ArraySlice<PreparedExample>) -> (loss: Double, gradients: [(name: String, tensor: Tensor)]) {
        let scales = headScales(examples)
        let worker = workers[0]
        let loss = worker.run(examples, firstIndex: 0, weights: weights, packed: packed, headScales: scales,
                              classWeights: classWeights, labelSmoothing: options.labelSmoothing, dropout: DropoutRates(), maskSeed: 0, backward: true)
        var out: [(String, Tensor)] = []
        for (name, t) in weights.namedTensors {
            let g = Tensor(shape: t.shape)
            if name == Gradients.tokenName || name == Gradients.sparseName {
                let rg = name == Gradients.tokenName ? worker.grads.tokens : worker.grads.sparse!
                for (i, r) in rg.touched.enumerated() { (g.pointer + Int(r) * rg.width).update(from: rg.slotRow(i), count: rg.width) }
            } else {
                g.pointer.update(from: worker.grads[name].pointer, count: g.count)
            }
            out.append((name, g))
        }
        return (loss, out)
    }

    /// Mean loss of `examples` with the current weights and no dropout (no update).
    public func loss(_ examples: ArraySlice<PreparedExample>) -> Double {
        if examples.isEmpty { return 0 }
        let scales = headScales(examples)
        return workers[0].run(examples, firstIndex: 0, weights: weights, packed: packed, headScales: scales,
                              classWeights: classWeights, labelSmoothing: options.labelSmoothing, dropout: DropoutRates(), maskSeed: 0, backward: false)
    }
}

/// `DispatchQueue.concurrentPerform` for a non-`Sendable` body: the callers
/// hand each iteration disjoint memory (their own worker, chunk or row range).
func concurrentPerform(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { escapable in
        nonisolated(unsafe) let f = escapable
        DispatchQueue.concurrentPerform(iterations: count) { f($0) }
    }
}
