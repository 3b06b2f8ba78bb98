import Tokenizer

/// What kind of thing an intent label names.
public enum IntentKind: String, Sendable, Codable {
    case category, conversation, faq, outOfScope = "out_of_scope"
}

/// One example with everything a model learns from it.
public struct LabeledExample: Sendable, Equatable {
    public var text: String
    public var language: Language
    /// The intent label: a category id (`plumbing`), a conversational intent
    /// (`greet`), `faq.<id>`, or `out_of_scope`.
    public var intent: String
    public var kind: IntentKind
    /// The effective priority of a service request (its own, else the
    /// category's default); nil for everything else.
    public var priority: Priority?
    /// True when the example carries its own priority, different from the default.
    public var hasExplicitPriority: Bool
    public var location: SourceLocation?
}

extension DataPack {
    /// The label given to out-of-scope messages.
    public static let outOfScopeLabel = "out_of_scope"

    /// The label of an FAQ.
    public static func faqLabel(_ id: String) -> String { "faq.\(id)" }

    /// Every example of the pack (corrections included), labeled.
    public var labeledExamples: [LabeledExample] {
        var result: [LabeledExample] = []
        for category in categories {
            for example in category.examples {
                result.append(LabeledExample(text: example.text, language: example.language, intent: category.id, kind: .category,
                                             priority: example.priority ?? category.defaultPriority,
                                             hasExplicitPriority: example.priority.map { $0 != category.defaultPriority } ?? false,
                                             location: example.location))
            }
        }
        for intent in conversation {
            for example in intent.examples {
                result.append(LabeledExample(text: example.text, language: example.language, intent: intent.id, kind: .conversation,
                                             priority: nil, hasExplicitPriority: false, location: example.location))
            }
        }
        for faq in faqs {
            for example in faq.questions {
                result.append(LabeledExample(text: example.text, language: example.language, intent: Self.faqLabel(faq.id), kind: .faq,
                                             priority: nil, hasExplicitPriority: false, location: example.location))
            }
        }
        for example in outOfScope {
            result.append(LabeledExample(text: example.text, language: example.language, intent: Self.outOfScopeLabel, kind: .outOfScope,
                                         priority: nil, hasExplicitPriority: false, location: example.location))
        }
        let categoryDefaults = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, $0.defaultPriority) })
        for correction in corrections {
            let kind: IntentKind
            if categoryDefaults[correction.intent] != nil { kind = .category }
            else if correction.intent.hasPrefix("faq.") { kind = .faq }
            else if correction.intent == Self.outOfScopeLabel { kind = .outOfScope }
            else { kind = .conversation }
            let defaultPriority = categoryDefaults[correction.intent]
            result.append(LabeledExample(text: correction.text, language: correction.language, intent: correction.intent, kind: kind,
                                         priority: kind == .category ? (correction.priority ?? defaultPriority) : nil,
                                         hasExplicitPriority: correction.priority.map { $0 != defaultPriority } ?? false,
                                         location: correction.location))
        }
        return result
    }

    /// Every intent label, in a stable order: categories, conversation, FAQs,
    /// out-of-scope.
    public var intentLabels: [String] {
        categories.map(\.id).sorted() + conversation.map(\.id).sorted() + faqs.map { Self.faqLabel($0.id) }.sorted() + [Self.outOfScopeLabel]
    }
}

/// The fixed split of a pack into training and held-out test examples.
///
/// Stratified by (intent, language): in every group, the examples whose
/// `seed`-salted hash of normalized text is lowest make up `heldOutFraction`
/// (rounded) of the group. The split is reproducible, and adding an example
/// moves no other example between the sides.
public struct DataSplit: Sendable {
    public static let defaultHeldOutFraction = 0.15
    public static let defaultSeed: UInt64 = 20_261_123

    public var train: [LabeledExample]
    public var test: [LabeledExample]

    public init(_ examples: [LabeledExample], heldOutFraction: Double = defaultHeldOutFraction, seed: UInt64 = defaultSeed) {
        var heldOut = Set<Int>()
        for members in Self.groupsInHashOrder(examples, seed: seed, key: { $0.intent + "\u{1F}" + $0.language.rawValue }) {
            let count = Int((Double(members.count) * heldOutFraction).rounded())
            heldOut.formUnion(members.prefix(count))
        }
        train = examples.indices.filter { !heldOut.contains($0) }.map { examples[$0] }
        test = examples.indices.filter { heldOut.contains($0) }.map { examples[$0] }
    }

    init(train: [LabeledExample], test: [LabeledExample]) {
        self.train = train
        self.test = test
    }

    /// `folds` splits of `examples` for k-fold cross-validation: every example
    /// is in the `test` side of exactly one of them, and in the `train` side
    /// of all the others.
    ///
    /// Stratified by (priority, intent, language): in every group the
    /// examples are ordered by their `seed`-salted hash of normalized text
    /// and dealt to the folds in turn, one count running through the groups
    /// (ordered by priority first), so each fold holds ⌊n/k⌋ or ⌈n/k⌉ of a
    /// group of n, and likewise of all the P1 examples together.
    /// Reproducible for the same examples. Fewer than two folds is treated
    /// as two.
    public static func folds(_ examples: [LabeledExample], count folds: Int, seed: UInt64 = defaultSeed) -> [DataSplit] {
        let folds = max(2, folds)
        let groups = groupsInHashOrder(examples, seed: seed) {
            ($0.priority?.rawValue ?? "-") + "\u{1F}" + $0.intent + "\u{1F}" + $0.language.rawValue
        }
        var foldOf = [Int](repeating: 0, count: examples.count)
        // Each group starts where the last one stopped, so small groups do
        // not all pile into the first folds.
        for (position, index) in groups.joined().enumerated() { foldOf[index] = position % folds }
        return (0..<folds).map { fold in
            DataSplit(train: examples.indices.filter { foldOf[$0] != fold }.map { examples[$0] },
                      test: examples.indices.filter { foldOf[$0] == fold }.map { examples[$0] })
        }
    }

    /// The indices of `examples` grouped by `key`, groups in key order, each
    /// group ordered by the `seed`-salted hash of normalized text (ties by
    /// index): the stable order both the held-out split and the folds deal from.
    static func groupsInHashOrder(_ examples: [LabeledExample], seed: UInt64,
                                  key: (LabeledExample) -> String) -> [[Int]] {
        var groups: [String: [(hash: UInt64, index: Int)]] = [:]
        for (index, example) in examples.enumerated() {
            groups[key(example), default: []].append((hash(TextNormalizer.normalizedString(example.text), seed: seed), index))
        }
        return groups.keys.sorted().map { key in
            groups[key]!.sorted { $0.hash != $1.hash ? $0.hash < $1.hash : $0.index < $1.index }.map(\.index)
        }
    }

    /// FNV-1a 64 of the text, salted, then mixed (see ``StableHash``).
    static func hash(_ text: String, seed: UInt64) -> UInt64 {
        StableHash.hash(text, seed: seed)
    }
}
