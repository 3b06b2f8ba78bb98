import DataPack
import Foundation
import Tokenizer

/// Finds emergencies by rule (the data pack's `safety.yaml`), independently of
/// the model. A finding can only raise a request's priority to P1.
public protocol SafetyScreen: Sendable {
    /// The first rule that fires on `text` (negated mentions do not fire), or nil.
    func firstFinding(in text: RuleText) -> SafetyFinding?
    /// True when `text` mentions a hazard only to deny it ("no gas smell").
    func deniesHazard(in text: RuleText) -> Bool
}

extension SafetyScreen {
    /// A screen that reads no negations denies nothing.
    public func deniesHazard(in text: RuleText) -> Bool { false }

    /// ``firstFinding(in:)`` on a message not read yet.
    public func firstFinding(in text: String) -> SafetyFinding? { firstFinding(in: RuleText(text)) }
}

/// The confidence threshold of the triage decision, chosen on the validation
/// split (see ``tune(_:validation:)``). The priority head's
/// threshold is the P1 threshold in ``ClassifierSettings/emergencyThreshold``,
/// tuned for recall when the model is trained.
///
/// (An escalation rule, "unsure between two priorities: take the more urgent",
/// was measured on the held-out split and dropped: priority accuracy fell from
/// 52.7 % to 46.8 % with no gain in P1 recall.)
public struct DecisionThresholds: Codable, Equatable, Sendable {
    /// Below this intent confidence the assistant asks instead of guessing.
    public var clarify: Double

    public init(clarify: Double) {
        self.clarify = clarify
    }

    /// The share of confident decisions that must be right.
    public static let clarifyPrecisionTarget = 0.9
    /// The cap that keeps the assistant from asking about nearly everything.
    public static let maximumClarify = 0.6

    /// The lowest threshold t on a 0.05 grid (capped at `maximum`) such that the
    /// decisions with confidence ≥ t are right at least `target` of the time.
    public static func lowestThreshold(confidence: [Double], correct: [Bool], target: Double, maximum: Double) -> Double {
        var threshold = 0.0
        while threshold < maximum {
            let accepted = confidence.indices.filter { confidence[$0] >= threshold }
            if accepted.isEmpty { break }
            let right = accepted.filter { correct[$0] }.count
            if Double(right) / Double(accepted.count) >= target { return threshold }
            threshold += 0.05
        }
        return maximum
    }

    /// The threshold for `classifier`, tuned on `validation` (never on held-out
    /// data): the lowest intent confidence above which in-scope decisions are
    /// right ≥ 90 % of the time (at most 0.6).
    public static func tune(_ classifier: TextClassifier, validation: [TextExample]) throws -> DecisionThresholds {
        guard !validation.isEmpty else { return DecisionThresholds(clarify: 0.3) }
        let predictions = try classifier.classify(validation.map(\.text))
        let inScope = validation.indices.filter { !predictions[$0].outOfScope }
        let clarify = lowestThreshold(confidence: inScope.map { predictions[$0].confidence },
                                      correct: inScope.map { predictions[$0].intent == validation[$0].intent },
                                      target: clarifyPrecisionTarget, maximum: maximumClarify)
        return DecisionThresholds(clarify: clarify)
    }
}

/// What the conversation and the other entry points need from the triage:
/// a decision for each message, its explanation for staff, and the pack facts
/// decisions are made against. ``Triager`` is the real one (a trained model,
/// the rules); dialogue tests script decisions with their own, no model needed.
public protocol Triaging: Sendable {
    /// The decision for one message, explained according to `policy`.
    func triage(_ text: String, explaining policy: Triager.ExplanationPolicy) throws -> TriageDecision
    /// The pack's service categories (a decision whose label is one is a request).
    var serviceCategories: Set<String> { get }
    /// Each category's default priority.
    var defaultPriorities: [String: Priority] { get }
    /// The intent confidence below which the assistant asks rather than guesses.
    var clarifyThreshold: Double { get }
}

/// Turns a resident's message into a ``TriageDecision``: the model's heads,
/// the out-of-scope rule, the clarification threshold, the safety rules and,
/// on request, an explanation.
public final class Triager: Triaging, @unchecked Sendable {
    public let classifier: TextClassifier
    public let thresholds: DecisionThresholds
    public let safety: (any SafetyScreen)?
    /// The data pack's service categories (a label of the intent head that is
    /// one of these is a service request).
    public let serviceCategories: Set<String>
    /// The default priority of each category (used when the model has no priority head).
    public let defaultPriorities: [String: Priority]
    /// The clarification threshold (``DecisionThresholds/clarify``).
    public var clarifyThreshold: Double { thresholds.clarify }

    /// The pack's urgent rules (`urgent.yaml`): a request one fires on is at least P2.
    public let urgent: SafetyRules?
    /// The pack's `can_wait.yaml` rules: an ordinary request one fires on is P4.
    public let canWait: SafetyRules?
    /// The category of each urgent rule that names one (rule id → category).
    let urgentCategories: [String: String]
    /// The intent head's indices of the service categories.
    let serviceCategoryIndices: [Int]

    /// The P1 probability from which an emergency is possible: the larger of
    /// the model's recall-tuned threshold and ``possibleEmergency``.
    public let possibleEmergencyThreshold: Double

    /// A triager; `possibleEmergencyThreshold` replaces the default (tests).
    public init(classifier: TextClassifier, pack: DataPack, thresholds: DecisionThresholds, safety: (any SafetyScreen)?,
                possibleEmergencyThreshold: Double? = nil) {
        self.classifier = classifier
        self.thresholds = thresholds
        self.safety = safety
        self.possibleEmergencyThreshold = possibleEmergencyThreshold
            ?? max(classifier.settings.emergencyThreshold ?? 0, Self.possibleEmergency)
        urgent = pack.urgentRules.isEmpty ? nil : SafetyRules(rules: pack.urgentRules)
        canWait = pack.canWaitRules.isEmpty ? nil : SafetyRules(rules: pack.canWaitRules)
        urgentCategories = Dictionary(pack.urgentRules.compactMap { rule in rule.category.map { (rule.id, $0) } },
                                      uniquingKeysWith: { first, _ in first })
        serviceCategories = Set(pack.categories.map(\.id))
        serviceCategoryIndices = classifier.intentLabels.indices.filter { [serviceCategories] in
            serviceCategories.contains(classifier.intentLabels[$0])
        }
        defaultPriorities = Dictionary(uniqueKeysWithValues: pack.categories.map { ($0.id, $0.defaultPriority) })
    }

    /// Which decisions get the occlusion explanation (one extra batched
    /// forward pass over the message with each word removed).
    public enum ExplanationPolicy: Sendable {
        case never
        /// Only service requests: what may become a ticket, which staff review.
        case serviceRequests
        /// Service requests and the messages the assistant will ask about
        /// (a clarifying question may turn them into requests): the
        /// conversation explains these once, when they arrive, and keeps the
        /// explanation with the request.
        case possibleRequests
        case always

        func applies(to decision: TriageDecision) -> Bool {
            switch self {
            case .never: false
            case .serviceRequests: decision.kind == .serviceRequest
            case .possibleRequests: decision.kind == .serviceRequest || decision.needsClarification
            case .always: true
            }
        }
    }

    /// Triage of one message; `explain` adds the occlusion explanation.
    public func triage(_ text: String, explain: Bool = false) throws -> TriageDecision {
        try triage([text], explaining: explain ? .always : .never)[0]
    }

    /// Triage of one message, explained according to `policy`.
    public func triage(_ text: String, explaining policy: ExplanationPolicy) throws -> TriageDecision {
        try triage([text], explaining: policy)[0]
    }

    /// Triage of several messages (batched through the model; order kept).
    public func triage(_ texts: [String], explain: Bool = false, threads: Int = 1) throws -> [TriageDecision] {
        try triage(texts, explaining: explain ? .always : .never, threads: threads)
    }

    /// Triage of several messages, explained according to `policy` (batched; order kept).
    public func triage(_ texts: [String], explaining policy: ExplanationPolicy, threads: Int = 1) throws -> [TriageDecision] {
        guard !texts.isEmpty else { return [] }
        let heads = try classifier.probabilities(texts, threads: threads)
        let intentRows = heads[TextClassifier.intentHead] ?? []
        let priorityRows = heads[TextClassifier.priorityHead]
        return try texts.indices.map { index in
            var decision = decide(text: texts[index], intentRow: intentRows[index], priorityRow: priorityRows?[index])
            if policy.applies(to: decision) {
                decision.explanation = try explanation(of: decision, intentRow: intentRows[index], priorityRow: priorityRows?[index])
            }
            return decision
        }
    }

    private static let faqPrefix = "faq."

    func decide(text: String, intentRow: [Float], priorityRow: [Float]?) -> TriageDecision {
        let prediction = classifier.decide(intentRow: intentRow, priorityRow: priorityRow,
                                           threshold: classifier.settings.outOfScopeThreshold, keep: 6)
        let outOfScopeLabel = classifier.settings.outOfScopeLabel
        let alternatives = Array(prediction.ranked.filter { $0.label != outOfScopeLabel }.prefix(3))
        var decision = TriageDecision(
            text: text, language: Language.detect(text).rawValue, kind: .outOfScope, intent: prediction.intent,
            category: nil, faq: nil, priority: nil, modelPriority: nil, priorityConfidence: nil,
            outOfScope: prediction.outOfScope, confidence: prediction.confidence,
            needsClarification: false, alternatives: alternatives, safety: nil, explanation: nil)
        if prediction.outOfScope, let category = unsureRequestCategory(prediction, intentRow: intentRow) {
            // No label is likely enough, but together the categories are: a
            // request whose category the resident is asked (not declined).
            decision.kind = .serviceRequest
            decision.category = category
            decision.intent = category
            decision.outOfScope = false
            decision.alternatives = Array(prediction.ranked.filter { serviceCategories.contains($0.label) }.prefix(3))
        } else if prediction.outOfScope {
            decision.kind = .outOfScope
        } else if serviceCategories.contains(prediction.intent) {
            decision.kind = .serviceRequest
            decision.category = prediction.intent
        } else if prediction.intent.hasPrefix(Self.faqPrefix) {
            decision.kind = .faq
            decision.faq = String(prediction.intent.dropFirst(Self.faqPrefix.count))
        } else {
            decision.kind = .conversation
        }
        decision.needsClarification = !decision.outOfScope && prediction.confidence < thresholds.clarify

        // A safety rule fires on any message: "I smell gas" is an emergency even
        // when the model calls it a question or out of scope.
        let read = RuleText(text)
        let finding = safety?.firstFinding(in: read)
        // The urgent rules, matched once: wherever they can matter (not after a
        // safety rule, which makes the request P1; not on a confident FAQ).
        let urgentCue = finding == nil && !(decision.kind == .faq && !decision.needsClarification)
            ? urgent?.matches(read).first : nil
        if let finding {
            decision.safety = finding
            if decision.kind != .serviceRequest {
                decision.kind = .serviceRequest
                decision.category = safetyCategory(prediction.ranked)
                decision.intent = decision.category ?? decision.intent
                decision.outOfScope = false
            }
            decision.needsClarification = false
        } else if decision.kind != .serviceRequest || decision.needsClarification, let cue = urgentCue,
                  let category = urgentCategories[cue.ruleID] ?? ranked(prediction.ranked, firstOf: serviceCategories)?.label {
            // An essential service lost, in reviewed words ("the fridge conked out",
            // "power keeps cutting out in my whole unit"), is a request of the rule's
            // category even when the model reads it as something else or is unsure;
            // a question the model is sure is an FAQ stays one.
            decision.kind = .serviceRequest
            decision.category = category
            decision.intent = category
            decision.outOfScope = false
            decision.needsClarification = urgentCategories[cue.ruleID] == nil
                && (prediction.ranked.first { $0.label == category }?.probability ?? 0) < thresholds.clarify
        }
        // The priority of a request, and of a message that may be one: unsure
        // between a request and something else, the resident is asked which
        // (a clarifying question) and the request keeps this priority.
        let plausibleRequest = decision.needsClarification
            ? alternatives.first { serviceCategories.contains($0.label) && $0.probability >= Self.plausibleRequest }?.label : nil
        guard let category = decision.kind == .serviceRequest ? decision.category : plausibleRequest else { return decision }
        decide(emergencyOf: &decision, probabilities: prediction.priorityProbabilities, category: category, urgentCue: urgentCue,
               read: read)
        return decision
    }

    /// The probability the service categories need together for a message
    /// that no single label is likely enough for (out of scope by the
    /// threshold, not by the trained out-of-scope label) to be an unsure
    /// request: the resident is asked its category instead of being declined.
    /// Chosen by 5-fold cross-validation of the training side
    /// (docs/priority.md): at 0.4, 70 of the 84 requests the threshold declined
    /// are kept, and 7 of 323 out-of-scope messages are asked about instead.
    public static let unsureRequestMass: Float = 0.4

    /// The likeliest service category of a prediction the out-of-scope
    /// threshold declined, when the categories together reach
    /// ``unsureRequestMass`` and the trained out-of-scope label is not the top.
    private func unsureRequestCategory(_ prediction: TextPrediction, intentRow: [Float]) -> String? {
        guard prediction.ranked.first?.label != classifier.settings.outOfScopeLabel,
              serviceCategoryIndices.reduce(0, { $0 + intentRow[$1] }) >= Self.unsureRequestMass else { return nil }
        return ranked(prediction.ranked, firstOf: serviceCategories)?.label
    }

    /// The probability a service category needs, in an unsure decision, for
    /// the message to be treated as a possible request (with a priority).
    public static let plausibleRequest = 0.1

    /// The P1 probability at which the model alone makes an emergency
    /// certain (filed at once). Below it, down to the recall-tuned P1
    /// threshold (``ClassifierSettings/emergencyThreshold``), an emergency is
    /// only possible and the resident is asked. At 0.5 P1 is also the model's
    /// most probable priority, so "certain" never contradicts its arg-max.
    public static let certainEmergency = 0.5

    /// The lowest P1 probability at which an emergency is possible (the
    /// resident is asked the safety question); the model's own recall-tuned
    /// threshold applies when higher. Chosen by 5-fold cross-validation on
    /// the pack's training side (`concierge evaluate --cross-validate 5`, its
    /// possible-emergency sweep; docs/priority.md): 0.10 asks on about 13 % of
    /// service requests and misses one more P1 message in 157 than 0.05,
    /// which asks on 27 %.
    public static let possibleEmergency = 0.1

    /// The probability the model's own P2 needs; below it a request the
    /// urgent rules do not raise gets the better of P3 and P4. Chosen by
    /// 5-fold cross-validation (the P2 sweep; docs/priority.md): requiring
    /// 0.7 turns most of the model's P3-read-as-P2 errors right (filed exact
    /// 75.9 → 79.1 %) for 1 point of P2 recall. Not higher: the urgent rules
    /// were written on the same training side, so cross-validation flatters
    /// them, and the model's confident P2 covers what no phrase does.
    public static let modelUrgent = 0.7

    /// Sets the priority and the emergency level of a service request: P1
    /// when a safety rule fired or the model is sure (and the message does
    /// not deny the hazard it names); otherwise the most probable of the
    /// other priorities, with `possible` when P1's probability reaches the
    /// recall-tuned threshold; at least P2 when `urgentCue` (an urgent rule that
    /// fired) is set, P4 for an ordinary repair the resident says can wait.
    /// `read` is the message as the rules read it (segmented once for all of them).
    private func decide(emergencyOf decision: inout TriageDecision, probabilities: [ScoredLabel], category: String,
                        urgentCue: SafetyMatch?, read: RuleText) {
        let p1Label = ClassifierSettings.emergencyPriority.rawValue
        let p1 = probabilities.first { $0.label == p1Label }?.probability
        let best = probabilities.max { $0.probability < $1.probability }
        var ordinary = probabilities.filter { $0.label != p1Label }.max { $0.probability < $1.probability }
        if ordinary?.label == Priority.p2.rawValue, (ordinary?.probability ?? 0) < Self.modelUrgent {
            // Not sure enough of P2 on its own: the better of P3 and P4 (the urgent rules still raise it).
            ordinary = probabilities.filter { [Priority.p3.rawValue, Priority.p4.rawValue].contains($0.label) }
                .max { $0.probability < $1.probability }
        }
        decision.modelPriority = best.flatMap { Priority(rawValue: $0.label) }
        decision.priorityConfidence = best?.probability
        decision.p1Probability = p1
        decision.priority = ordinary.flatMap { Priority(rawValue: $0.label) } ?? defaultPriorities[category] ?? .p3
        if decision.safety != nil {
            decision.priority = .p1
            decision.emergency = .certain
            decision.emergencyBasis = .rule
        } else if let p1, p1 >= min(possibleEmergencyThreshold, Self.certainEmergency),
                  !(safety?.deniesHazard(in: read) ?? false) {
            // A message that names a hazard only to deny it ("没有着火，就是烟雾报警器坏了")
            // is no emergency: it has answered the safety question already.
            if p1 >= Self.certainEmergency {
                decision.priority = .p1
                decision.emergency = .certain
                decision.emergencyBasis = .model
            } else {
                decision.emergency = .possible
            }
        }
        // An essential service lost or security compromised, in reviewed words: at least P2.
        if decision.emergency != .certain, let cue = urgentCue {
            decision.urgentCue = cue.ruleID
            if let priority = decision.priority, priority > .p2 { decision.priority = .p2 }
        }
        // "No rush", "不着急": an ordinary repair the resident says can wait is P4
        // (never a request that named a hazard, a lost service, or the model's emergency).
        if decision.priority == .p3, decision.emergency == nil, decision.urgentCue == nil,
           let cue = canWait?.matches(read).first {
            decision.canWaitCue = cue.ruleID
            decision.priority = .p4
        }
    }

    /// The likeliest of `ranked` whose label is in `labels`.
    private func ranked(_ ranked: [ScoredLabel], firstOf labels: Set<String>) -> ScoredLabel? {
        ranked.first { labels.contains($0.label) }
    }

    /// The category for a message only the safety rules recognised: the
    /// likeliest service category the model saw, or `safety_hazard`.
    private func safetyCategory(_ ranked: [ScoredLabel]) -> String? {
        if let best = ranked.first(where: { serviceCategories.contains($0.label) && $0.probability >= 0.1 }) { return best.label }
        if serviceCategories.contains("safety_hazard") { return "safety_hazard" }
        return ranked.first { serviceCategories.contains($0.label) }?.label ?? serviceCategories.sorted().first
    }

    // MARK: Explanation

    /// At most this many words are occluded (longer messages keep their first words).
    public static let maximumExplainedWords = 40
    /// At most this many words are reported per head.
    public static let reportedWords = 3
    /// A reported word lowers the decided label's probability by more than
    /// this when it is removed…
    public static let minimumInfluence = 0.005
    /// …and by more than this share of what the strongest word does.
    public static let relativeInfluence = 0.05

    /// Occlusion: remove each word in turn, and measure how much the decided
    /// label's probability falls, for the intent head and the priority head.
    func explanation(of decision: TriageDecision, intentRow: [Float], priorityRow: [Float]?) throws -> Explanation {
        let text = decision.text
        let utf16 = Array(text.utf16)
        let words = classifier.tokenizer.wordSpans(text)
            .filter { $0.kind != .punctuation }
            .prefix(Self.maximumExplainedWords)
        guard !words.isEmpty else { return Explanation(intentWords: [], priorityWords: []) }
        let variants = words.map { word -> String in
            var units = utf16
            units.replaceSubrange(word.range, with: [0x20])
            return String(decoding: units, as: UTF16.self)
        }
        let heads = try classifier.probabilities(variants, threads: 1)
        let intentLabels = classifier.intentLabels
        let priorityLabels = classifier.priorityLabels

        func influences(head: String, labelIndex: Int?, full: [Float]?) -> [WordInfluence] {
            guard let labelIndex, let full, let rows = heads[head] else { return [] }
            let base = Double(full[labelIndex])
            let scored = words.enumerated().map { index, word in
                WordInfluence(word: String(decoding: utf16[word.range], as: UTF16.self), start: word.range.lowerBound,
                              end: word.range.upperBound, influence: base - Double(rows[index][labelIndex]))
            }
            // Words whose removal barely moves the probability are noise,
            // not reasons: a word is reported only if it counts for at least
            // 5 % of the strongest word (and 0.005 absolute).
            let strongest = scored.map(\.influence).max() ?? 0
            let floor = max(Self.minimumInfluence, Self.relativeInfluence * strongest)
            return Array(scored.filter { $0.influence > floor }
                .sorted { $0.influence != $1.influence ? $0.influence > $1.influence : $0.start < $1.start }
                .prefix(Self.reportedWords))
        }
        // The model's own labels: explanations say what drove the model, not the rules.
        let modelIntent = intentLabels.firstIndex(of: decision.intent)
            ?? intentRow.indices.max { intentRow[$0] < intentRow[$1] }
        let intentWords = influences(head: TextClassifier.intentHead, labelIndex: modelIntent, full: intentRow)
        var priorityWords: [WordInfluence] = []
        if decision.kind == .serviceRequest, let label = decision.modelPriority ?? decision.priority {
            priorityWords = influences(head: TextClassifier.priorityHead, labelIndex: priorityLabels.firstIndex(of: label.rawValue),
                                       full: priorityRow)
        }
        return Explanation(intentWords: intentWords, priorityWords: priorityWords)
    }
}

extension SafetyRules: SafetyScreen {
    /// The most severe rule that fires (rules are in file order, most severe first).
    public func firstFinding(in text: RuleText) -> SafetyFinding? {
        matches(text).first.map { match in
            SafetyFinding(rule: match.ruleID, guidance: match.guidance, matchedText: match.text,
                          start: match.range.lowerBound, end: match.range.upperBound)
        }
    }
}
