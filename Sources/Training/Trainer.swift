import Dispatch
import Foundation
import Model

/// Where training is, for progress bars. Sent after every optimizer step
/// (`event == .step`) and after every epoch's validation (`.epochEnd`).
public struct TrainingProgress: Sendable {
    /// After an optimizer step, or after an epoch's validation.
    public enum Event: Sendable { case step, epochEnd }
    public var event: Event
    /// 1-based epoch and its bound.
    public var epoch: Int
    public var epochs: Int
    /// Optimizer steps done, and the total planned (all epochs, without early stopping).
    public var step: Int
    public var totalSteps: Int
    /// Mean training loss of the current epoch so far.
    public var loss: Double
    /// Dense learning rate of the last step.
    public var learningRate: Float
    /// Of the last finished epoch (`nil` before the first, or without a validation set).
    public var validationMetric: Double?
    /// Accuracy of the metric's head (default "intent") on the validation set, last finished epoch.
    public var validationAccuracy: Double?
    /// Since `train` started, validation included.
    public var elapsedSeconds: Double
    /// Estimated time left for all planned steps (early stopping may end sooner).
    public var etaSeconds: Double
}

/// One epoch of a ``TrainingReport``.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// 1-based.
    public var epoch: Int
    /// Mean loss of the epoch's steps (with dropout, as trained).
    public var trainLoss: Double
    /// Validation metric (``Trainer/metric``) after the epoch; nil without a validation set.
    public var validationMetric: Double?
    /// Validation accuracy of ``Trainer/accuracyHead``.
    public var validationAccuracy: Double?
    /// Learning rate of the epoch's last step.
    public var learningRate: Float
    /// Wall time of the epoch, validation included.
    public var seconds: Double
}

/// What a training run did.
public struct TrainingReport: Codable, Equatable, Sendable {
    /// ``ValidationMetric/name`` of the early-stopping metric.
    public var metricName: String
    /// One record per epoch run.
    public var epochs: [EpochRecord]
    /// Epoch whose weights were returned (1-based; the last one without validation).
    public var bestEpoch: Int
    /// Metric of the best epoch (nil without validation).
    public var bestMetric: Double?
    /// Whether patience ran out before `epochs`.
    public var stoppedEarly: Bool
    /// Optimizer steps taken.
    public var steps: Int
    /// Wall time of the whole run, validation included.
    public var trainingSeconds: Double
    /// Training examples processed per second (forward + backward + update).
    public var sequencesPerSecond: Double
}

/// Trains an ``IntentClassifier`` from scratch (or from given weights):
/// shuffled mini-batches, AdamW with warm-up and decay, clipping, dropout,
/// data-parallel workers, early stopping on a validation metric, best-epoch
/// weights returned.
///
///     var options = TrainingOptions(); options.epochs = 20
///     let trainer = try Trainer(config: config, options: options, labels: labels, vocabHash: vocab.hash)
///     let (model, report) = try trainer.train(train: trainSet, validation: valSet) { p in bar.update(p) }
///     try model.checkpoint.save(to: url)
///
/// Reproducible: the same seed, data and `threads` give bit-identical weights.
public final class Trainer {
    public let config: ClassifierConfig
    public let options: TrainingOptions
    /// Stored with the trained model (head → class labels); placeholders if nil.
    public var labels: [String: [String]]?
    /// Stored with the trained model.
    public var vocabHash: String
    /// Free-form metadata stored with the trained model (data hash, …).
    public var extra: [String: String]
    /// Early-stopping metric; default: macro-F1 of "intent" (or of the first head if there is no "intent").
    public var metric: ValidationMetric
    /// Head whose accuracy is reported in progress and epoch records.
    public var accuracyHead: String
    private let initialWeights: ClassifierWeights?

    /// - Parameters:
    ///   - labels: head → class labels, stored with the model (placeholders "0", "1", … if nil).
    ///   - initialWeights: start from these (copied) instead of a random init from `options.seed`.
    public init(config: ClassifierConfig, options: TrainingOptions = TrainingOptions(), labels: [String: [String]]? = nil,
                vocabHash: String = "", extra: [String: String] = [:], initialWeights: ClassifierWeights? = nil) throws {
        do { try config.validate() } catch { throw TrainingError.invalidConfig("\(error)") }
        try options.validate()
        if let w = initialWeights, w.config != config { throw TrainingError.invalidConfig("initial weights have another config") }
        self.config = config
        self.options = options
        self.labels = labels
        self.vocabHash = vocabHash
        self.extra = extra
        self.initialWeights = initialWeights
        let head = config.heads.contains { $0.name == "intent" } ? "intent" : config.heads[0].name
        metric = .macroF1(head: head)
        accuracyHead = head
    }

    /// Trains on `train`, validating after every epoch on `validation`
    /// (empty: no early stopping, the last epoch's weights are returned).
    ///
    /// - Parameter progress: called on the training thread after every step and every epoch.
    /// - Throws: ``TrainingError`` for invalid examples or options, or divergence.
    public func train(train: [TrainingExample], validation: [TrainingExample] = [],
                      progress: ((TrainingProgress) -> Void)? = nil) throws -> (IntentClassifier, TrainingReport) {
        if train.isEmpty { throw TrainingError.emptyTrainingSet }
        let weights = initialWeights?.copy() ?? ClassifierWeights(randomWithConfig: config, seed: options.seed)
        let engine = try TrainingEngine(weights: weights, options: options)
        let prepared = try engine.prepare(train, set: "train")
        _ = try engine.prepare(validation, set: "validation")  // validate only
        if let labels {
            do { try ClassifierCheckpoint.validate(labels: labels, for: config) } catch {
                throw TrainingError.invalidConfig("\(error)")
            }
        }
        let classifier = IntentClassifier(weights: weights, labels: labels, vocabHash: vocabHash, extra: extra)
        var run = TrainingRun(examples: prepared.count, options: options)
        var order = Array(prepared.indices)
        var records: [EpochRecord] = []
        var stoppedEarly = false
        for epoch in 1...options.epochs {
            let epochStart = DispatchTime.now().uptimeNanoseconds
            var rng = Xoshiro256(seed: options.seed ^ (0xE90C_0000_0000_0000 &+ UInt64(epoch)))
            order.shuffle(using: &rng)
            var record = try trainEpoch(epoch, order: order, prepared: prepared, engine: engine, run: &run, progress: progress)
            if !validation.isEmpty {
                classifier.weightsDidChange()
                try validate(classifier, on: validation, epoch: epoch, weights: weights, record: &record, run: &run)
            }
            record.seconds = TrainingRun.seconds(since: epochStart)
            records.append(record)
            progress?(run.progress(.epochEnd, epoch: epoch, step: engine.stepCount, loss: record.trainLoss, learningRate: record.learningRate))
            if options.patience > 0 && run.sinceBest >= options.patience && epoch < options.epochs {
                stoppedEarly = true
                break
            }
        }
        if let best = run.best { weights.assign(from: best.weights) }
        classifier.weightsDidChange()
        let trainSeconds = Double(run.trainNanos) / 1e9
        let report = TrainingReport(metricName: metric.name, epochs: records, bestEpoch: run.best?.epoch ?? records.count,
                                    bestMetric: run.best?.metric, stoppedEarly: stoppedEarly, steps: engine.stepCount,
                                    trainingSeconds: TrainingRun.seconds(since: run.start),
                                    sequencesPerSecond: trainSeconds > 0 ? Double(run.sequences) / trainSeconds : 0)
        return (classifier, report)
    }

    /// One pass over the shuffled training examples, a step per batch.
    private func trainEpoch(_ epoch: Int, order: [Int], prepared: [PreparedExample], engine: TrainingEngine, run: inout TrainingRun,
                            progress: ((TrainingProgress) -> Void)?) throws -> EpochRecord {
        let batchSize = options.batchSize
        var lossSum = 0.0, batches = 0
        var lr: Float = 0
        for b in 0..<run.stepsPerEpoch {
            let batch = order[(b * batchSize)..<min(order.count, (b + 1) * batchSize)].map { prepared[$0] }
            let m = run.schedule.multiplier(at: engine.stepCount)
            lr = options.learningRate * m
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = try engine.step(batch[...], learningRate: lr, sparseLearningRate: options.sparseLearningRate * m)
            run.trainNanos += DispatchTime.now().uptimeNanoseconds - t0
            run.sequences += batch.count
            lossSum += result.loss
            batches += 1
            progress?(run.progress(.step, epoch: epoch, step: engine.stepCount, loss: lossSum / Double(batches), learningRate: lr))
        }
        return EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(batches, 1)), validationMetric: nil,
                           validationAccuracy: nil, learningRate: lr, seconds: 0)
    }

    /// The validation metric after an epoch; keeps a copy of the weights when it is the best so far.
    private func validate(_ classifier: IntentClassifier, on validation: [TrainingExample], epoch: Int, weights: ClassifierWeights,
                          record: inout EpochRecord, run: inout TrainingRun) throws {
        let probabilities = try predictAll(classifier, validation)
        let value = metric.evaluate(probabilities, validation)
        let (p, a) = ValidationMetric.pairs(probabilities, validation, head: accuracyHead)
        record.validationMetric = value
        record.validationAccuracy = a.isEmpty ? nil : ClassificationMetrics.accuracy(predicted: p, actual: a)
        run.lastMetric = value
        run.lastAccuracy = record.validationAccuracy
        guard value > (run.best?.metric ?? -.infinity) || run.best == nil else {
            run.sinceBest += 1
            return
        }
        if let old = run.best?.weights {
            old.assign(from: weights)
            run.best = (epoch, value, old)
        } else {
            run.best = (epoch, value, weights.copy())
        }
        run.sinceBest = 0
    }

    /// Probabilities for every example, in batches.
    private func predictAll(_ classifier: IntentClassifier, _ examples: [TrainingExample]) throws -> [String: [[Float]]] {
        var out: [String: [[Float]]] = [:]
        var i = 0
        while i < examples.count {
            let chunk = examples[i..<min(examples.count, i + 256)]
            let sparse: [SparseVector]? = config.sparse == nil ? nil : chunk.map { $0.sparse ?? .empty }
            let p = try classifier.predict(tokenIDs: chunk.map(\.tokenIDs), sparse: sparse, threads: options.threads)
            for (k, v) in p { out[k, default: []].append(contentsOf: v) }
            i += 256
        }
        return out
    }
}

/// The bookkeeping of one training run: the schedule, the best epoch so far
/// (early stopping), the last validation figures, and throughput counters.
private struct TrainingRun {
    let stepsPerEpoch: Int
    let totalSteps: Int
    let schedule: LearningRateSchedule
    let epochs: Int
    let start = DispatchTime.now().uptimeNanoseconds
    var best: (epoch: Int, metric: Double, weights: ClassifierWeights)?
    var sinceBest = 0
    var lastMetric: Double?
    var lastAccuracy: Double?
    var trainNanos: UInt64 = 0
    var sequences = 0

    init(examples: Int, options: TrainingOptions) {
        stepsPerEpoch = (examples + options.batchSize - 1) / options.batchSize
        totalSteps = stepsPerEpoch * options.epochs
        epochs = options.epochs
        schedule = LearningRateSchedule(warmupSteps: Int((Float(totalSteps) * options.warmupFraction).rounded()),
                                        totalSteps: totalSteps, decay: options.decay, floorFraction: options.floorFraction)
    }

    static func seconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }

    /// A progress report at `step` (steps done so far), with the ETA from the pace so far.
    func progress(_ event: TrainingProgress.Event, epoch: Int, step done: Int, loss: Double, learningRate: Float) -> TrainingProgress {
        let elapsed = Self.seconds(since: start)
        return TrainingProgress(event: event, epoch: epoch, epochs: epochs, step: done, totalSteps: totalSteps,
                                loss: loss, learningRate: learningRate, validationMetric: lastMetric,
                                validationAccuracy: lastAccuracy, elapsedSeconds: elapsed,
                                etaSeconds: elapsed / Double(max(done, 1)) * Double(totalSteps - done))
    }
}
