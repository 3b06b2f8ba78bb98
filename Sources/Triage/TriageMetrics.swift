import DataPack
import Foundation

/// How the whole triage decision (model, out-of-scope rule, safety rules,
/// clarification) does on labelled messages: what a
/// resident meets, as opposed to the model's heads alone (``HeldOutMetrics``).
public struct TriageMetrics: Codable, Equatable, Sendable {
    public var messages: Int
    /// Service requests given their category.
    public var categoryAccuracy: Double?
    /// P1 messages caught: a certain emergency (rule or model), or a possible
    /// one the resident confirms.
    public var p1Recall: Double?
    /// Tickets filed as P1 that were P1: the certain emergencies, and the
    /// possible ones the resident confirms (service requests with a gold priority).
    public var p1Precision: Double?
    /// P1 messages a safety rule fired on.
    public var p1CaughtByRules: Int
    public var p1Total: Int
    /// Messages a safety rule fired on that were not P1 (false alarms).
    public var rulesFiredOnNonP1: Int
    /// Service requests whose decided priority matches, before any question
    /// is asked (a possible emergency counts as its best other priority).
    public var priorityAccuracy: Double?
    public var faqAccuracy: Double?
    public var outOfScopeRecall: Double?
    /// Share of all messages the assistant would answer with a clarifying question.
    public var clarificationRate: Double
    /// Service requests (with a gold priority) the triage calls a possible
    /// emergency: the resident is asked the safety question.
    public var safetyQuestionRate: Double?
    /// The priority filed, when every resident answers the safety question
    /// truthfully (yes exactly for P1 messages): right, within one level, and
    /// the recall of P2.
    public var filedPriorityAccuracy: Double?
    public var filedWithinOne: Double?
    public var filedP2Recall: Double?
    /// Gold priority → filed priority (`none`: the request would not be
    /// filed, judged something else with confidence) → count.
    public var filedPriorityConfusion: [String: [String: Int]] = [:]

    /// Triage of `examples` (gold `intent` and `priority`), batched.
    public static func evaluate(_ triager: Triager, on examples: [TextExample]) throws -> TriageMetrics {
        evaluate(decisions: try triager.triage(examples.map(\.text), threads: 2), on: examples,
                 serviceCategories: triager.serviceCategories, outOfScopeLabel: triager.classifier.settings.outOfScopeLabel)
    }

    /// The metrics of `decisions` (one per example, from any triagers: the
    /// folds of a cross-validation pool theirs) against `examples`' gold labels.
    public static func evaluate(decisions: [TriageDecision], on examples: [TextExample], serviceCategories: Set<String>,
                                outOfScopeLabel: String?) -> TriageMetrics {
        func share(_ indices: [Int], _ right: (Int) -> Bool) -> Double? {
            indices.isEmpty ? nil : Double(indices.filter(right).count) / Double(indices.count)
        }
        let all = Array(examples.indices)
        let service = all.filter { serviceCategories.contains(examples[$0].intent) }
        func gold(_ index: Int) -> Priority? { examples[index].priority.flatMap(Priority.init(rawValue:)) }
        let withPriority = service.filter { gold($0) != nil }
        let p1 = withPriority.filter { gold($0) == .p1 }
        // What is filed when each resident answers the safety question truthfully.
        func filed(_ index: Int) -> Priority? {
            decisions[index].emergency == .possible && gold(index) == .p1 ? .p1 : decisions[index].priority
        }
        let decidedP1 = withPriority.filter { filed($0) == .p1 }
        let p2 = withPriority.filter { gold($0) == .p2 }
        let faqs = all.filter { examples[$0].intent.hasPrefix("faq.") }
        let outOfScope = all.filter { examples[$0].intent == outOfScopeLabel }
        return TriageMetrics(
            messages: examples.count,
            categoryAccuracy: share(service) { decisions[$0].category == examples[$0].intent },
            p1Recall: share(p1) { decisions[$0].emergency != nil },
            p1Precision: share(decidedP1) { gold($0) == .p1 },
            p1CaughtByRules: p1.filter { decisions[$0].safety != nil }.count,
            p1Total: p1.count,
            rulesFiredOnNonP1: all.filter { decisions[$0].safety != nil && gold($0) != .p1 }.count,
            priorityAccuracy: share(withPriority) { decisions[$0].priority == gold($0) },
            faqAccuracy: share(faqs) { "faq." + (decisions[$0].faq ?? "") == examples[$0].intent },
            outOfScopeRecall: share(outOfScope) { decisions[$0].outOfScope },
            clarificationRate: share(all) { decisions[$0].needsClarification } ?? 0,
            safetyQuestionRate: share(withPriority) { decisions[$0].emergency == .possible },
            filedPriorityAccuracy: share(withPriority) { filed($0) == gold($0) },
            filedWithinOne: share(withPriority) { index in
                guard let filed = filed(index), let gold = gold(index) else { return false }
                return abs(filed.level - gold.level) <= 1
            },
            filedP2Recall: share(p2) { filed($0) == .p2 },
            filedPriorityConfusion: withPriority.reduce(into: [:]) { table, index in
                table[gold(index)?.rawValue ?? "-", default: [:]][filed(index)?.rawValue ?? "none", default: 0] += 1
            })
    }
}

/// The triage at one value of a swept threshold (``TriageMetrics/possibleEmergencySweep``, ``TriageMetrics/urgentSweep``).
public struct ThresholdSweepPoint: Codable, Equatable, Sendable {
    public var threshold: Double
    public var metrics: TriageMetrics
}

extension TriageMetrics {
    /// The candidate P1 thresholds of the sweep.
    public static let sweptThresholds = [0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]

    /// The triage's metrics if the possible-emergency threshold were each of
    /// `thresholds` instead of the model's own (certain emergencies and every
    /// other part of the decisions unchanged): for choosing the threshold by
    /// cross-validation, trading P1 recall against how often the safety
    /// question is asked.
    public static func possibleEmergencySweep(decisions: [TriageDecision], on examples: [TextExample],
                                              serviceCategories: Set<String>, outOfScopeLabel: String?,
                                              thresholds: [Double] = sweptThresholds) -> [ThresholdSweepPoint] {
        thresholds.map { threshold in
            let adjusted = decisions.map { decision -> TriageDecision in
                guard decision.kind == .serviceRequest, decision.emergency != .certain else { return decision }
                var changed = decision
                changed.emergency = (decision.p1Probability ?? 0) >= threshold ? .possible : nil
                return changed
            }
            return ThresholdSweepPoint(threshold: threshold, metrics: evaluate(decisions: adjusted, on: examples,
                                                                                   serviceCategories: serviceCategories,
                                                                                   outOfScopeLabel: outOfScopeLabel))
        }
    }
}

extension TriageMetrics {
    /// The candidate P2 thresholds of ``urgentSweep``.
    public static let sweptUrgentThresholds = [0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01]

    /// The triage's metrics if the model's own P2 needed a probability of at
    /// least each of `thresholds` (below it, the better of P3 and P4), the
    /// urgent rules and everything else unchanged. `priorityRows` are each
    /// decision's priority probabilities by label.
    public static func urgentSweep(decisions: [TriageDecision], priorityRows: [[String: Double]], on examples: [TextExample],
                                   serviceCategories: Set<String>, outOfScopeLabel: String?,
                                   thresholds: [Double] = sweptUrgentThresholds) -> [ThresholdSweepPoint] {
        thresholds.map { threshold in
            let adjusted = zip(decisions, priorityRows).map { decision, row -> TriageDecision in
                guard decision.priority != nil, decision.emergency != .certain, decision.urgentCue == nil else { return decision }
                let p2 = row[Priority.p2.rawValue] ?? 0, p3 = row[Priority.p3.rawValue] ?? 0, p4 = row[Priority.p4.rawValue] ?? 0
                var changed = decision
                changed.priority = p2 >= max(p3, p4) && p2 >= threshold ? .p2 : (p3 >= p4 ? .p3 : .p4)
                return changed
            }
            return ThresholdSweepPoint(threshold: threshold, metrics: evaluate(decisions: adjusted, on: examples,
                                                                                   serviceCategories: serviceCategories,
                                                                                   outOfScopeLabel: outOfScopeLabel))
        }
    }
}
