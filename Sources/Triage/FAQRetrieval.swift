import Foundation
import Model
import Tokenizer

/// FAQ by retrieval, the alternative to one intent per FAQ:
/// a message's FAQ is the one whose known questions are nearest to it by
/// cosine similarity, k nearest questions voting with their similarity.
///
/// Used for measuring (`concierge evaluate --faq-retrieval`; docs/experiments.md,
/// "FAQs by retrieval or by intent"): which FAQ the message is, given that the
/// intent head decided it is an FAQ.
public struct FAQRetrieval: Sendable {
    /// The vector a message is compared by.
    public enum Space: String, CaseIterable, Codable, Sendable {
        /// The classifier's sentence vector: pooled encoder output ⊕ n-gram branch output.
        case sentence
        /// The pooled encoder output only.
        case pooled
        /// The hashed word and character n-gram counts (no learned weights).
        case ngrams
    }

    public let space: Space
    /// Nearest questions that vote.
    public let k: Int
    private let labels: [String]
    private let vectors: [Vector]
    /// Mean of the indexed questions' dense vectors, subtracted before the
    /// cosine (learned vectors share a large common component: uncentred,
    /// every pair of pooled vectors has a cosine above 0.99).
    private let center: [Float]?

    /// A unit-length vector: dense (learned spaces) or sparse (hashed n-grams).
    enum Vector {
        case dense([Float])
        case sparse(SparseFeatures)

        func dot(_ other: Vector) -> Float {
            switch (self, other) {
            case let (.dense(a), .dense(b)):
                var sum: Float = 0
                for i in 0..<min(a.count, b.count) { sum += a[i] * b[i] }
                return sum
            case let (.sparse(a), .sparse(b)):
                return a.dot(b)
            default:
                return 0
            }
        }
    }

    /// Indexes `questions` (texts with their `faq.<id>` labels).
    public init(classifier: TextClassifier, questions: [TextExample], space: Space, k: Int) throws {
        self.space = space
        self.k = max(1, k)
        labels = questions.map(\.intent)
        let raw = try Self.rawVectors(questions.map(\.text), classifier: classifier, space: space)
        if space != .ngrams, case let .dense(first)? = raw.first {
            var mean = [Float](repeating: 0, count: first.count)
            for case let .dense(row) in raw { for (i, value) in row.enumerated() { mean[i] += value } }
            center = mean.map { $0 / Float(raw.count) }
        } else {
            center = nil
        }
        let center = center
        vectors = raw.map { Self.unit($0, center: center) }
    }

    /// The nearest FAQ label of every text, with the best similarity of its questions.
    public func nearest(_ texts: [String], classifier: TextClassifier) throws -> [(label: String, similarity: Float)] {
        try vectors(texts, classifier: classifier).map(vote)
    }

    /// The unit-length (centred) vectors of `texts` in this index's space.
    func vectors(_ texts: [String], classifier: TextClassifier) throws -> [Vector] {
        try Self.rawVectors(texts, classifier: classifier, space: space).map { Self.unit($0, center: center) }
    }

    private func vote(_ query: Vector) -> (label: String, similarity: Float) {
        let scored = vectors.indices.map { (index: $0, similarity: query.dot(vectors[$0])) }
            .sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.index < $1.index }
            .prefix(k)
        var votes: [String: Float] = [:]
        for neighbour in scored { votes[labels[neighbour.index], default: 0] += neighbour.similarity }
        let best = votes.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }
        return (best?.key ?? "", scored.first?.similarity ?? 0)
    }

    static func rawVectors(_ texts: [String], classifier: TextClassifier, space: Space) throws -> [Vector] {
        guard !texts.isEmpty else { return [] }
        switch space {
        case .sentence, .pooled:
            let (tokenIDs, sparse) = classifier.inputs(texts)
            let output = try classifier.model.forward(tokenIDs: tokenIDs, sparse: sparse)
            return (space == .sentence ? output.features : output.pooled).map { .dense($0) }
        case .ngrams:
            guard let featurizer = classifier.featurizer else { return texts.map { _ in .sparse(SparseFeatures()) } }
            return texts.map { .sparse(featurizer.features($0)) }
        }
    }

    static func unit(_ vector: Vector, center: [Float]?) -> Vector {
        switch vector {
        case var .dense(row):
            if let center { for i in row.indices { row[i] -= center[i] } }
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return .dense(norm > 0 ? row.map { $0 / norm } : row)
        case var .sparse(features):
            let norm = features.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { features.values = features.values.map { $0 / norm } }
            return .sparse(features)
        }
    }
}

extension FAQRetrieval {
    /// How retrieval is combined with the intent head.
    public enum Rule: String, CaseIterable, Sendable {
        /// The intent head decides whether the message is an FAQ; retrieval decides which.
        case whichFAQ = "head: is it an FAQ; retrieval: which"
        /// Retrieval decides whenever its best similarity reaches τ; else the head.
        case aboveThreshold = "retrieval when similarity ≥ τ, else head"
    }

    /// One retrieval setting, tuned on validation, and its metrics on the evaluated examples.
    public struct Candidate: Sendable {
        public var space: Space
        public var rule: Rule
        public var k: Int
        public var threshold: Float?
        /// FAQ accuracy (whichFAQ) or intent accuracy (aboveThreshold) on validation, what k and τ were chosen by.
        public var validationScore: Double
        public var validationFAQAccuracy: Double?
        public var metrics: HeldOutMetrics
    }

    /// Neighbour counts tried.
    public static let kChoices = [1, 3, 5, 9]

    /// Every (space, rule), with k (and τ) chosen on `validation`, evaluated on
    /// `examples`. The index is the FAQ questions of `train`.
    public static func compare(classifier: TextClassifier, train: [TextExample], validation: [TextExample],
                               examples: [TextExample], serviceCategories: Set<String>) throws -> [Candidate] {
        let questions = train.filter { $0.intent.hasPrefix("faq.") }
        let headValidation = try classifier.classify(validation.map(\.text))
        let headExamples = try classifier.classify(examples.map(\.text))
        func metrics(_ predictions: [TextPrediction], _ gold: [TextExample]) throws -> HeldOutMetrics {
            try HeldOutMetrics.evaluate(predictions: predictions, on: gold, outOfScopeLabel: classifier.settings.outOfScopeLabel,
                                        serviceCategories: serviceCategories)
        }
        var candidates: [Candidate] = []
        for space in Space.allCases {
            var index = try FAQRetrieval(classifier: classifier, questions: questions, space: space, k: 1)
            let validationVectors = try index.vectors(validation.map(\.text), classifier: classifier)
            let exampleVectors = try index.vectors(examples.map(\.text), classifier: classifier)
            for rule in Rule.allCases {
                var best: (score: Double, k: Int, threshold: Float?, validation: HeldOutMetrics)?
                for k in kChoices {
                    index = FAQRetrieval(copying: index, k: k)
                    let nearest = validationVectors.map(index.vote)
                    // Highest τ first, so ties keep the most conservative (∞ = the head alone).
                    let thresholds: [Float?] = rule == .whichFAQ ? [nil]
                        : ([Float.infinity] + Set(nearest.map(\.similarity)).sorted(by: >)).map { Optional($0) }
                    for threshold in thresholds {
                        let predicted = apply(rule, threshold: threshold, head: headValidation, nearest: nearest)
                        let result = try metrics(predicted, validation)
                        let score = rule == .whichFAQ ? (result.faqAccuracy ?? 0) : result.intent.accuracy
                        if best == nil || score > best!.score + 1e-12 { best = (score, k, threshold, result) }
                    }
                }
                guard let best else { continue }
                index = FAQRetrieval(copying: index, k: best.k)
                let predicted = apply(rule, threshold: best.threshold, head: headExamples, nearest: exampleVectors.map(index.vote))
                candidates.append(Candidate(space: space, rule: rule, k: best.k, threshold: best.threshold, validationScore: best.score,
                                            validationFAQAccuracy: best.validation.faqAccuracy,
                                            metrics: try metrics(predicted, examples)))
            }
        }
        return candidates
    }

    static func apply(_ rule: Rule, threshold: Float?, head: [TextPrediction],
                      nearest: [(label: String, similarity: Float)]) -> [TextPrediction] {
        zip(head, nearest).map { prediction, nearest in
            var prediction = prediction
            let retrieve = switch rule {
            case .whichFAQ: prediction.intent.hasPrefix("faq.")
            case .aboveThreshold: nearest.similarity >= (threshold ?? .infinity)
            }
            if retrieve {
                prediction.intent = nearest.label
                prediction.outOfScope = false
            }
            return prediction
        }
    }

    /// The same index with another k.
    init(copying other: FAQRetrieval, k: Int) {
        space = other.space
        self.k = max(1, k)
        labels = other.labels
        vectors = other.vectors
        center = other.center
    }
}
