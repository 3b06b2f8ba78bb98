import Store
import Triage

/// How a triaged request becomes a ticket: the one rule for every entry point
/// (the chat and the messaging channels through the conversation, Open311's
/// POST), so a message files the same ticket whichever way it arrives.
public enum TicketDrafting {
    /// The priority of a possible emergency the resident has not confirmed:
    /// staff look within the day (P2's target) instead of being paged within
    /// the hour for what is most often not an emergency, and the ticket's
    /// `unconfirmed` flag tells them to check it.
    public static let unconfirmedEmergencyPriority = Priority.p2

    /// The priority and emergency flag a decision files with when nobody has
    /// been asked anything: a safety rule → P1 (`rule`); the model sure of P1
    /// → P1 (`model`); a possible emergency → ``unconfirmedEmergencyPriority``
    /// flagged `unconfirmed`; otherwise the triage's priority, else the
    /// category's default, else P3.
    public static func filing(_ decision: TriageDecision, defaultPriority: Priority?) -> (priority: Priority, emergency: TicketEmergency?) {
        if decision.safety != nil { return (.p1, .rule) }
        switch decision.emergency {
        case .certain: return (.p1, decision.emergencyBasis == .model ? .model : .rule)
        case .possible: return (unconfirmedEmergencyPriority, .unconfirmed)
        case nil:
            let priority = decision.priority ?? defaultPriority ?? .p3
            return (priority, nil)
        }
    }

    /// The draft for a request of `category` triaged as `decision` (with its
    /// explanation, which staff see). `settled` is what a conversation has
    /// established since (the safety question answered, a safety rule fired on
    /// a later message); without it the priority is ``filing(_:defaultPriority:)``'s.
    /// The confidence is the model's probability of `category` when the model
    /// ranked it (nil when the category came from elsewhere: the caller's
    /// service code, a rule).
    /// (A conversation stored by an older version may have no decision: then
    /// only `settled` counts, and the ticket has no confidence or triage.)
    public static func draft(_ decision: TriageDecision?, category: String, defaultPriority: Priority?,
                             settled: (priority: Priority, emergency: TicketEmergency?, safetyRule: String?)? = nil,
                             description: String, unit: String?, location: String?, accessNotes: String?,
                             modelVersion: String?, resident: ResidentInfo? = nil) throws -> TicketDraft {
        let filed = decision.map { filing($0, defaultPriority: defaultPriority) }
            ?? (defaultPriority ?? .p3, nil)
        let (priority, emergency) = settled.map { ($0.priority, $0.emergency) } ?? filed
        let confidence = decision?.category == category ? decision?.confidence
            : decision?.alternatives.first { $0.label == category }?.probability
        return TicketDraft(category: category, priority: priority, description: description, unit: unit, location: location,
                           accessNotes: accessNotes, confidence: confidence.map { min(1, max(0, $0)) },
                           modelVersion: modelVersion, safetyRule: settled?.safetyRule ?? decision?.safety?.rule,
                           resident: resident, triage: try decision?.jsonLine(), emergency: emergency,
                           place: sharedPlace(location: location, description: description),
                           clarified: decision?.needsClarification)
    }

    /// Common areas each floor has its own of.
    static let perFloorAreas: Set<String> = ["hallway", "stairwell", "trash_room"]

    /// The shared place a request names, as one key in either language, for
    /// counting recurring problems: the building, the floor and the common
    /// area the dialogue recognises (`building 2 · elevator`, `floor 3 ·
    /// hallway`, `lobby` for "大堂"), from the location the resident gave,
    /// else from their words; nil when neither names a shared place (rooms in
    /// a unit count by the unit).
    public static func sharedPlace(location: String?, description: String) -> String? {
        for text in [location, description].compactMap({ $0 }) {
            let places = TextCues.places(in: text).filter(\.isCommonArea)
            let building = places.first { $0.id.hasPrefix("building ") }?.id
            let floor = places.first { $0.id.hasPrefix("floor ") }?.id
            let area = places.first { !$0.id.hasPrefix("building ") && !$0.id.hasPrefix("floor ") }?.id
            // A floor tells hallways apart, not the building's one elevator or garage.
            let floorCounts = area.map(perFloorAreas.contains) ?? true
            let parts = [building, floorCounts ? floor : nil, area].compactMap { $0 }
            if !parts.isEmpty { return parts.joined(separator: " · ") }
        }
        return nil
    }
}
