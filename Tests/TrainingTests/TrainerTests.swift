import Foundation
import Testing
@testable import Model
@testable import Training
import TestSupport

/// A tiny config for learning tests in debug builds.
func learnConfig(sparse: SparseBranchConfig? = nil, hidden: Int = 0) -> ClassifierConfig {
    ClassifierConfig(
        encoder: EncoderConfig(vocabSize: 30, dModel: 16, heads: 2, layers: 1, ffnWidth: 32, maxLength: 12, outputHeads: []),
        sparse: sparse, hiddenWidth: hidden,
        heads: [OutputHeadSpec(name: "intent", classes: 2), OutputHeadSpec(name: "priority", classes: 2)])
}

/// "Does the sequence contain token 7?" (intent), and for half of the
/// examples "is the first token even?" (priority; the rest have no priority label).
func containsSevenData(count: Int, seed: UInt64, sparse: Bool = false) -> [TrainingExample] {
    var rng = Xoshiro256(seed: seed)
    return (0..<count).map { i in
        let n = 3 + Int(rng.next() % 8)
        var ids = (0..<n).map { _ in Int32(8 + rng.next() % 22) }  // 8 … 29: no 7
        let positive = i % 2 == 0
        if positive { ids[Int(rng.next() % UInt64(n))] = 7 }
        var labels = ["intent": positive ? 1 : 0]
        if i % 4 < 2 { labels["priority"] = Int(ids[0]) % 2 }
        let sv: SparseVector? = sparse ? SparseVector(indices: ids.map { $0 % 13 }, values: ids.map { _ in 1 }) : nil
        return TrainingExample(tokenIDs: ids, sparse: sv, labels: labels)
    }
}

func accuracy(_ model: IntentClassifier, _ data: [TrainingExample], head: String) throws -> Double {
    let sparse: [SparseVector]? = model.config.sparse == nil ? nil : data.map { $0.sparse ?? .empty }
    let p = try model.predict(tokenIDs: data.map(\.tokenIDs), sparse: sparse, threads: 1)
    let (pred, actual) = ValidationMetric.pairs(p, data, head: head)
    return ClassificationMetrics.accuracy(predicted: pred, actual: actual)
}

@Test("learns a synthetic task (contains token 7) to high accuracy in a few hundred steps")
func learnsSyntheticTask() throws {
    let train = containsSevenData(count: 480, seed: 1), validation = containsSevenData(count: 200, seed: 2)
    var options = TrainingOptions()
    options.epochs = 6
    options.batchSize = 16
    options.learningRate = 3e-3
    options.dropout = 0
    options.labelSmoothing = 0
    options.patience = 0
    options.threads = 2
    let trainer = try Trainer(config: learnConfig(), options: options)
    var steps = 0, epochEnds = 0
    let (model, report) = try trainer.train(train: train, validation: validation) { p in
        if p.event == .step { steps += 1 } else { epochEnds += 1 }
        #expect(p.etaSeconds >= 0 && p.step <= p.totalSteps)
    }
    #expect(steps == 180 && report.steps == 180 && epochEnds == 6)
    #expect(report.epochs.first!.trainLoss > report.epochs.last!.trainLoss)
    let acc = try accuracy(model, validation, head: "intent")
    #expect(acc >= 0.95, "validation accuracy \(acc); epochs: \(report.epochs.map { ($0.trainLoss, $0.validationAccuracy ?? -1) })")
}

@Test("same seed and data give bit-identical weights (2 threads, dropout, sparse branch, hidden layer)")
func reproducible() throws {
    let config = learnConfig(sparse: SparseBranchConfig(buckets: 13, width: 8), hidden: 12)
    let train = containsSevenData(count: 96, seed: 3, sparse: true), validation = containsSevenData(count: 32, seed: 4, sparse: true)
    var options = TrainingOptions()
    options.epochs = 2
    options.batchSize = 16
    options.threads = 2
    func run() throws -> [[Float]] {
        let (model, _) = try Trainer(config: config, options: options).train(train: train, validation: validation)
        return model.weights.namedTensors.map { $0.tensor.array }
    }
    let a = try run(), b = try run()
    #expect(a == b)
    options.seed = 43
    let c = try run()
    #expect(a != c)
}

@Test("training forward pass equals IntentClassifier inference (loss from predicted probabilities)")
func trainingForwardMatchesInference() throws {
    let config = tinyConfig()
    let w = scaledWeights(config, seed: 21)
    var options = TrainingOptions()
    options.labelSmoothing = 0
    options.threads = 1
    let engine = try TrainingEngine(weights: w, options: options)
    let examples = tinyExamples(config, count: 8, seed: 22)
    let trainLoss = engine.loss(examples[...])
    let model = IntentClassifier(weights: w)
    let probs = try model.predict(tokenIDs: examples.map(\.tokenIDs),
                                  sparse: examples.map { SparseVector(indices: $0.sparseIndices, values: $0.sparseValues) }, threads: 2)
    var expected = 0.0
    for (k, head) in config.heads.enumerated() {
        let labelled = examples.enumerated().filter { $0.element.labels[k] >= 0 }
        for (i, ex) in labelled { expected -= Foundation.log(Double(probs[head.name]![i][Int(ex.labels[k])])) / Double(labelled.count) }
    }
    #expect(abs(trainLoss - expected) <= 1e-4 * max(1, abs(expected)), "train \(trainLoss) vs inference \(expected)")
}

@Test("bad examples and options are reported, not crashed on")
func invalidInput() throws {
    let config = learnConfig()
    #expect(throws: TrainingError.emptyTrainingSet) { try Trainer(config: config).train(train: []) }
    let bad: [(TrainingExample, String)] = [
        (TrainingExample(tokenIDs: [1, 99], labels: ["intent": 0]), "outside the vocabulary"),
        (TrainingExample(tokenIDs: Array(repeating: 1, count: 13), labels: ["intent": 0]), "at most 12"),
        (TrainingExample(tokenIDs: [1], labels: ["intent": 2]), "outside [0, 2)"),
        (TrainingExample(tokenIDs: [1], labels: ["mood": 0]), "unknown head 'mood'"),
    ]
    for (ex, fragment) in bad {
        do {
            _ = try Trainer(config: config).train(train: [TrainingExample(tokenIDs: [1], labels: ["intent": 0]), ex])
            Issue.record("no error for \(ex)")
        } catch let e as TrainingError {
            #expect(e.description.contains(fragment), "\(e)")
            #expect(e.description.contains("train example 1"), "\(e)")
        }
    }
    let sparseConfig = learnConfig(sparse: SparseBranchConfig(buckets: 8, width: 4))
    #expect(throws: TrainingError.self) {
        _ = try Trainer(config: sparseConfig).train(train: [TrainingExample(tokenIDs: [1], sparse: SparseVector(indices: [9], values: [1]), labels: [:])])
    }
    var options = TrainingOptions()
    options.dropout = 1
    #expect(throws: TrainingError.self) { _ = try Trainer(config: config, options: options) }
    options = TrainingOptions()
    options.headWeights = ["nope": 1]
    #expect(throws: TrainingError.self) { _ = try TrainingEngine(weights: ClassifierWeights(randomWithConfig: config, seed: 1), options: options) }
    for weights in [["nope": [Float](repeating: 1, count: config.heads[0].classes)], ["intent": [1]],
                    ["intent": [Float](repeating: 0, count: config.heads[0].classes)]] {
        options = TrainingOptions()
        options.classWeights = weights
        #expect(throws: TrainingError.self) { _ = try TrainingEngine(weights: ClassifierWeights(randomWithConfig: config, seed: 1), options: options) }
    }
}

@Test("class weights: equal weights change nothing (weighted mean); a heavier class pulls the loss toward its examples")
func classWeightedLoss() throws {
    let config = tinyConfig()
    let examples = tinyExamples(config, count: 8, seed: 41)
    func loss(_ classWeights: [String: [Float]]?) throws -> Double {
        var options = TrainingOptions()
        options.threads = 1
        options.classWeights = classWeights
        return try TrainingEngine(weights: scaledWeights(config, seed: 42), options: options).loss(examples[...])
    }
    let plain = try loss(nil)
    #expect(abs(try loss(["priority": [2.5, 2.5, 2.5]]) - plain) < 1e-6 * abs(plain))  // float32 scales
    // One head's weighted mean, by hand: only the priority head's share changes.
    let k = 1
    let labelled = examples.filter { $0.labels[k] >= 0 }
    let probe = ShardWorker(config: config)
    let w = scaledWeights(config, seed: 42)
    func share(_ example: PreparedExample) -> Double {
        var scales = [Float](repeating: 0, count: config.heads.count)
        scales[k] = 1
        return probe.run([example][...], firstIndex: 0, weights: w, packed: PackedClassifier(w), headScales: scales,
                         labelSmoothing: 0.1, dropout: DropoutRates(), maskSeed: 0, backward: false)
    }
    let classWeights: [Float] = [4, 1, 1]
    let weighted = labelled.reduce(0.0) { $0 + Double(classWeights[Int($1.labels[k])]) * share($1) }
        / labelled.reduce(0.0) { $0 + Double(classWeights[Int($1.labels[k])]) }
    let unweighted = labelled.reduce(0.0) { $0 + share($1) } / Double(labelled.count)
    let got = try loss(["priority": classWeights])
    #expect(abs((got - plain) - (weighted - unweighted)) < 1e-5 * max(1, abs(plain)))
}

@Test("early stopping keeps the best epoch's weights")
func earlyStopping() throws {
    let train = containsSevenData(count: 64, seed: 5), validation = containsSevenData(count: 32, seed: 6)
    var options = TrainingOptions()
    options.epochs = 30
    options.patience = 2
    options.batchSize = 16
    options.learningRate = 1e-2
    let trainer = try Trainer(config: learnConfig(), options: options)
    // A metric that peaks at epoch 2 and then gets worse forces a stop at epoch 4.
    var calls = 0
    var counter = 0
    var atBest: [String: [[Float]]] = [:]
    trainer.metric = ValidationMetric(name: "peak-at-2") { probabilities, _ in
        counter += 1
        if counter == 2 { atBest = probabilities }
        return counter == 2 ? 1 : 0.5 - Double(counter) * 0.01
    }
    let (model, report) = try trainer.train(train: train, validation: validation) { p in if p.event == .epochEnd { calls += 1 } }
    #expect(report.stoppedEarly && report.epochs.count == 4 && report.bestEpoch == 2 && calls == 4)
    #expect(report.bestMetric == 1)
    // The returned model is epoch 2's: it predicts exactly what was validated then.
    let now = try model.predict(tokenIDs: validation.map(\.tokenIDs), threads: 2)
    #expect(now == atBest)
}
