import Foundation

/// How the whole triage decision (model, out-of-scope rule, safety rules,
/// clarification) does on labelled messages: what a
/// resident meets, as opposed to the model's heads alone (``HeldOutMetrics``).
public struct TriageMetrics: Codable, Equatable, Sendable {
    public var messages: Int
    /// Service requests given their category.
    public var categoryAccuracy: Double?
    /// P1 messages decided P1 (model, P1 threshold or safety rule).
    public var p1Recall: Double?
    /// Decisions of P1 that were P1 (service requests with a gold priority).
    public var p1Precision: Double?
    /// P1 messages a safety rule fired on.
    public var p1CaughtByRules: Int
    public var p1Total: Int
    /// Messages a safety rule fired on that were not P1 (false alarms).
    public var rulesFiredOnNonP1: Int
    /// Service requests whose priority matches.
    public var priorityAccuracy: Double?
    public var faqAccuracy: Double?
    public var outOfScopeRecall: Double?
    /// Share of all messages the assistant would answer with a clarifying question.
    public var clarificationRate: Double

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
        let withPriority = service.filter { examples[$0].priority != nil }
        let p1 = withPriority.filter { examples[$0].priority == "P1" }
        let decidedP1 = withPriority.filter { decisions[$0].priority == "P1" }
        let faqs = all.filter { examples[$0].intent.hasPrefix("faq.") }
        let outOfScope = all.filter { examples[$0].intent == outOfScopeLabel }
        return TriageMetrics(
            messages: examples.count,
            categoryAccuracy: share(service) { decisions[$0].category == examples[$0].intent },
            p1Recall: share(p1) { decisions[$0].priority == "P1" },
            p1Precision: share(decidedP1) { examples[$0].priority == "P1" },
            p1CaughtByRules: p1.filter { decisions[$0].safety != nil }.count,
            p1Total: p1.count,
            rulesFiredOnNonP1: all.filter { decisions[$0].safety != nil && examples[$0].priority != "P1" }.count,
            priorityAccuracy: share(withPriority) { decisions[$0].priority == examples[$0].priority },
            faqAccuracy: share(faqs) { "faq." + (decisions[$0].faq ?? "") == examples[$0].intent },
            outOfScopeRecall: share(outOfScope) { decisions[$0].outOfScope },
            clarificationRate: share(all) { decisions[$0].needsClarification } ?? 0)
    }
}
