/// Classification metrics over predicted and true class indices.
public enum ClassificationMetrics {
    /// Fraction of `predicted[i] == actual[i]` (0 for empty input).
    public static func accuracy(predicted: [Int], actual: [Int]) -> Double {
        precondition(predicted.count == actual.count)
        if actual.isEmpty { return 0 }
        return Double(zip(predicted, actual).filter { $0 == $1 }.count) / Double(actual.count)
    }

    /// Macro-averaged F1 over the classes that occur in `actual` or `predicted`
    /// (a class never seen in either does not dilute the mean). Per class:
    /// F1 = 2·TP / (2·TP + FP + FN).
    public static func macroF1(predicted: [Int], actual: [Int]) -> Double {
        precondition(predicted.count == actual.count)
        var tp: [Int: Int] = [:], fp: [Int: Int] = [:], fn: [Int: Int] = [:]
        for (p, a) in zip(predicted, actual) {
            if p == a {
                tp[a, default: 0] += 1
            } else {
                fp[p, default: 0] += 1
                fn[a, default: 0] += 1
            }
        }
        let classes = Set(tp.keys).union(fp.keys).union(fn.keys)
        if classes.isEmpty { return 0 }
        var sum = 0.0
        for c in classes.sorted() {  // a fixed order: the same sum in every process
            let t = Double(tp[c] ?? 0)
            let denominator = 2 * t + Double(fp[c] ?? 0) + Double(fn[c] ?? 0)
            sum += denominator > 0 ? 2 * t / denominator : 0
        }
        return sum / Double(classes.count)
    }

    /// Index of the largest value (first on ties); -1 for an empty row.
    public static func argmax(_ row: [Float]) -> Int {
        var best = -1
        var bestValue = -Float.infinity
        for (i, v) in row.enumerated() where best < 0 || v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }
}

/// A validation metric for early stopping: higher is better. Evaluated on
/// the thread that calls ``Trainer/train(train:validation:progress:)``.
public struct ValidationMetric {
    /// Name for reports and progress output (e.g. "macro-F1(intent)").
    public var name: String
    /// Computes the metric from the classifier's probabilities on the
    /// validation set (head name → one row per example, in order) and the examples.
    public var evaluate: (_ probabilities: [String: [[Float]]], _ examples: [TrainingExample]) -> Double

    /// A metric named `name` computed by `evaluate` (higher is better).
    public init(name: String, evaluate: @escaping (_ probabilities: [String: [[Float]]], _ examples: [TrainingExample]) -> Double) {
        self.name = name
        self.evaluate = evaluate
    }

    /// Predicted and true classes of `head` over the examples that have a label for it.
    public static func pairs(_ probabilities: [String: [[Float]]], _ examples: [TrainingExample], head: String) -> (predicted: [Int], actual: [Int]) {
        guard let rows = probabilities[head] else { return ([], []) }
        var predicted: [Int] = [], actual: [Int] = []
        for (row, ex) in zip(rows, examples) {
            guard let label = ex.labels[head] else { continue }
            predicted.append(ClassificationMetrics.argmax(row))
            actual.append(label)
        }
        return (predicted, actual)
    }

    /// Macro-F1 of `head` on the examples labelled for it (the default, on "intent").
    public static func macroF1(head: String) -> ValidationMetric {
        ValidationMetric(name: "macro-F1(\(head))") { probabilities, examples in
            let (p, a) = pairs(probabilities, examples, head: head)
            return ClassificationMetrics.macroF1(predicted: p, actual: a)
        }
    }

    /// Accuracy of `head` on the examples labelled for it.
    public static func accuracy(head: String) -> ValidationMetric {
        ValidationMetric(name: "accuracy(\(head))") { probabilities, examples in
            let (p, a) = pairs(probabilities, examples, head: head)
            return ClassificationMetrics.accuracy(predicted: p, actual: a)
        }
    }
}
