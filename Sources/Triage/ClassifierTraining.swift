import Foundation
import Model
import Tokenizer
import Training

/// A message with the labels a ``TextClassifier`` learns.
public struct TextExample: Codable, Equatable, Sendable {
    public var text: String
    /// Label of the intent head.
    public var intent: String
    /// Label of the priority head (`P1`…`P4`) for service requests; nil = the
    /// priority head learns nothing from this example.
    public var priority: String?

    public init(text: String, intent: String, priority: String? = nil) {
        self.text = text
        self.intent = intent
        self.priority = priority
    }
}

/// Everything that decides what a training run produces: the model shape,
/// the features and the optimisation. Part of the cache key of a trained
/// model, so changing any of it retrains.
public struct TrainingRecipe: Codable, Equatable, Sendable {
    /// The encoder body (vocabulary size is set from the tokenizer).
    public var encoder: EncoderConfig
    /// Width of the sparse n-gram branch (0 = no sparse branch).
    public var sparseWidth: Int
    /// Width of the GELU hidden layer before the heads (0 = none).
    public var hiddenWidth: Int
    public var featurizer: NGramFeaturizerConfig
    /// Tokens per message, [CLS] and [SEP] included.
    public var maxLength: Int
    public var options: TrainingOptions
    /// The out-of-scope threshold is the largest one that costs at most this
    /// much in-scope accuracy on the validation split (absolute, e.g. 0.01 =
    /// one point): an in-scope request wrongly declined is worse for a
    /// resident than an out-of-scope one answered with a category.
    public var outOfScopeAccuracyBudget: Double
    /// The P1 threshold is tuned to reach this P1 recall on validation.
    public var emergencyRecallTarget: Double
    /// Models trained with different seeds whose probabilities are averaged.
    public var ensembleSize: Int = 1
    /// The lowest P1 threshold the tuning may choose.
    public var emergencyThresholdFloor: Double = EmergencyThreshold.minimum
    /// Loss weight of P1 examples in the priority head's cross-entropy
    /// (the other priorities weigh 1; nil = unweighted).
    public var emergencyClassWeight: Float? = nil
    /// The value of a lexicon entry's feature in the sparse branch (nil = the
    /// model reads no lexicon; see ``FeatureLexicon``).
    public var lexiconFeatureWeight: Float? = nil
    /// Share of training examples shown without their lexicon features, so
    /// the model still learns from the words what no lexicon entry covers.
    public var lexiconFeatureDropout: Double = 0.5
    /// False: the encoder is shown no words (every message reads as the
    /// empty one), so only the n-gram branch sees the text — the "n-grams
    /// only" ablation. Nil (the default) means true.
    public var encoderReadsWords: Bool? = nil

    public init(encoder: EncoderConfig, sparseWidth: Int, hiddenWidth: Int, featurizer: NGramFeaturizerConfig,
                maxLength: Int, options: TrainingOptions, outOfScopeAccuracyBudget: Double,
                emergencyRecallTarget: Double = 0.98) {
        self.encoder = encoder
        self.sparseWidth = sparseWidth
        self.hiddenWidth = hiddenWidth
        self.featurizer = featurizer
        self.maxLength = maxLength
        self.options = options
        self.outOfScopeAccuracyBudget = outOfScopeAccuracyBudget
        self.emergencyRecallTarget = emergencyRecallTarget
    }
}

/// What a training run reports besides the model.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var trainExamples: Int
    public var validationExamples: Int
    public var epochsRun: Int
    public var bestEpoch: Int
    public var bestValidationMetric: Double
    public var seconds: Double
    public var sequencesPerSecond: Double
    public var outOfScopeThreshold: Double
    /// Validation in-scope accuracy and out-of-scope recall at the chosen threshold.
    public var validationInScopeAccuracy: Double?
    public var validationOutOfScopeRecall: Double?
    /// The tuned P1 threshold (nil without a priority head or P1 examples).
    public var emergencyThreshold: Double?
}

/// A problem with training inputs.
public struct ClassifierTrainingError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Trains ``TextClassifier``s.
public enum ClassifierTraining {
    /// Trains a classifier on `train`, early-stopping and tuning the
    /// out-of-scope threshold on `validation`.
    ///
    /// - Parameters:
    ///   - outOfScopeLabel: the intent label meaning "out of scope", if any.
    ///   - lexicon: the lexicon whose entries are features, required when the
    ///     recipe has a `lexiconFeatureWeight` (and ignored otherwise).
    ///   - progress: called from the training thread after each step and epoch.
    public static func train(train: [TextExample], validation: [TextExample], tokenizer: WordPieceTokenizer,
                             recipe: TrainingRecipe, outOfScopeLabel: String?, lexicon: (any FeatureLexicon)? = nil,
                             progress: @escaping @Sendable (TrainingProgress) -> Void = { _ in })
        throws -> (classifier: TextClassifier, summary: TrainingSummary)
    {
        guard !train.isEmpty else { throw ClassifierTrainingError(message: "no training examples") }
        guard !validation.isEmpty else { throw ClassifierTrainingError(message: "no validation examples") }
        let intentLabels = Array(Set(train.map(\.intent))).sorted()
        let intentIndex = Dictionary(uniqueKeysWithValues: intentLabels.enumerated().map { ($1, $0) })
        let priorityLabels = Array(Set(train.compactMap(\.priority))).sorted()
        let priorityIndex = Dictionary(uniqueKeysWithValues: priorityLabels.enumerated().map { ($1, $0) })

        var heads = [OutputHeadSpec(name: TextClassifier.intentHead, classes: intentLabels.count)]
        if !priorityLabels.isEmpty {
            heads.append(OutputHeadSpec(name: TextClassifier.priorityHead, classes: priorityLabels.count))
        }
        var encoder = recipe.encoder
        encoder.vocabSize = tokenizer.vocabulary.count
        encoder.maxLength = max(encoder.maxLength, recipe.maxLength)
        let sparse = recipe.sparseWidth > 0 ? SparseBranchConfig(buckets: recipe.featurizer.buckets, width: recipe.sparseWidth) : nil
        let config = ClassifierConfig(encoder: encoder, sparse: sparse, hiddenWidth: recipe.hiddenWidth, heads: heads)
        try config.validate()

        var settings = ClassifierSettings(maxLength: recipe.maxLength, featurizer: sparse == nil ? nil : recipe.featurizer,
                                          outOfScopeLabel: outOfScopeLabel.flatMap { intentIndex[$0] == nil ? nil : $0 },
                                          outOfScopeThreshold: 0)
        if recipe.encoderReadsWords == false {
            guard sparse != nil else {
                throw ClassifierTrainingError(message: "a model whose encoder reads no words needs the n-gram branch")
            }
            settings.encoderReadsWords = false
        }
        if let weight = recipe.lexiconFeatureWeight, sparse != nil {
            guard let lexicon else {
                throw ClassifierTrainingError(message: "the recipe reads lexicon features but no lexicon was given")
            }
            settings.lexicon = LexiconFeatureSettings(fingerprint: lexicon.fingerprint, weight: weight)
        }
        // A throwaway classifier only to reuse its input pipeline.
        let inputModel = try IntentClassifier(config: config, seed: recipe.options.seed)
        let pipeline = TextClassifier(model: inputModel, tokenizer: tokenizer, settings: settings, lexicon: lexicon)
        // The same model reading no lexicon entry: for lexicon dropout, and
        // for tuning the P1 threshold on what no entry covers.
        let muted = settings.lexicon.map { MutedLexicon(fingerprint: $0.fingerprint) }
        let mutedPipeline = TextClassifier(model: inputModel, tokenizer: tokenizer, settings: settings, lexicon: muted)

        func examples(_ texts: [TextExample], lexiconDropout: Double = 0) -> [TrainingExample] {
            var (tokenIDs, sparseVectors) = pipeline.inputs(texts.map(\.text))
            if settings.lexicon != nil && lexiconDropout > 0, var vectors = sparseVectors {
                var random = SplitMix64(seed: recipe.options.seed ^ 0x1E_C5_1C_0F)
                let plain = mutedPipeline.inputs(texts.map(\.text)).sparse ?? vectors
                for index in vectors.indices where Double.random(in: 0..<1, using: &random) < lexiconDropout {
                    vectors[index] = plain[index]
                }
                sparseVectors = vectors
            }
            return texts.indices.map { index in
                var labels: [String: Int] = [:]
                if let intent = intentIndex[texts[index].intent] { labels[TextClassifier.intentHead] = intent }
                if let priority = texts[index].priority, let label = priorityIndex[priority] {
                    labels[TextClassifier.priorityHead] = label
                }
                return TrainingExample(tokenIDs: tokenIDs[index], sparse: sparseVectors?[index], labels: labels)
            }
        }
        let trainExamples = examples(train, lexiconDropout: recipe.lexiconFeatureDropout)
        let validationExamples = examples(validation)

        let started = Date()
        var labels = [TextClassifier.intentHead: intentLabels]
        if !priorityLabels.isEmpty { labels[TextClassifier.priorityHead] = priorityLabels }
        var trainingOptions = recipe.options
        if let weight = recipe.emergencyClassWeight, priorityLabels.contains(ClassifierSettings.emergencyPriority.rawValue) {
            var classWeights = trainingOptions.classWeights ?? [:]
            classWeights[TextClassifier.priorityHead] = priorityLabels.map { $0 == ClassifierSettings.emergencyPriority.rawValue ? weight : 1 }
            trainingOptions.classWeights = classWeights
        }
        let trainer = try Trainer(config: config, options: trainingOptions, labels: labels, vocabHash: tokenizer.vocabulary.hash)
        if !priorityLabels.isEmpty {
            // Stop when neither head improves: the priority head learns more
            // slowly than the intent head, and stopping on intent alone left
            // it half-trained (measured: priority accuracy 53 % vs …).
            let intentF1 = ValidationMetric.macroF1(head: TextClassifier.intentHead)
            let priorityF1 = ValidationMetric.macroF1(head: TextClassifier.priorityHead)
            trainer.metric = ValidationMetric(name: "mean macro-F1(intent, priority)") { probabilities, examples in
                (intentF1.evaluate(probabilities, examples) + priorityF1.evaluate(probabilities, examples)) / 2
            }
        }
        var members: [IntentClassifier] = []
        var reports: [TrainingReport] = []
        for member in 0..<max(1, recipe.ensembleSize) {
            var options = trainingOptions
            options.seed = trainingOptions.seed &+ UInt64(member) &* 1_000_003
            let memberTrainer = try Trainer(config: config, options: options, labels: labels, vocabHash: tokenizer.vocabulary.hash)
            memberTrainer.metric = trainer.metric
            let (model, report) = try memberTrainer.train(train: trainExamples, validation: validationExamples, progress: progress)
            members.append(model)
            reports.append(report)
        }
        let report = reports[0]
        let seconds = Date().timeIntervalSince(started)

        settings.ensembleSize = members.count
        var classifier = TextClassifier(members: members, tokenizer: tokenizer, settings: settings, lexicon: lexicon)
        var summary = TrainingSummary(
            trainExamples: train.count, validationExamples: validation.count, epochsRun: report.epochs.count,
            bestEpoch: report.bestEpoch, bestValidationMetric: report.bestMetric ?? 0, seconds: seconds,
            sequencesPerSecond: reports.map(\.sequencesPerSecond).reduce(0, +) / Double(reports.count), outOfScopeThreshold: 0)

        if let outOfScopeLabel = settings.outOfScopeLabel {
            let rows = try classifier.probabilities(validation.map(\.text))[TextClassifier.intentHead] ?? []
            let tuning = OutOfScopeThreshold.choose(
                rows: rows, gold: validation.map(\.intent), labels: intentLabels,
                outOfScopeLabel: outOfScopeLabel, budget: recipe.outOfScopeAccuracyBudget)
            var tuned = settings
            tuned.outOfScopeThreshold = tuning.threshold
            classifier = TextClassifier(members: members, tokenizer: tokenizer, settings: tuned, lexicon: lexicon)
            summary.outOfScopeThreshold = tuning.threshold
            summary.validationInScopeAccuracy = tuning.inScopeAccuracy
            summary.validationOutOfScopeRecall = tuning.outOfScopeRecall
        }
        if priorityLabels.contains(ClassifierSettings.emergencyPriority.rawValue) {
            let indices = validation.indices.filter { validation[$0].priority != nil }
            // Tuned as if no lexicon entry fired: the messages a safety rule
            // catches are P1 in triage whatever the model says; the threshold
            // is for the ones no rule covers.
            let tuningClassifier = muted.map { TextClassifier(members: members, tokenizer: tokenizer, settings: classifier.settings, lexicon: $0) } ?? classifier
            let rows = try tuningClassifier.probabilities(indices.map { validation[$0].text })[TextClassifier.priorityHead] ?? []
            let p1 = priorityLabels.firstIndex(of: ClassifierSettings.emergencyPriority.rawValue)!
            let threshold = EmergencyThreshold.choose(
                p1Probabilities: rows.map { Double($0[p1]) },
                isEmergency: indices.map { validation[$0].priority == ClassifierSettings.emergencyPriority.rawValue },
                targetRecall: recipe.emergencyRecallTarget, floor: recipe.emergencyThresholdFloor)
            var tuned = classifier.settings
            tuned.emergencyThreshold = threshold
            classifier = TextClassifier(members: members, tokenizer: tokenizer, settings: tuned, lexicon: lexicon)
            summary.emergencyThreshold = threshold
        }
        return (classifier, summary)
    }
}

/// Choosing the P1 threshold on a validation split.
public enum EmergencyThreshold {
    /// The default lowest threshold, so that noise alone never raises an
    /// alarm. (The highest is 0.5: above it arg-max already picks P1.)
    public static let minimum = 0.05

    /// The largest threshold in [`floor`, 0.5] that keeps the validation P1
    /// recall at or above `targetRecall` (nil without P1 examples).
    public static func choose(p1Probabilities: [Double], isEmergency: [Bool], targetRecall: Double,
                              floor: Double = minimum) -> Double? {
        let emergencies = zip(p1Probabilities, isEmergency).filter { $0.1 }.map(\.0).sorted()
        guard !emergencies.isEmpty else { return nil }
        // With the threshold at emergencies[k], the k lowest are missed.
        let allowedMisses = Int((Double(emergencies.count) * (1 - targetRecall)).rounded(.down))
        let threshold = emergencies[min(allowedMisses, emergencies.count - 1)]
        return min(0.5, max(floor, threshold))
    }
}

/// Choosing the out-of-scope threshold on a validation split.
public enum OutOfScopeThreshold {
    /// The largest threshold τ whose in-scope accuracy is within `budget` of
    /// the accuracy at τ = 0 (trained out-of-scope class only). Candidates are
    /// the top probabilities of the validation messages themselves.
    public static func choose(rows: [[Float]], gold: [String], labels: [String], outOfScopeLabel: String,
                              budget: Double) -> (threshold: Double, inScopeAccuracy: Double?, outOfScopeRecall: Double?) {
        guard let outOfScopeIndex = labels.firstIndex(of: outOfScopeLabel), !rows.isEmpty else { return (0, nil, nil) }
        let tops: [(label: Int, probability: Float)] = rows.map { row in
            var best = 0
            for index in row.indices where row[index] > row[best] { best = index }
            return (best, row[best])
        }
        func evaluate(_ threshold: Float) -> (inScope: Double?, recall: Double?) {
            var inScopeCorrect = 0, inScopeCount = 0, outCaught = 0, outCount = 0
            for (top, truth) in zip(tops, gold) {
                let decided = top.label == outOfScopeIndex || top.probability < threshold ? outOfScopeLabel : labels[top.label]
                if truth == outOfScopeLabel {
                    outCount += 1
                    if decided == outOfScopeLabel { outCaught += 1 }
                } else {
                    inScopeCount += 1
                    if decided == truth { inScopeCorrect += 1 }
                }
            }
            return (inScopeCount > 0 ? Double(inScopeCorrect) / Double(inScopeCount) : nil,
                    outCount > 0 ? Double(outCaught) / Double(outCount) : nil)
        }
        let base = evaluate(0)
        guard let baseAccuracy = base.inScope else { return (0, nil, base.recall) }
        var best: (threshold: Float, inScope: Double?, recall: Double?) = (0, base.inScope, base.recall)
        for candidate in Set(tops.map(\.probability)).sorted() {
            let result = evaluate(candidate)
            guard let accuracy = result.inScope else { continue }
            if accuracy >= baseAccuracy - budget - 1e-12 { best = (candidate, accuracy, result.recall) } else { break }
        }
        return (Double(best.threshold), best.inScope, best.recall)
    }
}

/// A lexicon that stands in for another (same fingerprint) but finds nothing:
/// the model's view of a message no entry covers.
struct MutedLexicon: FeatureLexicon {
    var fingerprint: String
    func features(of text: String) -> [String] { [] }
}
