import Foundation
import Triage

/// One run of a resident's message as the staff page shows it: plain text,
/// or words that drove the category, the priority or a safety rule.
///
/// The text is the resident's and is never trusted: templates print it
/// escaped, and the highlight is a CSS class, never markup built from it.
struct HighlightedSegment: Sendable, Equatable {
    var text: String
    /// The word drove the category (or intent).
    var intent: Bool
    /// The word drove the priority.
    var priority: Bool
    /// The word matched the safety rule that fired.
    var safety: Bool

    /// Whether any highlight applies (the template wraps it in `<mark>`).
    var highlighted: Bool { intent || priority || safety }

    /// The CSS classes of the `<mark>`: `intent`, `priority`, `safety`.
    var classes: String {
        [intent ? "intent" : nil, priority ? "priority" : nil, safety ? "safety" : nil].compactMap { $0 }.joined(separator: " ")
    }

    /// What the highlight means, for the `title` tooltip.
    var reason: String {
        [intent ? "drove the category" : nil, priority ? "drove the priority" : nil, safety ? "matched the safety rule" : nil]
            .compactMap { $0 }.joined(separator: "; ")
    }
}

/// Splits a triaged message into segments at the UTF-16 offsets of its
/// explanation (`intentWords`, `priorityWords`) and safety finding.
///
/// Offsets come from the stored triage JSON; ranges that do not fit the text
/// (negative, reversed, past the end) are ignored rather than trusted, and a
/// cut inside a surrogate pair cannot crash: each segment is decoded from its
/// UTF-16 code units, a lone half becoming U+FFFD.
enum ExplanationHighlight {
    private struct Span {
        var start: Int
        var end: Int
        var kind: Kind
    }

    private enum Kind { case intent, priority, safety }

    static func segments(text: String, explanation: Explanation?, safety: SafetyFinding?) -> [HighlightedSegment] {
        let units = Array(text.utf16)
        var spans: [Span] = []
        for word in explanation?.intentWords ?? [] { spans.append(Span(start: word.start, end: word.end, kind: .intent)) }
        for word in explanation?.priorityWords ?? [] { spans.append(Span(start: word.start, end: word.end, kind: .priority)) }
        if let safety { spans.append(Span(start: safety.start, end: safety.end, kind: .safety)) }
        spans = spans.filter { $0.start >= 0 && $0.start < $0.end && $0.end <= units.count }

        var cuts = Set([0, units.count])
        for span in spans {
            cuts.insert(span.start)
            cuts.insert(span.end)
        }
        let points = cuts.sorted()
        var segments: [HighlightedSegment] = []
        for (start, end) in zip(points, points.dropFirst()) where start < end {
            let covering = spans.filter { $0.start <= start && end <= $0.end }
            let segment = HighlightedSegment(
                text: String(decoding: units[start..<end], as: UTF16.self),
                intent: covering.contains { $0.kind == .intent },
                priority: covering.contains { $0.kind == .priority },
                safety: covering.contains { $0.kind == .safety })
            // Neighbouring runs with the same highlight are one segment.
            if let last = segments.last, last.intent == segment.intent, last.priority == segment.priority,
               last.safety == segment.safety {
                segments[segments.count - 1].text += segment.text
            } else {
                segments.append(segment)
            }
        }
        return segments
    }
}
