/// Precision, recall and F1 of one class.
public struct ClassMetrics: Codable, Equatable, Sendable {
    public var label: String
    /// Of the messages predicted as `label`, the share that were (0 when none were predicted).
    public var precision: Double
    /// Of the messages that were `label`, the share predicted as such (0 when there were none).
    public var recall: Double
    /// Harmonic mean of precision and recall (0 when both are 0).
    public var f1: Double
    /// Number of messages whose gold label is `label`.
    public var support: Int
}

/// One cell of the confusion matrix off the diagonal.
public struct Confusion: Codable, Equatable, Sendable {
    public var gold: String
    public var predicted: String
    public var count: Int
}

/// Metrics for an out-of-scope class (CLINC150's `oos`, the pack's `out_of_scope`),
/// as Larson et al. (2019) report them.
public struct OutOfScopeMetrics: Codable, Equatable, Sendable {
    public var label: String
    /// Share of out-of-scope messages predicted out-of-scope.
    public var recall: Double
    /// Share of out-of-scope predictions that were out-of-scope.
    public var precision: Double
    /// Accuracy over the in-scope messages only (an in-scope message predicted
    /// out-of-scope counts as wrong).
    public var inScopeAccuracy: Double
    public var inScopeCount: Int
    public var outOfScopeCount: Int
}

/// Everything `concierge evaluate` reports about one classification head.
public struct ClassificationReport: Codable, Equatable, Sendable {
    public var count: Int
    public var accuracy: Double
    /// Unweighted mean of per-class F1 over every class that occurs in the
    /// gold labels or the predictions (scikit-learn's `average="macro"`).
    public var macroF1: Double
    public var macroPrecision: Double
    public var macroRecall: Double
    /// Per class, sorted by label.
    public var classes: [ClassMetrics]
    /// The most frequent errors, most frequent first (ties by label).
    public var topConfusions: [Confusion]
    /// Expected calibration error: Σ_bins (n_b / n) · |accuracy_b − mean confidence_b|
    /// over equal-width confidence bins of the predicted class's probability.
    public var expectedCalibrationError: Double
    public var calibrationBins: Int
    public var outOfScope: OutOfScopeMetrics?

    /// The metrics of `label`, if it occurred.
    public func metrics(of label: String) -> ClassMetrics? {
        classes.first { $0.label == label }
    }
}

/// Errors from computing metrics on inconsistent inputs.
public struct MetricsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

extension ClassificationReport {
    /// Computes the report.
    ///
    /// - Parameters:
    ///   - gold: the true label of each message.
    ///   - predicted: the predicted label of each message.
    ///   - confidence: the probability the model gave its prediction, in [0, 1]
    ///     (for the calibration error); pass `nil` to skip calibration (reported as 0).
    ///   - outOfScopeLabel: the label meaning "out of scope", if the task has one.
    ///   - confusions: how many of the top confusions to keep.
    ///   - bins: number of equal-width confidence bins for the calibration error.
    public init(gold: [String], predicted: [String], confidence: [Double]? = nil,
                outOfScopeLabel: String? = nil, confusions: Int = 10, bins: Int = 15) throws {
        guard gold.count == predicted.count else {
            throw MetricsError(message: "\(gold.count) gold labels but \(predicted.count) predictions")
        }
        if let confidence, confidence.count != gold.count {
            throw MetricsError(message: "\(gold.count) gold labels but \(confidence.count) confidences")
        }
        guard !gold.isEmpty else { throw MetricsError(message: "no examples to evaluate") }
        let n = gold.count
        count = n
        calibrationBins = bins

        var truePositives: [String: Int] = [:]
        var goldCounts: [String: Int] = [:]
        var predictedCounts: [String: Int] = [:]
        var confusionCounts: [[String]: Int] = [:]
        var correct = 0
        for (truth, guess) in zip(gold, predicted) {
            goldCounts[truth, default: 0] += 1
            predictedCounts[guess, default: 0] += 1
            if truth == guess {
                correct += 1
                truePositives[truth, default: 0] += 1
            } else {
                confusionCounts[[truth, guess], default: 0] += 1
            }
        }
        accuracy = Double(correct) / Double(n)

        let labels = Set(goldCounts.keys).union(predictedCounts.keys).sorted()
        classes = labels.map { label in
            let tp = Double(truePositives[label] ?? 0)
            let predictedCount = Double(predictedCounts[label] ?? 0)
            let support = goldCounts[label] ?? 0
            let precision = predictedCount > 0 ? tp / predictedCount : 0
            let recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return ClassMetrics(label: label, precision: precision, recall: recall, f1: f1, support: support)
        }
        let classCount = Double(classes.count)
        macroF1 = classes.map(\.f1).reduce(0, +) / classCount
        macroPrecision = classes.map(\.precision).reduce(0, +) / classCount
        macroRecall = classes.map(\.recall).reduce(0, +) / classCount

        topConfusions = confusionCounts
            .map { Confusion(gold: $0.key[0], predicted: $0.key[1], count: $0.value) }
            .sorted { ($0.count, $1.gold, $1.predicted) > ($1.count, $0.gold, $0.predicted) }
            .prefix(confusions)
            .map { $0 }

        if let confidence {
            expectedCalibrationError = Self.calibrationError(
                correct: zip(gold, predicted).map { $0 == $1 }, confidence: confidence, bins: bins)
        } else {
            expectedCalibrationError = 0
        }

        if let label = outOfScopeLabel {
            let inScope = gold.indices.filter { gold[$0] != label }
            let outOfScopeIndices = gold.indices.filter { gold[$0] == label }
            let inScopeCorrect = inScope.filter { predicted[$0] == gold[$0] }.count
            let outOfScopeFound = outOfScopeIndices.filter { predicted[$0] == label }.count
            let outOfScopePredicted = predicted.filter { $0 == label }.count
            outOfScope = OutOfScopeMetrics(
                label: label,
                recall: outOfScopeIndices.isEmpty ? 0 : Double(outOfScopeFound) / Double(outOfScopeIndices.count),
                precision: outOfScopePredicted == 0 ? 0 : Double(outOfScopeFound) / Double(outOfScopePredicted),
                inScopeAccuracy: inScope.isEmpty ? 0 : Double(inScopeCorrect) / Double(inScope.count),
                inScopeCount: inScope.count, outOfScopeCount: outOfScopeIndices.count)
        } else {
            outOfScope = nil
        }
    }

    /// Expected calibration error over `bins` equal-width bins of confidence;
    /// a confidence of exactly 1 falls in the last bin. Pairs beyond the
    /// shorter array are ignored; no bins or no pairs give 0.
    public static func calibrationError(correct: [Bool], confidence: [Double], bins: Int) -> Double {
        let pairs = min(correct.count, confidence.count)
        guard bins > 0, pairs > 0 else { return 0 }
        var binCount = [Int](repeating: 0, count: bins)
        var binCorrect = [Int](repeating: 0, count: bins)
        var binConfidence = [Double](repeating: 0, count: bins)
        for (isCorrect, value) in zip(correct, confidence) {
            let clamped = min(max(value, 0), 1)
            let bin = min(Int(clamped * Double(bins)), bins - 1)
            binCount[bin] += 1
            binConfidence[bin] += clamped
            if isCorrect { binCorrect[bin] += 1 }
        }
        let total = Double(pairs)
        var error = 0.0
        for bin in 0..<bins where binCount[bin] > 0 {
            let size = Double(binCount[bin])
            error += size / total * abs(Double(binCorrect[bin]) / size - binConfidence[bin] / size)
        }
        return error
    }
}
