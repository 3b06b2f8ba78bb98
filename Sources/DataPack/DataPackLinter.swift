import Foundation
import Tokenizer

/// The numbers a pack must reach to train a good assistant. `concierge check`
/// reports every bar; `--strict` makes a missed bar an error.
public struct QualityBars: Sendable {
    public var categoryExamples: [Language: Int] = [.en: 60, .zh: 40]
    public var conversationExamples = 30
    public var outOfScopeExamples = 150
    public var faqTopics = 30
    public var faqQuestions = 6
    /// Share of category examples that carry their own priority (judged by the
    /// rubric in intents/README.md) rather than their category's default.
    public var explicitPriorityShare = 1.0
    /// Each priority level must occur (as a default or an example's own) in this many categories.
    public var categoriesPerPriority = 8
    /// P1 examples required per emergency hazard and language.
    public var emergencyExamples = 2

    public init() {}

    /// Hazards whose emergencies must be learnable, with words that name them.
    public static let emergencyHazards: [(id: String, words: [Language: [String]])] = [
        ("gas", [.en: ["gas"], .zh: ["煤气", "燃气", "天然气"]]),
        ("smoke", [.en: ["smoke"], .zh: ["烟"]]),
        ("fire", [.en: ["fire", "flame", "burning"], .zh: ["火"]]),
        ("flooding", [.en: ["flood", "pouring", "gushing", "burst"], .zh: ["淹", "水管爆", "爆管", "哗哗", "漫"]]),
        ("sparks", [.en: ["spark"], .zh: ["火花", "冒火", "打火", "电火"]]),
        ("trapped", [.en: ["trapped", "stuck"], .zh: ["困", "关在"]]),
        ("no heat in freezing weather", [.en: ["freezing", "no heat"], .zh: ["暖气", "供暖", "冻"]]),
        ("break-in", [.en: ["break in", "breaking in", "broke in", "break-in", "break into", "breaking into", "broke into", "forced open", "intruder"], .zh: ["撬", "闯", "小偷", "入室"]]),
    ]
}

/// One quality bar and how the pack did.
public struct QualityResult: Sendable {
    public var name: String
    public var measured: String
    public var required: String
    public var passed: Bool
}

/// Counts of one intent, by language, with the held-out split.
public struct IntentCount: Sendable {
    public var intent: String
    public var kind: IntentKind
    public var total: [Language: Int]
    public var heldOut: [Language: Int]
}

/// The priorities of one category's examples.
public struct PriorityBalance: Sendable {
    public var category: String
    public var defaultPriority: Priority
    /// Examples at each effective priority (their own, else the default), per language.
    public var counts: [Language: [Priority: Int]]
    /// Examples with a priority of their own.
    public var explicit: Int
    /// Examples that rely on the category's default.
    public var relyingOnDefault: Int

    /// Examples at `priority`, all languages together.
    public func total(_ priority: Priority) -> Int { counts.values.reduce(0) { $0 + ($1[priority] ?? 0) } }
}

/// What `concierge check` found.
public struct LintReport: Sendable {
    public var diagnostics: [Diagnostic]
    public var intents: [IntentCount]
    /// Per category, examples at each effective priority.
    public var priorities: [PriorityBalance]
    public var quality: [QualityResult]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// Validates a data pack beyond what loading checks: duplicates within and
/// across intents, near-duplicates, and the quality bars.
public struct DataPackLinter {
    public var bars: QualityBars
    private let tokenizer: WordPieceTokenizer

    public init(bars: QualityBars = QualityBars()) {
        self.bars = bars
        tokenizer = WordPieceTokenizer(vocabulary: try! Vocabulary(tokens: Vocabulary.specialTokens))
    }

    /// Checks the pack folder: reads it (syntax and schema), then lints it.
    public func check(directory: Foundation.URL) -> LintReport {
        let (pack, diagnostics) = DataPackLoader.read(directory: directory)
        guard let pack else { return LintReport(diagnostics: diagnostics, intents: [], priorities: [], quality: []) }
        var report = lint(pack)
        report.diagnostics = diagnostics + report.diagnostics
        return report
    }

    /// The words of a text that make it what it is: normalized, no punctuation.
    func contentWords(_ text: String) -> [String] {
        tokenizer.words(text).filter { $0.kind != .punctuation }.map(\.text)
    }

    public func lint(_ pack: DataPack) -> LintReport {
        var diagnostics: [Diagnostic] = []
        let examples = pack.labeledExamples
        let wordsByGroup = duplicates(examples, into: &diagnostics)
        nearDuplicates(wordsByGroup, into: &diagnostics)
        let intents = counts(pack, examples)
        let priorities = priorityBalance(pack, into: &diagnostics)
        // Safety: every hazard the community has guidance for must have a rule,
        // or that emergency is never recognised by the rules.
        let ruleGuidance = Set(pack.safetyRules.map(\.guidance))
        for hazard in pack.community.emergencyGuidance.keys.sorted() where !ruleGuidance.contains(hazard) {
            diagnostics.append(Diagnostic(.error, SourceLocation(file: "safety.yaml", line: 1), "emergency_guidance \"\(hazard)\" has no safety rule: add a rule with guidance: \(hazard) to safety.yaml"))
        }
        let quality = qualityResults(pack, intents: intents, priorities: priorities)
        return LintReport(diagnostics: diagnostics, intents: intents, priorities: priorities, quality: quality)
    }

    /// The examples' content words, grouped by intent and language.
    private typealias WordGroups = [String: [(words: [String], example: LabeledExample)]]

    /// Exact duplicates after normalization, within and across intents, and
    /// examples with no words (errors); returns the words for the near-duplicate check.
    private func duplicates(_ examples: [LabeledExample], into diagnostics: inout [Diagnostic]) -> WordGroups {
        var firstSeen: [String: LabeledExample] = [:]
        var wordsByGroup: WordGroups = [:]
        for example in examples {
            let words = contentWords(example.text)
            let key = words.joined(separator: " ")
            if words.isEmpty {
                diagnostics.append(Diagnostic(.error, example.location, "example \"\(example.text)\" has no words"))
                continue
            }
            if let first = firstSeen[key] {
                let place = first.location.map { " (first at \($0))" } ?? ""
                if first.intent == example.intent {
                    diagnostics.append(Diagnostic(.error, example.location, "duplicate example \"\(example.text)\" in \(example.intent)\(place)"))
                } else {
                    diagnostics.append(Diagnostic(.error, example.location,
                                                  "example \"\(example.text)\" appears in two intents: \(first.intent) and \(example.intent)\(place)"))
                }
            } else {
                firstSeen[key] = example
            }
            wordsByGroup[example.intent + "/" + example.language.rawValue, default: []].append((words, example))
        }
        return wordsByGroup
    }

    /// Near-duplicates (warnings): the same sentence, of four words or more, with one word swapped.
    private func nearDuplicates(_ wordsByGroup: WordGroups, into diagnostics: inout [Diagnostic]) {
        for group in wordsByGroup.values {
            var byLength: [Int: [(words: [String], example: LabeledExample)]] = [:]
            for entry in group where entry.words.count >= 4 { byLength[entry.words.count, default: []].append(entry) }
            for entries in byLength.values where entries.count > 1 {
                for i in 0..<(entries.count - 1) {
                    for j in (i + 1)..<entries.count {
                        var differences = 0
                        for (a, b) in zip(entries[i].words, entries[j].words) where a != b {
                            differences += 1
                            if differences > 1 { break }
                        }
                        if differences == 1 {
                            let place = entries[i].example.location.map { " (see \($0))" } ?? ""
                            diagnostics.append(Diagnostic(.warning, entries[j].example.location,
                                                          "near-duplicate: \"\(entries[j].example.text)\" differs from \"\(entries[i].example.text)\" by one word\(place)"))
                        }
                    }
                }
            }
        }
    }

    /// Examples per intent and language, in all and in the held-out split.
    private func counts(_ pack: DataPack, _ examples: [LabeledExample]) -> [IntentCount] {
        let split = DataSplit(examples)
        var totals: [String: [Language: Int]] = [:]
        var heldOut: [String: [Language: Int]] = [:]
        var kinds: [String: IntentKind] = [:]
        for example in examples {
            totals[example.intent, default: [:]][example.language, default: 0] += 1
            kinds[example.intent] = example.kind
        }
        for example in split.test { heldOut[example.intent, default: [:]][example.language, default: 0] += 1 }
        return pack.intentLabels.map { label in
            IntentCount(intent: label, kind: kinds[label] ?? .category, total: totals[label] ?? [:], heldOut: heldOut[label] ?? [:])
        }
    }

    /// Priorities per category and language; a warning for every example that
    /// relies on its category's default (each should carry the rubric's priority).
    private func priorityBalance(_ pack: DataPack, into diagnostics: inout [Diagnostic]) -> [PriorityBalance] {
        pack.categories.sorted(by: { $0.id < $1.id }).map { category in
            var balance = PriorityBalance(category: category.id, defaultPriority: category.defaultPriority, counts: [:],
                                          explicit: 0, relyingOnDefault: 0)
            for example in category.examples {
                balance.counts[example.language, default: [:]][example.priority ?? category.defaultPriority, default: 0] += 1
                if example.priority != nil {
                    balance.explicit += 1
                } else {
                    balance.relyingOnDefault += 1
                    diagnostics.append(Diagnostic(.warning, example.location, "relies on \(category.id)'s default priority "
                        + "\(category.defaultPriority.rawValue): give it its own (the rubric is in intents/README.md)"))
                }
            }
            return balance
        }
    }

    private func qualityResults(_ pack: DataPack, intents: [IntentCount], priorities: [PriorityBalance]) -> [QualityResult] {
        var results: [QualityResult] = []
        for language in Language.allCases {
            let required = bars.categoryExamples[language] ?? 0
            let counts = intents.filter { $0.kind == .category }.map { ($0.intent, $0.total[language] ?? 0) }
            let weakest = counts.min { $0.1 < $1.1 }
            results.append(QualityResult(name: "examples per category (\(language.rawValue))",
                                         measured: weakest.map { "min \($0.1) (\($0.0))" } ?? "none",
                                         required: "≥ \(required)", passed: (weakest?.1 ?? 0) >= required))
            let conversation = intents.filter { $0.kind == .conversation }.map { ($0.intent, $0.total[language] ?? 0) }
            let weakestConversation = conversation.min { $0.1 < $1.1 }
            results.append(QualityResult(name: "examples per conversational intent (\(language.rawValue))",
                                         measured: weakestConversation.map { "min \($0.1) (\($0.0))" } ?? "none",
                                         required: "≥ \(bars.conversationExamples)",
                                         passed: (weakestConversation?.1 ?? 0) >= bars.conversationExamples))
            let outOfScope = pack.outOfScope.filter { $0.language == language }.count
            results.append(QualityResult(name: "out-of-scope examples (\(language.rawValue))", measured: "\(outOfScope)",
                                         required: "≥ \(bars.outOfScopeExamples)", passed: outOfScope >= bars.outOfScopeExamples))
            let faqQuestions = pack.faqs.map { faq in (faq.id, faq.questions.filter { $0.language == language }.count) }
            let weakestFAQ = faqQuestions.min { $0.1 < $1.1 }
            results.append(QualityResult(name: "questions per FAQ (\(language.rawValue))",
                                         measured: weakestFAQ.map { "min \($0.1) (\($0.0))" } ?? "none",
                                         required: "≥ \(bars.faqQuestions)", passed: (weakestFAQ?.1 ?? 0) >= bars.faqQuestions))
        }
        results.append(QualityResult(name: "FAQ topics", measured: "\(pack.faqs.count)", required: "≥ \(bars.faqTopics)",
                                     passed: pack.faqs.count >= bars.faqTopics))
        let categoryExampleCount = pack.categories.reduce(0) { $0 + $1.examples.count }
        let explicit = priorities.reduce(0) { $0 + $1.explicit }
        let share = categoryExampleCount == 0 ? 0 : Double(explicit) / Double(categoryExampleCount)
        results.append(QualityResult(name: "category examples with their own priority",
                                     measured: "\(explicit)/\(categoryExampleCount) = \(percent(share))",
                                     required: "≥ \(percent(bars.explicitPriorityShare))", passed: share >= bars.explicitPriorityShare))
        for priority in Priority.allCases {
            let categories = priorities.filter { $0.total(priority) > 0 }.count
            results.append(QualityResult(name: "categories with \(priority.rawValue) examples", measured: "\(categories)",
                                         required: "≥ \(bars.categoriesPerPriority)", passed: categories >= bars.categoriesPerPriority))
        }
        let emergencies = pack.labeledExamples.filter { $0.priority == .p1 }
        for hazard in QualityBars.emergencyHazards {
            for language in Language.allCases {
                let words = hazard.words[language] ?? []
                let count = emergencies.filter { example in
                    guard example.language == language else { return false }
                    let text = TextNormalizer.normalizedString(example.text)
                    return words.contains { text.contains($0) }
                }.count
                results.append(QualityResult(name: "P1 examples about \(hazard.id) (\(language.rawValue))", measured: "\(count)",
                                             required: "≥ \(bars.emergencyExamples)", passed: count >= bars.emergencyExamples))
            }
        }
        return results
    }

    private func percent(_ value: Double) -> String {
        let tenths = Int((value * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
