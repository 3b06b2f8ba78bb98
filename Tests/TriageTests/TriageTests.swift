import Foundation
import Model
import Testing
import TestSupport
import Tokenizer
import Training
@testable import Triage

/// A tokenizer learned from the test texts.
let tinyTokenizer: WordPieceTokenizer = {
    let tokens = VocabularyBuilder(targetSize: 300, minimumFrequency: 1).build(texts: tinyTexts.map(\.text) + tinyTexts.map(\.text))
    return WordPieceTokenizer(vocabulary: try! Vocabulary(tokens: tokens))
}()

let tinyTexts: [TextExample] = {
    var examples: [TextExample] = []
    for index in 0..<8 {
        examples.append(TextExample(text: "the kitchen sink leaks \(index)", intent: "plumbing", priority: "P3"))
        examples.append(TextExample(text: "water pouring through the ceiling \(index)", intent: "plumbing", priority: "P1"))
        examples.append(TextExample(text: "hallway light is out \(index)", intent: "lighting", priority: "P3"))
        examples.append(TextExample(text: "hello there \(index)", intent: "greet"))
        examples.append(TextExample(text: "who won the hockey game \(index)", intent: "out_of_scope"))
    }
    return examples
}()

let tinyRecipe: TrainingRecipe = {
    var options = TrainingOptions()
    options.epochs = 12
    options.batchSize = 8
    options.learningRate = 3e-3
    options.patience = 12
    options.seed = 7
    options.threads = 1
    return TrainingRecipe(
        encoder: EncoderConfig(vocabSize: 300, dModel: 16, heads: 2, layers: 1, ffnWidth: 32, maxLength: 16,
                               dropout: 0.1, outputHeads: []),
        sparseWidth: 16, hiddenWidth: 0, featurizer: NGramFeaturizerConfig(buckets: 1 << 12), maxLength: 16,
        options: options, outOfScopeAccuracyBudget: 0.01)
}()

/// The largest absolute difference between two sets of head probabilities
/// (infinity when their heads or shapes differ).
func largestDifference(_ a: [String: [[Float]]], _ b: [String: [[Float]]]) -> Float {
    guard a.keys.sorted() == b.keys.sorted() else { return .infinity }
    var largest: Float = 0
    for (head, rows) in a {
        guard let other = b[head], other.count == rows.count else { return .infinity }
        for (row, otherRow) in zip(rows, other) {
            guard row.count == otherRow.count else { return .infinity }
            for (x, y) in zip(row, otherRow) { largest = max(largest, abs(x - y)) }
        }
    }
    return largest
}

@Suite("Text classifier")
struct TextClassifierTests {
    @Test func trainsSavesAndLoadsTheSameModel() throws {
        let (classifier, summary) = try ClassifierTraining.train(
            train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
            recipe: tinyRecipe, outOfScopeLabel: "out_of_scope")
        #expect(classifier.intentLabels == ["greet", "lighting", "out_of_scope", "plumbing"])
        #expect(classifier.priorityLabels == ["P1", "P3"])
        #expect(summary.epochsRun >= 1 && summary.trainExamples == tinyTexts.count)
        let predictions = try classifier.classify(["the kitchen sink leaks 3", "hallway light is out 5"])
        #expect(predictions.map(\.intent) == ["plumbing", "lighting"], "learns an easy task")
        #expect(predictions[0].ranked.first?.label == "plumbing")

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("model.safetensors")
        try classifier.save(to: url)
        let loaded = try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer)
        #expect(loaded.settings == classifier.settings)
        let texts = tinyTexts.prefix(6).map(\.text)
        // The same weights give the same probabilities up to float rounding:
        // the kernels' summation order depends on the scratch buffer a call
        // gets from the pool, so two calls may differ in the last bit (seen: 3e-8).
        #expect(try largestDifference(loaded.probabilities(texts), classifier.probabilities(texts)) <= 1e-6)

        // Another vocabulary: refused with a clear error, not garbage.
        let other = WordPieceTokenizer(vocabulary: try Vocabulary(tokens: VocabularyBuilder(targetSize: 100).build(texts: ["a b c", "a b c"])))
        #expect(throws: (any Error).self) { try TextClassifier(checkpoint: url, tokenizer: other) }
    }
}

@Suite("Ensemble")
struct EnsembleTests {
    @Test func averagesItsMembersAndRoundTrips() throws {
        var recipe = tinyRecipe
        recipe.ensembleSize = 2
        recipe.options.epochs = 3
        let (ensemble, _) = try ClassifierTraining.train(
            train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
            recipe: recipe, outOfScopeLabel: "out_of_scope")
        #expect(ensemble.members.count == 2 && ensemble.settings.ensembleSize == 2)
        let texts = ["the kitchen sink leaks 1", "hello there 2"]
        let first = try TextClassifier(model: ensemble.members[0], tokenizer: tinyTokenizer, settings: ensemble.settings).probabilities(texts)
        let second = try TextClassifier(model: ensemble.members[1], tokenizer: tinyTokenizer, settings: ensemble.settings).probabilities(texts)
        #expect(first["intent"]! != second["intent"]!, "members differ (different seeds)")
        let average = try ensemble.probabilities(texts)["intent"]!
        for row in 0..<2 {
            for column in average[row].indices {
                #expect(abs(average[row][column] - (first["intent"]![row][column] + second["intent"]![row][column]) / 2) < 1e-6)
            }
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("model.safetensors")
        try ensemble.save(to: url)
        #expect(FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("model.2.safetensors").path))
        let loaded = try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer)
        #expect(loaded.members.count == 2)
        #expect(try largestDifference(loaded.probabilities(texts), ensemble.probabilities(texts)) <= 1e-6)
        // A missing member is a clear error.
        try FileManager.default.removeItem(at: directory.url.appendingPathComponent("model.2.safetensors"))
        #expect(throws: (any Error).self) { try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer) }
    }
}

@Suite("Thresholds")
struct ThresholdTests {
    @Test func outOfScopeThresholdSpendsAtMostTheBudget() {
        let labels = ["a", "b", "oos"]
        // In-scope: 4 right with top probabilities 0.9, 0.8, 0.5, 0.3; out-of-scope tops 0.35 and 0.6.
        let rows: [[Float]] = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.3, 0.25, 0.45 - 0.2],
                               [0.35, 0.33, 0.32], [0.6, 0.2, 0.2]]
        let gold = ["a", "b", "a", "a", "oos", "oos"]
        // Budget 0: τ may not lose any in-scope example → the largest τ ≤ 0.3.
        let strict = OutOfScopeThreshold.choose(rows: rows, gold: gold, labels: labels, outOfScopeLabel: "oos", budget: 0)
        #expect(abs(strict.threshold - 0.3) < 1e-6)
        #expect(strict.inScopeAccuracy == 1 && strict.outOfScopeRecall == 0)
        // Budget of one in-scope example in four: τ = 0.5 declines the 0.3 one and catches 0.35.
        let loose = OutOfScopeThreshold.choose(rows: rows, gold: gold, labels: labels, outOfScopeLabel: "oos", budget: 0.25)
        #expect(abs(loose.threshold - 0.5) < 1e-6)
        #expect(loose.inScopeAccuracy == 0.75 && loose.outOfScopeRecall == 0.5)
    }

    @Test func emergencyThresholdReachesTheTargetRecall() {
        let p1 = [0.9, 0.3, 0.12, 0.08, 0.6, 0.01]
        let isEmergency = [true, true, true, true, false, false]
        // 100 %: every emergency caught → the lowest emergency probability.
        #expect(EmergencyThreshold.choose(p1Probabilities: p1, isEmergency: isEmergency, targetRecall: 1) == 0.08)
        // 75 %: one of four may be missed.
        #expect(EmergencyThreshold.choose(p1Probabilities: p1, isEmergency: isEmergency, targetRecall: 0.75) == 0.12)
        // Never above 0.5 nor below the floor; nil without emergencies.
        #expect(EmergencyThreshold.choose(p1Probabilities: [0.99], isEmergency: [true], targetRecall: 1) == 0.5)
        #expect(EmergencyThreshold.choose(p1Probabilities: [0.001], isEmergency: [true], targetRecall: 1) == EmergencyThreshold.minimum)
        #expect(EmergencyThreshold.choose(p1Probabilities: [0.4], isEmergency: [false], targetRecall: 1) == nil)
    }

    @Test func modelKeyChangesWithDataVocabularyAndRecipe() throws {
        let base = try ModelCard.key(dataFingerprint: "d1", vocabHash: "v1", recipe: tinyRecipe)
        #expect(try ModelCard.key(dataFingerprint: "d1", vocabHash: "v1", recipe: tinyRecipe) == base)
        #expect(try ModelCard.key(dataFingerprint: "d2", vocabHash: "v1", recipe: tinyRecipe) != base)
        #expect(try ModelCard.key(dataFingerprint: "d1", vocabHash: "v2", recipe: tinyRecipe) != base)
        var other = tinyRecipe
        other.options.seed = 8
        #expect(try ModelCard.key(dataFingerprint: "d1", vocabHash: "v1", recipe: other) != base)
    }
}

@Suite("FAQ retrieval")
struct FAQRetrievalTests {
    let classifier: TextClassifier = {
        let config = ClassifierConfig(
            encoder: EncoderConfig(vocabSize: tinyTokenizer.vocabulary.count, dModel: 16, heads: 2, layers: 1, ffnWidth: 32,
                                   maxLength: 16, outputHeads: []),
            sparse: SparseBranchConfig(buckets: 1 << 12, width: 16), hiddenWidth: 0,
            heads: [OutputHeadSpec(name: TextClassifier.intentHead, classes: 2)])
        return TextClassifier(model: try! IntentClassifier(config: config, seed: 3), tokenizer: tinyTokenizer,
                              settings: ClassifierSettings(maxLength: 16, featurizer: NGramFeaturizerConfig(buckets: 1 << 12),
                                                           outOfScopeLabel: nil))
    }()
    let questions = [
        TextExample(text: "when is the pool open", intent: "faq.pool_hours"),
        TextExample(text: "pool hours on weekends", intent: "faq.pool_hours"),
        TextExample(text: "how do I pay my rent online", intent: "faq.rent_payment"),
        TextExample(text: "can I pay rent by cheque", intent: "faq.rent_payment"),
    ]

    @Test func findsTheNearestQuestionsFAQ() throws {
        let index = try FAQRetrieval(classifier: classifier, questions: questions, space: .ngrams, k: 1)
        let found = try index.nearest(["is the pool open today", "pay rent online"], classifier: classifier)
        #expect(found.map(\.label) == ["faq.pool_hours", "faq.rent_payment"])
        #expect(found.allSatisfy { $0.similarity > 0 && $0.similarity <= 1.0001 })
        // Dense spaces are centred on the indexed questions; a question finds itself.
        for space in [FAQRetrieval.Space.sentence, .pooled] {
            let dense = try FAQRetrieval(classifier: classifier, questions: questions, space: space, k: 1)
            let itself = try dense.nearest([questions[2].text], classifier: classifier)[0]
            #expect(itself.label == "faq.rent_payment" && abs(itself.similarity - 1) < 1e-4, "\(space)")
        }
    }

    @Test func rulesOnlyChangeWhatTheyShould() {
        func prediction(_ intent: String) -> TextPrediction {
            TextPrediction(intent: intent, confidence: 0.5, outOfScope: intent == "out_of_scope", ranked: [], priority: nil,
                           priorityProbabilities: [])
        }
        let head = [prediction("faq.pool_hours"), prediction("plumbing"), prediction("out_of_scope")]
        let nearest: [(label: String, similarity: Float)] = [("faq.rent_payment", 0.2), ("faq.pool_hours", 0.9), ("faq.pool_hours", 0.5)]
        #expect(FAQRetrieval.apply(.whichFAQ, threshold: nil, head: head, nearest: nearest).map(\.intent)
                == ["faq.rent_payment", "plumbing", "out_of_scope"])
        let above = FAQRetrieval.apply(.aboveThreshold, threshold: 0.5, head: head, nearest: nearest)
        #expect(above.map(\.intent) == ["faq.pool_hours", "faq.pool_hours", "faq.pool_hours"])
        #expect(above.allSatisfy { !$0.outOfScope })
        #expect(FAQRetrieval.apply(.aboveThreshold, threshold: .infinity, head: head, nearest: nearest).map(\.intent)
                == head.map(\.intent))
    }
}

/// Fires `keyword.<word>` for each of its words a message contains.
struct KeywordLexicon: FeatureLexicon {
    var words: [String]
    var fingerprint: String { "keywords:" + words.joined(separator: ",") }
    func features(of text: String) -> [String] {
        words.filter { text.lowercased().contains($0) }.map { "keyword.\($0)" }
    }
}

@Suite("Lexicon features")
struct LexiconFeatureTests {
    @Test func addedEntriesKeepIndicesSortedAndSumCollisions() {
        let base = SparseFeatures(indices: [3, 40, 900], values: [0.5, 0.25, 0.125])
        let added = TextClassifier.adding(["safety.gas", "safety.smoke", "safety.gas"], weight: 2, buckets: 1 << 10, to: base)
        #expect(zip(added.indices, added.indices.dropFirst()).allSatisfy { $0 < $1 }, "\(added.indices)")
        #expect(abs(added.values.reduce(0, +) - (0.875 + 6)) < 1e-6)
        #expect(added.count <= base.count + 2, "the repeated entry lands in the same bucket")
        #expect(TextClassifier.adding([], weight: 2, buckets: 1 << 10, to: base) == base)
    }

    @Test func aModelTrainedWithALexiconReadsItAndNeedsItToLoad() throws {
        var recipe = tinyRecipe
        recipe.options.epochs = 3
        recipe.lexiconFeatureWeight = 1
        let lexicon = KeywordLexicon(words: ["ceiling", "kitchen"])
        #expect(throws: ClassifierTrainingError.self) {
            try ClassifierTraining.train(train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
                                         recipe: recipe, outOfScopeLabel: "out_of_scope")
        }
        let (classifier, _) = try ClassifierTraining.train(
            train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
            recipe: recipe, outOfScopeLabel: "out_of_scope", lexicon: lexicon)
        #expect(classifier.settings.lexicon == LexiconFeatureSettings(fingerprint: lexicon.fingerprint, weight: 1))

        // The lexicon's entries are in the model's input, and only there.
        let withEntry = try #require(classifier.inputs(["water pouring through the ceiling"]).sparse?.first)
        let plain = try #require(classifier.featurizer?.features("water pouring through the ceiling"))
        #expect(withEntry.indices.count == plain.indices.count + 1 || withEntry.values.reduce(0, +) > plain.values.reduce(0, +) + 0.5)
        let without = try #require(classifier.inputs(["hello there"]).sparse?.first)
        #expect(without.indices == classifier.featurizer?.features("hello there").indices)

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("model.safetensors")
        try classifier.save(to: url)
        #expect(throws: ClassifierLoadError.self) { try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer) }
        #expect(throws: ClassifierLoadError.self) {
            try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer, lexicon: KeywordLexicon(words: ["ceiling"]))
        }
        let loaded = try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer, lexicon: lexicon)
        let texts = tinyTexts.prefix(6).map(\.text)
        #expect(try largestDifference(loaded.probabilities(texts), classifier.probabilities(texts)) <= 1e-6)
    }
}

@Suite("n-grams only")
struct NGramsOnlyTests {
    /// `concierge benchmark --branches ngrams`: the encoder is shown no words
    /// (so it adds only a constant), the n-gram branch alone reads the text,
    /// and the saved model keeps reading that way.
    @Test func theEncoderReadsNoWordsAndTheModelStillLearns() throws {
        var recipe = tinyRecipe
        recipe.encoderReadsWords = false
        let (classifier, _) = try ClassifierTraining.train(
            train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
            recipe: recipe, outOfScopeLabel: "out_of_scope")
        #expect(classifier.settings.encoderReadsWords == false)
        let (tokenIDs, sparse) = classifier.inputs(["the kitchen sink leaks 3", "hallway light is out 5"])
        #expect(tokenIDs[0] == tokenIDs[1] && tokenIDs[0].count == 2, "only [CLS] [SEP]")
        #expect(sparse?[0] != sparse?[1])
        let predictions = try classifier.classify(["the kitchen sink leaks 3", "hallway light is out 5"])
        #expect(predictions.map(\.intent) == ["plumbing", "lighting"], "the n-grams alone learn an easy task")

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("model.safetensors")
        try classifier.save(to: url)
        #expect(try TextClassifier(checkpoint: url, tokenizer: tinyTokenizer).settings.encoderReadsWords == false)

        // Without the n-gram branch nothing would read the words: refused.
        recipe.sparseWidth = 0
        #expect(throws: ClassifierTrainingError.self) {
            try ClassifierTraining.train(train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
                                         recipe: recipe, outOfScopeLabel: "out_of_scope")
        }
    }

    /// The default recipe's JSON (part of every model's cache key) does not
    /// mention the option, so existing models keep their keys.
    @Test func theDefaultRecipeIsEncodedAsBefore() throws {
        let json = String(decoding: try JSONEncoder().encode(tinyRecipe), as: UTF8.self)
        #expect(!json.contains("encoderReadsWords"))
    }
}

/// What the triage makes of the model's rows where no label is likely enough.
@Suite("Unsure requests")
struct UnsureRequestTests {
    /// The tiny model's weights with an out-of-scope threshold of 0.3, and a
    /// triager over the shipped pack (its labels: greet, lighting,
    /// out_of_scope, plumbing; priorities P1, P3).
    static let triager: Triager = {
        let (trained, _) = try! ClassifierTraining.train(
            train: tinyTexts, validation: Array(tinyTexts.prefix(10)), tokenizer: tinyTokenizer,
            recipe: tinyRecipe, outOfScopeLabel: "out_of_scope")
        var settings = trained.settings
        settings.outOfScopeThreshold = 0.3
        let classifier = TextClassifier(members: trained.members, tokenizer: tinyTokenizer, settings: settings)
        return Triager(classifier: classifier, pack: shippedPack, thresholds: DecisionThresholds(clarify: 0.6), safety: nil)
    }()

    func decide(greet: Float, lighting: Float, outOfScope: Float, plumbing: Float) -> TriageDecision {
        #expect(Self.triager.classifier.intentLabels == ["greet", "lighting", "out_of_scope", "plumbing"])
        return Self.triager.decide(text: "something about the hallway", intentRow: [greet, lighting, outOfScope, plumbing],
                                   priorityRow: [0.02, 0.98])
    }

    /// Every label is below the threshold, but the categories together are
    /// likely: a request whose category is asked, with its priority.
    @Test func categoriesLikelyTogetherMakeAnUnsureRequest() {
        let decision = decide(greet: 0.2, lighting: 0.29, outOfScope: 0.24, plumbing: 0.27)
        #expect(decision.kind == .serviceRequest && decision.category == "lighting" && decision.intent == "lighting")
        #expect(decision.needsClarification && !decision.outOfScope)
        #expect(decision.alternatives.map(\.label) == ["lighting", "plumbing"])
        #expect(decision.priority == .p3)
    }

    /// Too little mass on the categories, or the trained out-of-scope label
    /// on top: still declined.
    @Test func otherwiseTheThresholdStillDeclines() {
        let thin = decide(greet: 0.29, lighting: 0.2, outOfScope: 0.28, plumbing: 0.15)
        #expect(thin.kind == .outOfScope && thin.outOfScope && thin.priority == nil && !thin.needsClarification)
        let trained = decide(greet: 0.05, lighting: 0.25, outOfScope: 0.45, plumbing: 0.25)
        #expect(trained.kind == .outOfScope && trained.outOfScope && trained.priority == nil)
    }
}
