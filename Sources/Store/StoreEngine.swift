import Foundation

/// Thrown inside a turn's transaction when its delivery id was already
/// processed: the transaction rolls back and the store returns the stored outcome.
struct DuplicateDelivery: Error {
    var outcome: TurnOutcome
}

/// The store's logic, written once against `SQLSession` and run inside one
/// transaction per call by both `SQLiteTicketStore` and `PostgresTicketStore`.
/// Every function here is one unit of work: all of its writes commit together
/// or not at all.
enum StoreEngine {
    // MARK: - Schema

    /// Tables of the database that are not Concierge's bookkeeping.
    static func userTables(_ session: SQLSession) throws -> [String] {
        let sql: String
        switch session.dialect {
        case .sqlite:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        case .postgres:
            sql = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        }
        return try session.query(sql, []).compactMap { $0.string("name") }
    }

    /// The schema version recorded in the database, or nil when it has no
    /// `schema_migrations` table. Throws `notAConciergeDatabase` when it holds
    /// other tables and `schemaTooNew` when it is newer than this build. Reads only.
    static func inspect(_ session: SQLSession, location: String) throws -> Int? {
        let tables = try userTables(session)
        guard tables.contains("schema_migrations") else {
            if !tables.isEmpty { throw StoreError.notAConciergeDatabase(location: location) }
            return nil
        }
        let version = try session.scalarInt("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        if version > Migrations.latestVersion {
            throw StoreError.schemaTooNew(found: version, supported: Migrations.latestVersion)
        }
        return version
    }

    /// Brings the schema to the latest version. Returns the versions applied.
    static func migrate(_ session: SQLSession, location: String, now: Date) throws -> [Int] {
        if session.dialect == .postgres {
            // Several servers may start at once: one migrates, the others wait here.
            _ = try session.query("SELECT pg_advisory_xact_lock(7202611) AS locked", [])
        }
        let current: Int
        if let version = try inspect(session, location: location) {
            current = version
        } else {
            try session.execute("""
                CREATE TABLE schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """, [])
            current = 0
        }
        var applied: [Int] = []
        for migration in Migrations.all where migration.version > current {
            for statement in migration.sql(for: session.dialect) {
                try session.execute(statement, [])
            }
            try session.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                [.int(migration.version), .text(migration.name), .date(now)])
            applied.append(migration.version)
        }
        return applied
    }

    static func schemaVersion(_ session: SQLSession) throws -> Int {
        try session.scalarInt("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
    }

    // MARK: - Decoding rows

    static let ticketColumns = """
        t.id, t.number, t.resident_id, t.conversation_id, t.category, t.priority, t.status, t.unit, t.location,
        t.access_notes, t.description, t.confidence, t.model_version, t.safety_rule, t.sla_due_at,
        t.first_response_at, t.assignee, t.created_at, t.updated_at, t.closed_at, t.triage, t.emergency,
        (SELECT d.number FROM tickets d WHERE d.id = t.duplicate_of) AS duplicate_number
        """

    static func ticket(from row: SQLRow) throws -> Ticket {
        let priorityLevel = try row.required(row.int("priority"), "priority")
        let statusName = try row.required(row.string("status"), "status")
        guard let priority = Priority(level: priorityLevel) else {
            throw StoreError.database("ticket has an unknown priority \(priorityLevel)")
        }
        guard let status = TicketStatus(rawValue: statusName) else {
            throw StoreError.database("ticket has an unknown status \(statusName)")
        }
        return Ticket(
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
            emergency: row.string("emergency").flatMap(TicketEmergency.init(rawValue:))
        )
    }

    static func resident(from row: SQLRow) throws -> Resident {
        Resident(id: try row.required(row.int64("id"), "id"),
                 channel: try row.required(row.string("channel"), "channel"),
                 externalID: try row.required(row.string("external_id"), "external_id"),
                 displayName: row.string("display_name"), language: row.string("language"), unit: row.string("unit"),
                 createdAt: try row.required(row.date("created_at"), "created_at"),
                 forgottenAt: row.date("forgotten_at"))
    }

    // MARK: - Tickets

    static func lockTicket(_ session: SQLSession, number: Int) throws -> Ticket {
        guard let row = try session.queryOne("SELECT \(ticketColumns) FROM tickets t WHERE t.number = ?{forUpdate}"
            .replacingOccurrences(of: "{forUpdate}", with: session.dialect == .postgres ? " FOR UPDATE OF t" : ""),
            [.int(number)]) else {
            throw StoreError.ticketNotFound(number)
        }
        return try ticket(from: row)
    }

    static func fetchTicket(_ session: SQLSession, number: Int) throws -> Ticket {
        guard let row = try session.queryOne("SELECT \(ticketColumns) FROM tickets t WHERE t.number = ?", [.int(number)]) else {
            throw StoreError.ticketNotFound(number)
        }
        return try ticket(from: row)
    }

    static func appendEvent(_ session: SQLSession, ticketID: Int64, actor: String, kind: String,
                            from: String?, to: String?, now: Date) throws {
        try session.execute("""
            INSERT INTO ticket_events (ticket_id, actor, kind, from_value, to_value, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, [.integer(ticketID), .text(actor), .text(kind), .optional(from), .optional(to), .date(now)])
    }

    static func validate(_ draft: TicketDraft) throws {
        if draft.category.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoreError.invalidInput("a ticket needs a category")
        }
        if draft.description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoreError.invalidInput("a ticket needs a description (what is wrong)")
        }
        if let confidence = draft.confidence, !(0...1).contains(confidence) || confidence.isNaN {
            throw StoreError.invalidInput("model confidence must be between 0 and 1, got \(confidence)")
        }
    }

    /// Files a ticket: takes the next number, stores it as `new` with its SLA
    /// due time, and logs a `created` event.
    static func createTicket(_ session: SQLSession, draft: TicketDraft, actor: String, now: Date,
                             targets: ResponseTargets, residentID: Int64?, conversationID: Int64?) throws -> Ticket {
        try validate(draft)
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        guard let counter = try session.queryOne(
            "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value", []),
            let number = counter.int("value") else {
            throw StoreError.database("the ticket number counter is missing")
        }
        let due = targets.dueDate(for: draft.priority, createdAt: now)
        guard let row = try session.queryOne("""
            INSERT INTO tickets (number, resident_id, conversation_id, category, priority, status, unit, location,
                access_notes, description, confidence, model_version, safety_rule, sla_due_at, created_at, updated_at, triage,
                emergency)
            VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """, [.int(number), .optional(residentID), .optional(conversationID), .text(draft.category),
                  .int(draft.priority.level), .optional(draft.unit), .optional(draft.location),
                  .optional(draft.accessNotes), .text(draft.description), .optional(draft.confidence),
                  .optional(draft.modelVersion), .optional(draft.safetyRule), .optional(due), .date(now), .date(now),
                  .optional(draft.triage), .optional(draft.emergency?.rawValue)]),
            let id = row.int64("id") else {
            throw StoreError.database("inserting a ticket returned no id")
        }
        try appendEvent(session, ticketID: id, actor: actor, kind: "created", from: nil,
                        to: "\(draft.category) \(draft.priority.rawValue)", now: now)
        return Ticket(id: id, number: number, residentID: residentID, conversationID: conversationID,
                      category: draft.category, priority: draft.priority, status: .new, unit: draft.unit,
                      location: draft.location, accessNotes: draft.accessNotes, description: draft.description,
                      confidence: draft.confidence, modelVersion: draft.modelVersion, safetyRule: draft.safetyRule,
                      slaDueAt: due, firstResponseAt: nil, assignee: nil, duplicateOf: nil,
                      createdAt: now, updatedAt: now, closedAt: nil, triage: draft.triage, emergency: draft.emergency)
    }

    /// A ticket filed by staff or a test, with its resident (and their
    /// conversation, holding the description as the resident's message) when given.
    static func createStandaloneTicket(_ session: SQLSession, draft: TicketDraft, actor: String, now: Date,
                                       targets: ResponseTargets) throws -> Ticket {
        var residentID: Int64?
        var conversationID: Int64?
        if let info = draft.resident {
            let resident = try upsertResident(session, info, now: now)
            residentID = resident
            let conversation = try conversationRow(session, residentID: resident, now: now)
            conversationID = conversation.id
            try insertMessage(session, conversationID: conversation.id, direction: .inbound, channel: info.channel,
                              deliveryID: nil, text: draft.description, now: now)
        }
        return try createTicket(session, draft: draft, actor: actor, now: now, targets: targets,
                                residentID: residentID, conversationID: conversationID)
    }

    static func ticketDetail(_ session: SQLSession, number: Int) throws -> TicketDetail {
        let ticket = try fetchTicket(session, number: number)
        var resident: Resident?
        if let residentID = ticket.residentID,
           let row = try session.queryOne("SELECT * FROM residents WHERE id = ?", [.integer(residentID)]) {
            resident = try self.resident(from: row)
        }
        var transcript: [Message] = []
        if let conversationID = ticket.conversationID {
            transcript = try session.query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id",
                                           [.integer(conversationID)]).map(message(from:))
        }
        let events = try session.query("""
            SELECT id, actor, kind, from_value, to_value, created_at FROM ticket_events WHERE ticket_id = ? ORDER BY id
            """, [.integer(ticket.id)]).map { row in
            TicketEvent(id: try row.required(row.int64("id"), "id"), ticketNumber: number,
                        actor: row.string("actor") ?? "", kind: row.string("kind") ?? "",
                        from: row.string("from_value"), to: row.string("to_value"),
                        at: try row.required(row.date("created_at"), "created_at"))
        }
        let notes = try session.query("SELECT * FROM notes WHERE ticket_id = ? ORDER BY id", [.integer(ticket.id)]).map { row in
            Note(id: try row.required(row.int64("id"), "id"), ticketNumber: number, author: row.string("author") ?? "",
                 visibility: NoteVisibility(rawValue: row.string("visibility") ?? "") ?? .internal,
                 text: row.string("text"), createdAt: try row.required(row.date("created_at"), "created_at"))
        }
        return TicketDetail(ticket: ticket, resident: resident, transcript: transcript, events: events, notes: notes)
    }

    static func message(from row: SQLRow) throws -> Message {
        Message(id: try row.required(row.int64("id"), "id"),
                conversationID: try row.required(row.int64("conversation_id"), "conversation_id"),
                direction: MessageDirection(rawValue: row.string("direction") ?? "") ?? .inbound,
                channel: row.string("channel") ?? "", deliveryID: row.string("delivery_id"), text: row.string("text"),
                createdAt: try row.required(row.date("created_at"), "created_at"))
    }

    /// The SQL of the queue listing and its bound values.
    static func queueQuery(_ filter: QueueFilter) -> (sql: String, binds: [SQLValue]) {
        let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        var conditions: [String] = []
        var binds: [SQLValue] = []
        // The literal open-status list matches the partial index `tickets_queue`.
        if filter.statuses.isEmpty || filter.statuses.allSatisfy(\.isOpen) {
            conditions.append("status IN (\(openList))")
        }
        if !filter.statuses.isEmpty {
            conditions.append("status IN (\(Array(repeating: "?", count: filter.statuses.count).joined(separator: ", ")))")
            binds += filter.statuses.map { .text($0.rawValue) }
        }
        if !filter.categories.isEmpty {
            conditions.append("category IN (\(Array(repeating: "?", count: filter.categories.count).joined(separator: ", ")))")
            binds += filter.categories.map { .text($0) }
        }
        if !filter.priorities.isEmpty {
            conditions.append("priority IN (\(Array(repeating: "?", count: filter.priorities.count).joined(separator: ", ")))")
            binds += filter.priorities.map { .int($0.level) }
        }
        if let assignee = filter.assignee {
            conditions.append("assignee = ?")
            binds.append(.text(assignee))
        }
        if filter.unassignedOnly { conditions.append("assignee IS NULL") }
        binds.append(.int(max(0, filter.limit)))
        let sql = """
            SELECT id, number, resident_id, conversation_id, category, priority, status, unit, location, access_notes,
                description, confidence, model_version, safety_rule, sla_due_at, first_response_at, assignee,
                created_at, updated_at, closed_at, emergency, NULL AS duplicate_number
            FROM tickets WHERE \(conditions.joined(separator: " AND "))
            ORDER BY priority, created_at, id LIMIT ?
            """
        return (sql, binds)
    }

    static func queue(_ session: SQLSession, filter: QueueFilter) throws -> [Ticket] {
        let (sql, binds) = queueQuery(filter)
        return try session.query(sql, binds).map(ticket(from:))
    }

    static let respondingStatuses: Set<TicketStatus> = [.inProgress, .pendingResident, .resolved]

    static func changeStatus(_ session: SQLSession, number: Int, to next: TicketStatus, actor: String,
                             now: Date) throws -> Ticket {
        var ticket = try lockTicket(session, number: number)
        if ticket.status == next { return ticket }
        guard ticket.status.canMove(to: next) else {
            throw StoreError.illegalTransition(ticket: number, from: ticket.status, to: next)
        }
        let previous = ticket.status
        ticket.status = next
        ticket.updatedAt = now
        if respondingStatuses.contains(next), ticket.firstResponseAt == nil { ticket.firstResponseAt = now }
        ticket.closedAt = next.isFinal ? now : nil
        var duplicateCleared = false
        if previous == .duplicate { ticket.duplicateOf = nil; duplicateCleared = true }
        try session.execute("""
            UPDATE tickets SET status = ?, updated_at = ?, first_response_at = ?, closed_at = ?\(duplicateCleared ? ", duplicate_of = NULL" : "")
            WHERE id = ?
            """, [.text(next.rawValue), .date(now), .optional(ticket.firstResponseAt), .optional(ticket.closedAt), .integer(ticket.id)])
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "status", from: previous.rawValue,
                        to: next.rawValue, now: now)
        return ticket
    }

    static func assign(_ session: SQLSession, number: Int, to assignee: String?, actor: String, now: Date) throws -> Ticket {
        var ticket = try lockTicket(session, number: number)
        let name = assignee?.trimmingCharacters(in: .whitespacesAndNewlines)
        let newAssignee = (name?.isEmpty ?? true) ? nil : name
        if ticket.assignee == newAssignee { return ticket }
        let previous = ticket.assignee
        ticket.assignee = newAssignee
        ticket.updatedAt = now
        try session.execute("UPDATE tickets SET assignee = ?, updated_at = ? WHERE id = ?",
                            [.optional(newAssignee), .date(now), .integer(ticket.id)])
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "assignee", from: previous, to: newAssignee, now: now)
        return ticket
    }

    static func recordCorrection(_ session: SQLSession, ticket: Ticket, field: String, from: String, to: String,
                                 actor: String, now: Date) throws {
        try session.execute("""
            INSERT INTO corrections (ticket_id, field, from_value, to_value, category, priority, text, actor, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(ticket.id), .text(field), .text(from), .text(to), .text(ticket.category),
                  .int(ticket.priority.level), .optional(ticket.description), .text(actor), .date(now)])
    }

    /// Re-prioritises a ticket: new SLA due time (from its creation), an audit
    /// event, and a correction for training.
    static func changePriority(_ session: SQLSession, number: Int, to priority: Priority, actor: String,
                               now: Date, targets: ResponseTargets) throws -> Ticket {
        var ticket = try lockTicket(session, number: number)
        if ticket.priority == priority { return ticket }
        let previous = ticket.priority
        ticket.priority = priority
        ticket.slaDueAt = targets.dueDate(for: priority, createdAt: ticket.createdAt)
        ticket.updatedAt = now
        try session.execute("UPDATE tickets SET priority = ?, sla_due_at = ?, updated_at = ? WHERE id = ?",
                            [.int(priority.level), .optional(ticket.slaDueAt), .date(now), .integer(ticket.id)])
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "priority", from: previous.rawValue,
                        to: priority.rawValue, now: now)
        try recordCorrection(session, ticket: ticket, field: "priority", from: previous.rawValue, to: priority.rawValue,
                             actor: actor, now: now)
        return ticket
    }

    /// Re-categorises a ticket: an audit event and a correction for training.
    static func changeCategory(_ session: SQLSession, number: Int, to category: String, actor: String, now: Date) throws -> Ticket {
        let category = category.trimmingCharacters(in: .whitespacesAndNewlines)
        if category.isEmpty { throw StoreError.invalidInput("a ticket needs a category") }
        var ticket = try lockTicket(session, number: number)
        if ticket.category == category { return ticket }
        let previous = ticket.category
        ticket.category = category
        ticket.updatedAt = now
        try session.execute("UPDATE tickets SET category = ?, updated_at = ? WHERE id = ?",
                            [.text(category), .date(now), .integer(ticket.id)])
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "category", from: previous, to: category, now: now)
        try recordCorrection(session, ticket: ticket, field: "category", from: previous, to: category, actor: actor, now: now)
        return ticket
    }

    /// Adds a note. A public note on a ticket that came from a conversation is
    /// also queued for the resident (message + outbox) and counts as a response.
    static func addNote(_ session: SQLSession, number: Int, text: String, visibility: NoteVisibility, actor: String,
                        now: Date) throws -> Note {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw StoreError.invalidInput("a note needs some text") }
        let ticket = try lockTicket(session, number: number)
        guard let row = try session.queryOne("""
            INSERT INTO notes (ticket_id, author, visibility, text, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id
            """, [.integer(ticket.id), .text(actor), .text(visibility.rawValue), .text(trimmed), .date(now)]),
            let id = row.int64("id") else {
            throw StoreError.database("inserting a note returned no id")
        }
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "note", from: nil,
                        to: "\(visibility.rawValue) note \(id)", now: now)
        if visibility == .public {
            if ticket.firstResponseAt == nil {
                try session.execute("UPDATE tickets SET first_response_at = ?, updated_at = ? WHERE id = ?",
                                    [.date(now), .date(now), .integer(ticket.id)])
            }
            if let conversationID = ticket.conversationID,
               let resident = try session.queryOne("""
                    SELECT r.channel, r.external_id, r.forgotten_at FROM conversations c JOIN residents r ON r.id = c.resident_id
                    WHERE c.id = ?
                    """, [.integer(conversationID)]),
               resident.value("forgotten_at") == .null,
               let channel = resident.string("channel"), let recipient = resident.string("external_id") {
                let messageID = try insertMessage(session, conversationID: conversationID, direction: .outbound,
                                                  channel: channel, deliveryID: nil, text: "#\(number): \(trimmed)", now: now)
                try enqueue(session, messageID: messageID, conversationID: conversationID, channel: channel,
                            recipient: recipient, now: now)
            }
        }
        return Note(id: id, ticketNumber: number, author: actor, visibility: visibility, text: trimmed,
                    createdAt: Date(millisecondsSince1970: now.millisecondsSince1970))
    }

    /// Marks `number` a duplicate of `target`.
    static func merge(_ session: SQLSession, number: Int, into target: Int, actor: String, now: Date) throws -> Ticket {
        if number == target { throw StoreError.invalidMerge(ticket: number, into: target, reason: "a ticket cannot duplicate itself") }
        // Lock in number order so two opposite merges cannot deadlock.
        let (first, second) = (min(number, target), max(number, target))
        let lockedFirst = try lockTicket(session, number: first)
        let lockedSecond = try lockTicket(session, number: second)
        var ticket = number == first ? lockedFirst : lockedSecond
        let into = number == first ? lockedSecond : lockedFirst
        guard ticket.status.isOpen else {
            throw StoreError.invalidMerge(ticket: number, into: target, reason: "#\(number) is \(ticket.status.rawValue); only open tickets can be merged")
        }
        if into.status == .duplicate {
            throw StoreError.invalidMerge(ticket: number, into: target,
                                          reason: "#\(target) is itself a duplicate of #\(into.duplicateOf.map(String.init) ?? "?"); merge into that one")
        }
        let previous = ticket.status
        ticket.status = .duplicate
        ticket.duplicateOf = target
        ticket.closedAt = now
        ticket.updatedAt = now
        try session.execute("UPDATE tickets SET status = 'duplicate', duplicate_of = ?, closed_at = ?, updated_at = ? WHERE id = ?",
                            [.integer(into.id), .date(now), .date(now), .integer(ticket.id)])
        try appendEvent(session, ticketID: ticket.id, actor: actor, kind: "merged_into", from: previous.rawValue,
                        to: "#\(target)", now: now)
        try appendEvent(session, ticketID: into.id, actor: actor, kind: "merged", from: nil, to: "#\(number)", now: now)
        try session.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", [.date(now), .integer(into.id)])
        return ticket
    }

    // MARK: - Residents and conversations

    static func upsertResident(_ session: SQLSession, _ info: ResidentInfo, now: Date) throws -> Int64 {
        if info.channel.isEmpty || info.externalID.isEmpty {
            throw StoreError.invalidInput("a resident needs a channel and an id on that channel")
        }
        guard let row = try session.queryOne("""
            INSERT INTO residents (channel, external_id, display_name, language, unit, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel, external_id) DO UPDATE SET
                display_name = COALESCE(excluded.display_name, residents.display_name),
                language = COALESCE(excluded.language, residents.language),
                unit = COALESCE(excluded.unit, residents.unit),
                updated_at = excluded.updated_at
            RETURNING id
            """, [.text(info.channel), .text(info.externalID), .optional(info.displayName), .optional(info.language),
                  .optional(info.unit), .date(now), .date(now)]),
            let id = row.int64("id") else {
            throw StoreError.database("upserting a resident returned no id")
        }
        return id
    }

    struct ConversationRow {
        var id: Int64
        var version: Int
        var state: Data?
        var handoff: Bool
    }

    /// The resident's conversation (created on first use), locked for this transaction.
    static func conversationRow(_ session: SQLSession, residentID: Int64, now: Date) throws -> ConversationRow {
        try session.execute("""
            INSERT INTO conversations (resident_id, state_version, handoff, created_at, updated_at)
            VALUES (?, 0, FALSE, ?, ?) ON CONFLICT (resident_id) DO NOTHING
            """, [.integer(residentID), .date(now), .date(now)])
        guard let row = try session.queryOne(
            "SELECT id, state_version, state, handoff FROM conversations WHERE resident_id = ?{forUpdate}",
            [.integer(residentID)]), let id = row.int64("id") else {
            throw StoreError.database("the resident's conversation is missing")
        }
        return ConversationRow(id: id, version: row.int("state_version") ?? 0, state: row.data("state"), handoff: row.bool("handoff"))
    }

    @discardableResult
    static func insertMessage(_ session: SQLSession, conversationID: Int64, direction: MessageDirection, channel: String,
                              deliveryID: String?, text: String, now: Date) throws -> Int64 {
        guard let row = try session.queryOne("""
            INSERT INTO messages (conversation_id, direction, channel, delivery_id, text, created_at)
            VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, [.integer(conversationID), .text(direction.rawValue), .text(channel), .optional(deliveryID), .text(text), .date(now)]),
            let id = row.int64("id") else {
            throw StoreError.database("inserting a message returned no id")
        }
        return id
    }

    static func enqueue(_ session: SQLSession, messageID: Int64, conversationID: Int64, channel: String, recipient: String,
                        now: Date) throws {
        try session.execute("""
            INSERT INTO outbox (message_id, conversation_id, channel, recipient, attempts, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, 0, ?, ?)
            """, [.integer(messageID), .integer(conversationID), .text(channel), .text(recipient), .date(now), .date(now)])
    }

    static func conversation(_ session: SQLSession, channel: String, externalID: String) throws -> ConversationSnapshot? {
        guard let residentRow = try session.queryOne("SELECT * FROM residents WHERE channel = ? AND external_id = ?",
                                                     [.text(channel), .text(externalID)]) else { return nil }
        let resident = try self.resident(from: residentRow)
        guard let row = try session.queryOne("SELECT id, state_version, state, handoff FROM conversations WHERE resident_id = ?",
                                             [.integer(resident.id)]), let id = row.int64("id") else { return nil }
        return ConversationSnapshot(conversationID: id, resident: resident, state: row.data("state"),
                                    version: row.int("state_version") ?? 0, handoff: row.bool("handoff"))
    }

    /// The outcome stored for the resident's message `deliveryID`, or nil when
    /// it was not processed before. Throws `deliveryIDConflict` if the key
    /// belongs to another resident's conversation (it never returns their reply);
    /// a resident since forgotten gets the erased outcome (no reply).
    static func storedOutcome(_ session: SQLSession, channel: String, externalID: String,
                              deliveryID: String) throws -> TurnOutcome? {
        let key = ConversationTurn.idempotencyKey(externalID: externalID, deliveryID: deliveryID)
        guard let row = try session.queryOne("""
            SELECT k.conversation_id, k.reply, k.ticket_numbers, k.state_version, r.external_id, r.forgotten_at
            FROM idempotency_keys k JOIN conversations c ON c.id = k.conversation_id JOIN residents r ON r.id = c.resident_id
            WHERE k.channel = ? AND k.delivery_id = ?
            """, [.text(channel), .text(key)]) else { return nil }
        guard row.string("external_id") == externalID || row.date("forgotten_at") != nil else {
            throw StoreError.deliveryIDConflict(channel: channel)
        }
        let numbers = (row.string("ticket_numbers") ?? "").split(separator: ",").compactMap { Int($0) }
        return TurnOutcome(committed: false, reply: row.string("reply"), ticketNumbers: numbers,
                           conversationID: row.int64("conversation_id") ?? 0, version: row.int("state_version") ?? 0)
    }

    /// Commits one conversation turn (see `ConversationTurn`). Throws
    /// `DuplicateDelivery` when the delivery id was processed before.
    static func commitTurn(_ session: SQLSession, turn: ConversationTurn, now: Date, targets: ResponseTargets) throws -> TurnOutcome {
        if turn.deliveryID.isEmpty { throw StoreError.invalidInput("an inbound message needs its channel delivery id") }
        let key = ConversationTurn.idempotencyKey(externalID: turn.resident.externalID, deliveryID: turn.deliveryID)
        let residentID = try upsertResident(session, turn.resident, now: now)
        let conversation = try conversationRow(session, residentID: residentID, now: now)
        // Claim the delivery id first: a concurrent redelivery waits on this
        // row (PostgreSQL) or on the write lock (SQLite), then sees it taken.
        let claimed = try session.execute("""
            INSERT INTO idempotency_keys (channel, delivery_id, conversation_id, reply, ticket_numbers, state_version, created_at)
            VALUES (?, ?, ?, NULL, '', 0, ?) ON CONFLICT (channel, delivery_id) DO NOTHING
            """, [.text(turn.resident.channel), .text(key), .integer(conversation.id), .date(now)])
        if claimed == 0 {
            guard let outcome = try storedOutcome(session, channel: turn.resident.channel, externalID: turn.resident.externalID,
                                                  deliveryID: turn.deliveryID) else {
                throw StoreError.database("delivery \(turn.deliveryID) is claimed but has no stored outcome")
            }
            throw DuplicateDelivery(outcome: outcome)
        }
        if conversation.version != turn.expectedVersion {
            throw StoreError.conversationChanged(conversationID: conversation.id, expected: turn.expectedVersion,
                                                 found: conversation.version)
        }
        try insertMessage(session, conversationID: conversation.id, direction: .inbound, channel: turn.resident.channel,
                          deliveryID: turn.deliveryID, text: turn.inboundText, now: now)
        var numbers: [Int] = []
        for draft in turn.tickets {
            var draft = draft
            draft.resident = nil
            let ticket = try createTicket(session, draft: draft, actor: "concierge", now: now, targets: targets,
                                          residentID: residentID, conversationID: conversation.id)
            numbers.append(ticket.number)
        }
        for action in turn.actions {
            try apply(action, session, residentID: residentID, resident: turn.resident, now: now, targets: targets)
        }
        let reply = turn.reply.map { ConversationTurn.fillingTicketNumbers($0, numbers) }
        if let reply {
            let messageID = try insertMessage(session, conversationID: conversation.id, direction: .outbound,
                                              channel: turn.resident.channel, deliveryID: nil, text: reply, now: now)
            if turn.queueReply {
                try enqueue(session, messageID: messageID, conversationID: conversation.id, channel: turn.resident.channel,
                            recipient: turn.resident.externalID, now: now)
            }
        }
        let version = conversation.version + 1
        try session.execute("UPDATE conversations SET state = ?, state_version = ?, handoff = ?, updated_at = ? WHERE id = ?",
                            [.optional(turn.newState), .int(version), .bool(turn.handoff), .date(now), .integer(conversation.id)])
        let numberList = numbers.map(String.init).joined(separator: ",")
        try session.execute("""
            UPDATE idempotency_keys SET reply = ?, ticket_numbers = ?, state_version = ? WHERE channel = ? AND delivery_id = ?
            """, [.optional(reply), .text(numberList), .int(version), .text(turn.resident.channel), .text(key)])
        return TurnOutcome(committed: true, reply: reply, ticketNumbers: numbers, conversationID: conversation.id, version: version)
    }

    // MARK: - Outbox

    static let outboxColumns = """
        o.id, o.message_id, o.conversation_id, o.channel, o.recipient, o.attempts, o.next_attempt_at,
        o.last_error, o.sent_at, m.text
        """

    static func outboxItem(from row: SQLRow) throws -> OutboxItem {
        OutboxItem(id: try row.required(row.int64("id"), "id"), messageID: try row.required(row.int64("message_id"), "message_id"),
                   conversationID: try row.required(row.int64("conversation_id"), "conversation_id"),
                   channel: row.string("channel") ?? "", recipient: row.string("recipient") ?? "",
                   text: row.string("text") ?? "", attempts: row.int("attempts") ?? 0,
                   nextAttemptAt: try row.required(row.date("next_attempt_at"), "next_attempt_at"),
                   lastError: row.string("last_error"), sentAt: row.date("sent_at"))
    }

    static func dueOutbox(_ session: SQLSession, now: Date, limit: Int, channel: String?, recipient: String?) throws -> [OutboxItem] {
        var conditions = "o.sent_at IS NULL AND o.cancelled_at IS NULL AND o.next_attempt_at <= ?"
        var binds: [SQLValue] = [.date(now)]
        if let channel { conditions += " AND o.channel = ?"; binds.append(.text(channel)) }
        if let recipient { conditions += " AND o.recipient = ?"; binds.append(.text(recipient)) }
        return try session.query("""
            SELECT \(outboxColumns)
            FROM outbox o JOIN messages m ON m.id = o.message_id
            WHERE \(conditions)
            ORDER BY o.next_attempt_at, o.id LIMIT ?
            """, binds + [.int(limit)]).map(outboxItem(from:))
    }

    /// Takes up to `limit` due items of `channels`, oldest first, and moves
    /// their next attempt to `leasedUntil`, so no other worker takes them
    /// meanwhile. On PostgreSQL the rows another transaction is claiming are
    /// skipped (`SKIP LOCKED`); SQLite's write transaction is exclusive.
    static func claimOutbox(_ session: SQLSession, now: Date, leasedUntil: Date, limit: Int, channels: [String]) throws -> [OutboxItem] {
        guard !channels.isEmpty, limit > 0 else { return [] }
        let channelList = Array(repeating: "?", count: channels.count).joined(separator: ", ")
        let ids = try session.query("""
            SELECT id FROM outbox
            WHERE sent_at IS NULL AND cancelled_at IS NULL AND next_attempt_at <= ? AND channel IN (\(channelList))
            ORDER BY next_attempt_at, id LIMIT ?{skipLocked}
            """, [.date(now)] + channels.map(SQLValue.text) + [.int(limit)]).compactMap { $0.int64("id") }
        guard !ids.isEmpty else { return [] }
        let idList = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        try session.execute("UPDATE outbox SET next_attempt_at = ? WHERE id IN (\(idList))",
                            [.date(leasedUntil)] + ids.map(SQLValue.integer))
        let items = try session.query("""
            SELECT \(outboxColumns) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id IN (\(idList))
            """, ids.map(SQLValue.integer)).map(outboxItem(from:))
        let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        return items.sorted { position[$0.id, default: 0] < position[$1.id, default: 0] }
    }

    /// Makes claimed items due at `dueAt` again — only those still under the
    /// lease that ended at `leasedUntil` (an item whose lease ran out may
    /// meanwhile belong to another worker). Returns how many were released.
    static func releaseOutbox(_ session: SQLSession, ids: [Int64], leasedUntil: Date, dueAt: Date) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let idList = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try session.execute("""
            UPDATE outbox SET next_attempt_at = ?
            WHERE id IN (\(idList)) AND next_attempt_at = ? AND sent_at IS NULL AND cancelled_at IS NULL
            """, [.date(dueAt)] + ids.map(SQLValue.integer) + [.date(leasedUntil)])
    }

    static func abandonOutbox(_ session: SQLSession, id: Int64, error: String, now: Date) throws {
        try session.execute("""
            UPDATE outbox SET cancelled_at = ?, last_error = ?, attempts = attempts + 1
            WHERE id = ? AND sent_at IS NULL AND cancelled_at IS NULL
            """, [.date(now), .text(String(PrivacyMask.mask(error).prefix(500))), .integer(id)])
    }

    static func markOutboxSent(_ session: SQLSession, id: Int64, deliveryID: String?, now: Date) throws {
        guard let row = try session.queryOne("""
            UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ? AND sent_at IS NULL RETURNING message_id
            """, [.date(now), .integer(id)]), let messageID = row.int64("message_id") else { return }
        if let deliveryID {
            try session.execute("UPDATE messages SET delivery_id = ? WHERE id = ?", [.text(deliveryID), .integer(messageID)])
        }
    }

    static func markOutboxFailed(_ session: SQLSession, id: Int64, error: String, retryAt: Date) throws {
        try session.execute("""
            UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND sent_at IS NULL
            """, [.text(String(PrivacyMask.mask(error).prefix(500))), .date(retryAt), .integer(id)])
    }

    // MARK: - Corrections

    static func corrections(_ session: SQLSession, includeExported: Bool) throws -> [Correction] {
        try session.query("""
            SELECT c.*, t.number FROM corrections c JOIN tickets t ON t.id = c.ticket_id
            \(includeExported ? "" : "WHERE c.exported_at IS NULL") ORDER BY c.id
            """, []).map { row in
            Correction(id: try row.required(row.int64("id"), "id"), ticketNumber: row.int("number") ?? 0,
                       field: row.string("field") ?? "", from: row.string("from_value") ?? "", to: row.string("to_value") ?? "",
                       category: row.string("category") ?? "", priority: Priority(level: row.int("priority") ?? 3) ?? .p3,
                       text: row.string("text"), actor: row.string("actor") ?? "",
                       createdAt: try row.required(row.date("created_at"), "created_at"), exportedAt: row.date("exported_at"))
        }
    }

    static func markCorrectionsExported(_ session: SQLSession, ids: [Int64], now: Date) throws {
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            try session.execute("UPDATE corrections SET exported_at = ? WHERE exported_at IS NULL AND id IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))",
                                [.date(now)] + chunk.map(SQLValue.integer))
        }
    }

    // MARK: - Privacy

    /// Finds a resident by numeric id or `channel:external-id`.
    static func findResident(_ session: SQLSession, reference: String) throws -> Resident {
        var row: SQLRow?
        if let id = Int64(reference) {
            row = try session.queryOne("SELECT * FROM residents WHERE id = ?", [.integer(id)])
        } else if let colon = reference.firstIndex(of: ":") {
            row = try session.queryOne("SELECT * FROM residents WHERE channel = ? AND external_id = ?",
                                       [.text(String(reference[..<colon])), .text(String(reference[reference.index(after: colon)...]))])
        }
        guard let row else { throw StoreError.residentNotFound(reference) }
        return try resident(from: row)
    }

    /// Erases a resident's personal data: their messages' text, the text,
    /// unit and access notes of their tickets (kept, anonymised, for
    /// statistics), notes and corrections on those tickets, stored replies,
    /// unsent replies, and their name, unit and channel id.
    static func forgetResident(_ session: SQLSession, reference: String, actor: String, now: Date) throws -> ForgetReport {
        let resident = try findResident(session, reference: reference)
        let id = resident.id
        let conversations = "SELECT id FROM conversations WHERE resident_id = ?"
        let tickets = "SELECT id FROM tickets WHERE resident_id = ?"
        let messages = try session.execute("""
            UPDATE messages SET text = NULL, redacted_at = ? WHERE conversation_id IN (\(conversations)) AND text IS NOT NULL
            """, [.date(now), .integer(id)])
        let outbox = try session.execute("""
            UPDATE outbox SET cancelled_at = ? WHERE conversation_id IN (\(conversations)) AND sent_at IS NULL AND cancelled_at IS NULL
            """, [.date(now), .integer(id)])
        try session.execute("UPDATE idempotency_keys SET reply = NULL WHERE conversation_id IN (\(conversations))", [.integer(id)])
        try session.execute("UPDATE conversations SET state = NULL, updated_at = ? WHERE resident_id = ?", [.date(now), .integer(id)])
        let notes = try session.execute("UPDATE notes SET text = NULL WHERE ticket_id IN (\(tickets)) AND text IS NOT NULL",
                                        [.integer(id)])
        let corrections = try session.execute("UPDATE corrections SET text = NULL WHERE ticket_id IN (\(tickets)) AND text IS NOT NULL",
                                              [.integer(id)])
        let ticketIDs = try session.query("SELECT id FROM tickets WHERE resident_id = ?", [.integer(id)]).compactMap { $0.int64("id") }
        try session.execute("""
            UPDATE tickets SET description = NULL, location = NULL, access_notes = NULL, unit = NULL, triage = NULL, updated_at = ?
            WHERE resident_id = ?
            """, [.date(now), .integer(id)])
        for ticketID in ticketIDs {
            try appendEvent(session, ticketID: ticketID, actor: actor, kind: "redacted", from: nil, to: "resident forgotten", now: now)
        }
        try session.execute("""
            UPDATE residents SET display_name = NULL, unit = NULL, external_id = ?, forgotten_at = ?, updated_at = ? WHERE id = ?
            """, [.text("forgotten-\(id)"), .date(now), .date(now), .integer(id)])
        return ForgetReport(residentID: id, messagesRedacted: messages, ticketsAnonymised: ticketIDs.count,
                            notesRedacted: notes, correctionsRedacted: corrections, outboxCancelled: outbox)
    }

    /// The retention purge: the text of tickets that reached a final status
    /// before `cutoff`, and the text of messages older than `cutoff` in
    /// conversations with no open ticket.
    static func purge(_ session: SQLSession, olderThan cutoff: Date, actor: String, now: Date) throws -> PurgeReport {
        let ticketIDs = try session.query("""
            SELECT id FROM tickets WHERE closed_at IS NOT NULL AND purged_at IS NULL AND closed_at < ?
            AND status IN ('closed', 'duplicate', 'rejected')
            """, [.date(cutoff)]).compactMap { $0.int64("id") }
        for chunk in stride(from: 0, to: ticketIDs.count, by: 500).map({ Array(ticketIDs[$0..<min($0 + 500, ticketIDs.count)]) }) {
            let list = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            try session.execute("""
                UPDATE tickets SET description = NULL, location = NULL, access_notes = NULL, triage = NULL, purged_at = ?
                WHERE id IN (\(list))
                """, [.date(now)] + chunk.map(SQLValue.integer))
            // Staff re-labels keep a copy of the resident's words for training: gone too.
            try session.execute("UPDATE corrections SET text = NULL WHERE text IS NOT NULL AND ticket_id IN (\(list))",
                                chunk.map(SQLValue.integer))
            for ticketID in chunk {
                try appendEvent(session, ticketID: ticketID, actor: actor, kind: "redacted", from: nil, to: "retention purge", now: now)
            }
        }
        let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let messages = try session.execute("""
            UPDATE messages SET text = NULL, redacted_at = ?
            WHERE text IS NOT NULL AND created_at < ?
            AND conversation_id NOT IN (SELECT conversation_id FROM tickets WHERE conversation_id IS NOT NULL AND status IN (\(openList)))
            """, [.date(now), .date(cutoff)])
        return PurgeReport(ticketsPurged: ticketIDs.count, messagesPurged: messages)
    }

    // MARK: - Maintenance

    static func statistics(_ session: SQLSession) throws -> StoreStatistics {
        let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return StoreStatistics(
            schemaVersion: try schemaVersion(session),
            residents: try session.scalarInt("SELECT COUNT(*) AS n FROM residents"),
            conversations: try session.scalarInt("SELECT COUNT(*) AS n FROM conversations"),
            messages: try session.scalarInt("SELECT COUNT(*) AS n FROM messages"),
            tickets: try session.scalarInt("SELECT COUNT(*) AS n FROM tickets"),
            openTickets: try session.scalarInt("SELECT COUNT(*) AS n FROM tickets WHERE status IN (\(openList))"),
            events: try session.scalarInt("SELECT COUNT(*) AS n FROM ticket_events"),
            outboxPending: try session.scalarInt("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND cancelled_at IS NULL"),
            correctionsPending: try session.scalarInt("SELECT COUNT(*) AS n FROM corrections WHERE exported_at IS NULL"))
    }

    /// Row-level checks both engines can run: ticket numbers are 1…N without gaps or repeats, and the counter agrees.
    static func checkNumbers(_ session: SQLSession) throws -> (problems: [String], tickets: Int, highest: Int) {
        let count = try session.scalarInt("SELECT COUNT(*) AS n FROM tickets")
        let distinct = try session.scalarInt("SELECT COUNT(DISTINCT number) AS n FROM tickets")
        let highest = try session.scalarInt("SELECT COALESCE(MAX(number), 0) AS n FROM tickets")
        let counter = try session.scalarInt("SELECT value FROM counters WHERE name = 'ticket_number'")
        var problems: [String] = []
        if distinct != count { problems.append("\(count - distinct) repeated ticket numbers") }
        if highest != count { problems.append("ticket numbers have gaps: \(count) tickets, highest number \(highest)") }
        if counter != highest { problems.append("the number counter is \(counter) but the highest ticket is #\(highest)") }
        let withoutEvent = try session.scalarInt("""
            SELECT COUNT(*) AS n FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id)
            """)
        if withoutEvent > 0 { problems.append("\(withoutEvent) tickets have no audit event") }
        return (problems, count, highest)
    }
}
