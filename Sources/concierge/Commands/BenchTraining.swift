import ArgumentParser
import Dispatch
import Foundation
import Model
import Training

/// `concierge bench training`: training throughput (forward + backward +
/// AdamW) of the intent classifier, and a small learning sanity run.
struct BenchTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Training throughput (sequences/s, forward + backward + AdamW) on the small config.",
        discussion: """
            Build with -c release. Random token ids, batch 32 × length 32, heads intent (70) and priority (4, labelled \
            on half of the examples), dropout 0.1, label smoothing 0.1, clipping at 1. Prints sequences/s on 1 and 2 \
            threads. scripts/training_bench_compare.py runs the same config in PyTorch, interleaved. \
            --learn instead trains on a synthetic task and prints the loss and validation accuracy per epoch.
            """
    )

    @Option(help: "Threads to measure (repeatable).")
    var threads: [Int] = [1, 2]

    @Option(help: "Batch size.")
    var batch: Int = 32

    @Option(help: "Tokens per sequence.")
    var length: Int = 32

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 3

    @Option(help: "Dropout (encoder, sparse, hidden).")
    var dropout: Float = 0.1

    @Option(help: "Add a sparse branch with this many buckets (0: none).")
    var sparseBuckets: Int = 0

    @Option(help: "Sparse features per example (with --sparse-buckets).")
    var sparseFeatures: Int = 60

    @Option(help: "Hidden layer width (0: none).")
    var hidden: Int = 0

    @Flag(help: "Sparse table: plain SGD instead of lazy Adam.")
    var sparseSGD = false

    @Flag(help: "Sparse branch without layer norm.")
    var sparseNoNorm = false

    @Flag(help: "Sparse branch with GELU.")
    var sparseGELU = false

    @Option(help: "Peak learning rate of the sparse table (default: TrainingOptions).")
    var sparseLearningRate: Float?

    @Option(help: "Peak learning rate (default: TrainingOptions).")
    var learningRate: Float?

    @Flag(help: "Update only the touched rows of the token embedding (lazy Adam).")
    var lazyTokenEmbedding = false

    @Option(help: "Seed of weights and data.")
    var seed: UInt64 = 42

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Train on a synthetic task and print the loss per epoch instead of measuring throughput.")
    var learn = false

    @Flag(help: "Also print the time per stage of a step (1 thread) and per phase (2 threads).")
    var stages = false

    @Flag(help: "Print GFLOP/s of the forward and backward matrix products instead (1 thread).")
    var kernels = false

    @Option(help: .hidden) var parityDir: String?

    @Option(help: "With --learn: epochs.")
    var epochs: Int = 8

    func run() throws {
        #if DEBUG
        if !json { print("warning: debug build; measure with `swift run -c release concierge bench training`") }
        #endif
        let sparse = sparseBuckets > 0
            ? SparseBranchConfig(buckets: sparseBuckets, width: 64, layerNorm: !sparseNoNorm, activation: sparseGELU ? .gelu : .none) : nil
        let config = ClassifierConfig.small(heads: [OutputHeadSpec(name: "intent", classes: 70), OutputHeadSpec(name: "priority", classes: 4)],
                                            sparse: sparse, hiddenWidth: hidden)
        if learn {
            try learnRun(config: config)
            return
        }
        if let parityDir {
            try writeParityFiles(directory: URL(fileURLWithPath: parityDir))
            return
        }
        if kernels {
            for (name, gflops) in TrainingDiagnostics.gemmThroughput() {
                print(String(format: "  %-52@ %6.1f GFLOP/s", name as NSString, gflops))
            }
            return
        }
        let examples = syntheticBatch(config: config, sparse: sparse)
        var results: [String: Any] = [:]
        if !json {
            print("small config (D \(config.encoder.dModel), \(config.encoder.layers) layers, FFN \(config.encoder.ffnWidth), vocab \(config.encoder.vocabSize)), heads intent 70 + priority 4"
                  + (sparse.map { ", sparse \($0.buckets) × \($0.width)" } ?? "") + (hidden > 0 ? ", hidden \(hidden)" : ""))
            print("batch \(batch) × length \(length), forward + backward + AdamW, dropout \(dropout):")
        }
        for t in threads {
            results[String(t)] = try measure(threads: t, config: config, examples: examples)
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["swift": results], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// A random batch of `batch` sequences of `length` tokens, half with a priority label.
    private func syntheticBatch(config: ClassifierConfig, sparse: SparseBranchConfig?) -> [TrainingExample] {
        var rng = Xoshiro256(seed: seed &+ 1)
        return (0..<batch).map { i in
            let ids = (0..<length).map { _ in Int32(rng.next() % UInt64(config.encoder.vocabSize)) }
            var labels = ["intent": Int(rng.next() % 70)]
            if i % 2 == 0 { labels["priority"] = Int(rng.next() % 4) }
            let sv = sparse.map { s in
                SparseVector(indices: (0..<sparseFeatures).map { _ in Int32(rng.next() % UInt64(s.buckets)) },
                             values: Array(repeating: 1 / Float(sparseFeatures).squareRoot(), count: sparseFeatures))
            }
            return TrainingExample(tokenIDs: ids, sparse: sv, labels: labels)
        }
    }

    /// Steps on `examples` with `threads` threads for `seconds` (after 5 warm-up
    /// steps), printing the figures (and the stage profile with `--stages`);
    /// returns them for `--json`.
    private func measure(threads t: Int, config: ClassifierConfig, examples: [TrainingExample]) throws -> [String: Any] {
        var options = TrainingOptions()
        options.threads = t
        options.seed = seed
        options.dropout = dropout
        options.sparseDropout = dropout
        options.hiddenDropout = dropout
        options.lazyTokenEmbedding = lazyTokenEmbedding
        let engine = try TrainingEngine(weights: ClassifierWeights(randomWithConfig: config, seed: seed), options: options)
        let prepared = try engine.prepare(examples)
        for _ in 0..<5 { try engine.step(prepared[...], learningRate: 1e-4, sparseLearningRate: 1e-3) }
        var steps = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        let cpu0 = processCPUSeconds()
        var elapsed = 0.0
        var lastLoss = 0.0
        repeat {
            lastLoss = try engine.step(prepared[...], learningRate: 1e-4, sparseLearningRate: 1e-3).loss
            steps += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        } while elapsed < seconds
        let cpu = processCPUSeconds() - cpu0
        let seqPerSec = Double(steps * batch) / elapsed
        if stages && !json {
            let profileEngine = try TrainingEngine(weights: ClassifierWeights(randomWithConfig: config, seed: seed), options: options)
            let profile = try profileEngine.stageProfile(prepared[...], iterations: 20)
            var merged: [(String, Double)] = []
            for (name, ms) in profile {
                if let i = merged.firstIndex(where: { $0.0 == name }) { merged[i].1 += ms } else { merged.append((name, ms)) }
            }
            let sum = merged.reduce(0) { $0 + $1.1 }
            print("  stages, \(t) thread\(t == 1 ? "" : "s") (fastest of 20 steps per stage; sum \(String(format: "%.2f", sum)) ms/step):")
            for (name, ms) in merged {
                print(String(format: "    %-42@ %8.3f ms  %5.1f%%", name as NSString, ms, 100 * ms / sum))
            }
        }
        if !json {
            print(String(format: "  %d thread%@: %8.0f sequences/s  (%.2f ms/step, %d steps, loss %.3f; %.0f sequences per CPU-second, got %.2f CPUs)",
                         t, t == 1 ? " " : "s", seqPerSec, elapsed * 1000 / Double(steps), steps, lastLoss,
                         Double(steps * batch) / cpu, cpu / elapsed))
        }
        return ["seq_per_s": seqPerSec, "ms_per_step": elapsed * 1000 / Double(steps), "steps": steps,
                "seq_per_cpu_s": Double(steps * batch) / cpu, "cpu_share": cpu / elapsed]
    }

    /// CPU time of the whole process (all threads), seconds.
    private func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Hashed unigram and bigram features of token ids, each weighted 1/√count.
    private func hashedNGrams(_ ids: [Int32], buckets: Int) -> SparseVector {
        var indices: [Int32] = []
        for (i, id) in ids.enumerated() {
            var h = SplitMix64(seed: UInt64(UInt32(bitPattern: id)))
            indices.append(Int32(h.next() % UInt64(buckets)))
            if i > 0 {
                var h2 = SplitMix64(seed: UInt64(UInt32(bitPattern: ids[i - 1])) << 32 | UInt64(UInt32(bitPattern: id)))
                indices.append(Int32(h2.next() % UInt64(buckets)))
            }
        }
        let v = 1 / Float(max(indices.count, 1)).squareRoot()
        return SparseVector(indices: indices, values: Array(repeating: v, count: indices.count))
    }

    /// For scripts/training_parity.py: a small random classifier (sparse
    /// branch with LN + GELU, hidden layer, two heads), a ragged batch with
    /// head masks, and Swift's loss and gradients (no dropout, smoothing 0.1).
    private func writeParityFiles(directory: URL) throws {
        let config = ClassifierConfig(
            encoder: EncoderConfig(vocabSize: 50, dModel: 32, heads: 2, layers: 2, ffnWidth: 48, maxLength: 16, outputHeads: []),
            sparse: SparseBranchConfig(buckets: 101, width: 16, layerNorm: true, activation: .gelu), hiddenWidth: 24,
            heads: [OutputHeadSpec(name: "intent", classes: 6), OutputHeadSpec(name: "priority", classes: 4)])
        let weights = ClassifierWeights(randomWithConfig: config, seed: seed)
        var rng = Xoshiro256(seed: seed &+ 5)
        for (_, t) in weights.namedTensors { for i in 0..<t.count { t[i] += Float(0.1 * rng.nextNormal()) } }
        let lengths = [16, 1, 7, 11, 3, 9]
        let examples: [TrainingExample] = lengths.enumerated().map { i, n in
            let ids = (0..<n).map { _ in Int32(rng.next() % 50) }
            let sv = SparseVector(indices: (0..<(1 + i)).map { _ in Int32(rng.next() % 101) }, values: (0..<(1 + i)).map { _ in Float(rng.nextUnit()) })
            var labels = ["intent": Int(rng.next() % 6)]
            if i % 2 == 0 { labels["priority"] = Int(rng.next() % 4) }
            return TrainingExample(tokenIDs: ids, sparse: sv, labels: labels)
        }
        var options = TrainingOptions()
        options.threads = 1
        options.labelSmoothing = 0.1
        let engine = try TrainingEngine(weights: weights, options: options)
        let (loss, grads) = engine.lossAndGradients(try engine.prepare(examples)[...])
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try ClassifierCheckpoint(weights: weights, vocabHash: "parity").save(to: directory.appendingPathComponent("model.safetensors"))
        try Safetensors.encode(tensors: grads, metadata: ["loss": String(loss)]).write(to: directory.appendingPathComponent("gradients.safetensors"))
        try JSONEncoder().encode(examples).write(to: directory.appendingPathComponent("examples.json"))
        print("wrote \(directory.path): loss \(loss)")
    }

    /// Synthetic intents: each of 70 intents owns 6 keyword tokens; a message
    /// is 4–24 random filler tokens with 1–3 of its intent's keywords mixed in
    /// (and, 10 % of the time, one keyword of another intent). Priority is a
    /// function of the intent, labelled on half of the examples.
    private func learnRun(config: ClassifierConfig) throws {
        var rng = Xoshiro256(seed: seed)
        let intents = 70, vocab = config.encoder.vocabSize
        let keywords = (0..<intents).map { i in (0..<6).map { Int32(100 + i * 6 + $0) } }
        func make(_ count: Int) -> [TrainingExample] {
            (0..<count).map { i in
                let intent = Int(rng.next() % UInt64(intents))
                var ids = (0..<(4 + Int(rng.next() % 21))).map { _ in Int32(600 + rng.next() % UInt64(vocab - 600)) }
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    ids.insert(keywords[intent][Int(rng.next() % 6)], at: Int(rng.next() % UInt64(ids.count + 1)))
                }
                if rng.next() % 10 == 0 {
                    ids.insert(keywords[Int(rng.next() % UInt64(intents))][0], at: Int(rng.next() % UInt64(ids.count + 1)))
                }
                var labels = ["intent": intent]
                if i % 2 == 0 { labels["priority"] = intent % 4 }
                ids = Array(ids.prefix(config.encoder.maxLength))
                return TrainingExample(tokenIDs: ids, sparse: config.sparse.map { hashedNGrams(ids, buckets: $0.buckets) }, labels: labels)
            }
        }
        let train = make(5000), validation = make(1000)
        var options = TrainingOptions()
        options.sparseOptimizer = sparseSGD ? .sgd : .lazyAdam
        if let sparseLearningRate { options.sparseLearningRate = sparseLearningRate }
        if let learningRate { options.learningRate = learningRate }
        options.epochs = epochs
        options.seed = seed
        options.threads = threads.max() ?? 2
        options.lazyTokenEmbedding = lazyTokenEmbedding
        options.dropout = dropout
        options.patience = 0
        print("synthetic task: \(train.count) train / \(validation.count) validation examples, 70 intents, \(options.threads) threads"
              + (config.sparse.map { ", sparse branch \($0.buckets) × \($0.width) (layer norm \($0.layerNorm), \($0.activation.rawValue)), hashed uni+bigrams, \(options.sparseOptimizer.rawValue) lr \(options.sparseLearningRate)" } ?? ""))
        let trainer = try Trainer(config: config, options: options)
        let (_, report) = try trainer.train(train: train, validation: validation) { p in
            guard p.event == .epochEnd else { return }
            print(String(format: "  epoch %2d/%d  step %5d/%d  loss %.4f  val macro-F1 %.4f  val acc %.4f  elapsed %.1f s  eta %.1f s",
                         p.epoch, p.epochs, p.step, p.totalSteps, p.loss, p.validationMetric ?? .nan,
                         p.validationAccuracy ?? .nan, p.elapsedSeconds, p.etaSeconds))
        }
        print(String(format: "trained %d steps in %.1f s (training steps alone: %.0f sequences/s); best epoch %d",
                     report.steps, report.trainingSeconds, report.sequencesPerSecond, report.bestEpoch))
    }
}
