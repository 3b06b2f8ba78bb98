import Foundation

// How rows of the tables most operations read become the public models.

extension Ticket {
    /// The columns `Ticket(row:)` reads, for `SELECT … FROM tickets t`.
    static let columns = """
        t.id, t.number, t.resident_id, t.conversation_id, t.category, t.priority, t.status, t.unit, t.location,
        t.access_notes, t.description, t.confidence, t.model_version, t.safety_rule, t.sla_due_at,
        t.first_response_at, t.assignee, t.created_at, t.updated_at, t.closed_at, t.triage, t.emergency,
        t.resolved_at, t.resident_confirmation, t.rating, t.rating_comment,
        (SELECT d.number FROM tickets d WHERE d.id = t.duplicate_of) AS duplicate_number
        """

    init(row: SQLRow) throws {
        let priorityLevel = try row.required(row.int("priority"), "priority")
        let statusName = try row.required(row.string("status"), "status")
        guard let priority = Priority(level: priorityLevel) else {
            throw StoreError.database("ticket has an unknown priority \(priorityLevel)")
        }
        guard let status = TicketStatus(rawValue: statusName) else {
            throw StoreError.database("ticket has an unknown status \(statusName)")
        }
        self.init(
            id: try row.required(row.int64("id"), "id"),
            number: try row.required(row.int("number"), "number"),
            residentID: row.int64("resident_id"),
            conversationID: row.int64("conversation_id"),
            category: try row.required(row.string("category"), "category"),
            priority: priority,
            status: status,
            unit: row.string("unit"),
            location: row.string("location"),
            accessNotes: row.string("access_notes"),
            description: row.string("description"),
            confidence: row.double("confidence"),
            modelVersion: row.string("model_version"),
            safetyRule: row.string("safety_rule"),
            slaDueAt: row.date("sla_due_at"),
            firstResponseAt: row.date("first_response_at"),
            assignee: row.string("assignee"),
            duplicateOf: row.int("duplicate_number"),
            createdAt: try row.required(row.date("created_at"), "created_at"),
            updatedAt: try row.required(row.date("updated_at"), "updated_at"),
            closedAt: row.date("closed_at"),
            triage: row.string("triage"),
            emergency: row.string("emergency").flatMap(TicketEmergency.init(rawValue:)),
            resolvedAt: row.date("resolved_at"),
            residentConfirmation: row.string("resident_confirmation").flatMap(ResolutionConfirmation.init(rawValue:)),
            rating: row.int("rating"),
            ratingComment: row.string("rating_comment"),
            photoCount: row.int("photo_count") ?? 0,
            recurrenceCount: row.int("recurrence_count") ?? 0
        )
    }

    /// For a listing `FROM tickets`: how many tickets of the same category at
    /// the same place or unit were created in the recurrence window up to this
    /// one (itself included; merged duplicates and rejected ones not counted).
    static let recurrenceCount = """
        (SELECT COUNT(*) FROM tickets r WHERE r.category = tickets.category AND r.recurrence_key = tickets.recurrence_key
            AND r.created_at <= tickets.created_at AND r.created_at > tickets.created_at - \(Int64(InsightsReport.recurrenceWindow * 1_000))
            AND r.status NOT IN ('duplicate', 'rejected'))
        """
}

extension Resident {
    /// A row of `residents` (`SELECT *`).
    init(row: SQLRow) throws {
        self.init(id: try row.required(row.int64("id"), "id"),
                  channel: try row.required(row.string("channel"), "channel"),
                  externalID: try row.required(row.string("external_id"), "external_id"),
                  displayName: row.string("display_name"), language: row.string("language"), unit: row.string("unit"),
                  createdAt: try row.required(row.date("created_at"), "created_at"),
                  forgottenAt: row.date("forgotten_at"))
    }
}

extension Message {
    /// A row of `messages` (`SELECT *`).
    init(row: SQLRow) throws {
        self.init(id: try row.required(row.int64("id"), "id"),
                  conversationID: try row.required(row.int64("conversation_id"), "conversation_id"),
                  direction: MessageDirection(rawValue: row.string("direction") ?? "") ?? .inbound,
                  channel: row.string("channel") ?? "", deliveryID: row.string("delivery_id"), text: row.string("text"),
                  createdAt: try row.required(row.date("created_at"), "created_at"),
                  delivery: row.string("delivery").flatMap(OutboundDelivery.init(rawValue:)))
    }
}
