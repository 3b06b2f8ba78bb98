import Foundation

extension TicketStore {
    // MARK: Tickets

    /// Files a ticket (status `new`, the next number, SLA due time from the
    /// response targets) and logs a `created` event. With `draft.resident`,
    /// the resident is created or updated and the description is recorded as
    /// their message in their conversation.
    @discardableResult
    public func createTicket(_ draft: TicketDraft, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            var residentID: Int64?
            var conversationID: Int64?
            if let info = draft.resident {
                let resident = try session.upsertResident(info, now: now)
                residentID = resident
                let conversation = try session.conversationRow(residentID: resident, now: now)
                conversationID = conversation.id
                try session.insertMessage(conversationID: conversation.id, direction: .inbound, channel: info.channel,
                                          deliveryID: nil, text: draft.description, now: now)
            }
            return try session.insertTicket(draft: draft, actor: actor, now: now, targets: context.targets,
                                            residentID: residentID, conversationID: conversationID)
        })
    }

    /// The ticket numbered `number`; throws `StoreError.ticketNotFound`.
    public func ticket(number: Int) async throws -> Ticket {
        try await run(StoreOperation(.read) { session, _ in try session.fetchTicket(number: number) })
    }

    /// The ticket with its resident, conversation transcript, audit log and notes.
    public func ticketDetail(number: Int) async throws -> TicketDetail {
        try await run(StoreOperation(.read) { session, _ in
            let ticket = try session.fetchTicket(number: number)
            var resident: Resident?
            if let residentID = ticket.residentID,
               let row = try session.queryOne("SELECT * FROM residents WHERE id = ?", [.integer(residentID)]) {
                resident = try Resident(row: row)
            }
            var transcript: [Message] = []
            if let conversationID = ticket.conversationID {
                transcript = try session.query("""
                    SELECT m.*, CASE WHEN o.id IS NULL THEN NULL WHEN o.sent_at IS NOT NULL THEN 'sent'
                        WHEN o.cancelled_at IS NOT NULL THEN 'abandoned' ELSE 'pending' END AS delivery
                    FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
                    WHERE m.conversation_id = ? ORDER BY m.id
                    """, [.integer(conversationID)]).map(Message.init(row:))
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
            return TicketDetail(ticket: ticket, resident: resident, transcript: transcript, events: events, notes: notes,
                                attachments: try session.attachments(ticketID: ticket.id))
        })
    }

    /// Tickets for the staff queue: the most urgent first (priority; among
    /// equals, those their resident reopened as not fixed; then oldest), open
    /// ones unless `filter.statuses` says otherwise.
    public func queue(_ filter: QueueFilter = QueueFilter()) async throws -> [Ticket] {
        try await run(StoreOperation(.read) { session, _ in
            let (sql, binds) = filter.listingQuery()
            return try session.query(sql, binds).map(Ticket.init(row:))
        })
    }

    /// Assigns the ticket to `assignee` (nil or empty: unassigns).
    @discardableResult
    public func assign(number: Int, to assignee: String?, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            var ticket = try session.lockTicket(number: number)
            let name = assignee?.trimmingCharacters(in: .whitespacesAndNewlines)
            let newAssignee = (name?.isEmpty ?? true) ? nil : name
            if ticket.assignee == newAssignee { return ticket }
            let previous = ticket.assignee
            ticket.assignee = newAssignee
            ticket.updatedAt = now
            try session.execute("UPDATE tickets SET assignee = ?, updated_at = ? WHERE id = ?",
                                [.optional(newAssignee), .date(now), .integer(ticket.id)])
            try session.appendEvent(ticketID: ticket.id, actor: actor, kind: "assignee", from: previous, to: newAssignee, now: now)
            return ticket
        })
    }

    /// Moves the ticket to `status`; throws `StoreError.illegalTransition`
    /// when `TicketStatus.allowedNext` does not allow it. Setting the status
    /// it already has changes nothing. With a `notice` (not quiet), the
    /// resident who reported it is told, in the same transaction (message and
    /// outbox: see ``StatusNotice``).
    @discardableResult
    public func changeStatus(number: Int, to status: TicketStatus, actor: ActorName,
                             notice: StatusNotice? = nil) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            let before = try session.lockTicket(number: number)
            let ticket = try session.changeStatus(number: number, to: status, actor: actor, now: context.now)
            if before.status != ticket.status, let notice {
                try session.tell(about: ticket, notice, actor: actor, now: context.now)
            }
            return ticket
        })
    }

    /// Re-prioritises the ticket (recomputing its SLA from its creation) and
    /// records an audit event and a correction for training.
    @discardableResult
    public func changePriority(number: Int, to priority: Priority, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try session.changePriority(number: number, to: priority, actor: actor, now: context.now, targets: context.targets)
        })
    }

    /// Re-categorises the ticket and records an audit event and a correction
    /// for training. The caller checks that `category` is one of the data pack's.
    @discardableResult
    public func changeCategory(number: Int, to category: String, actor: ActorName) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            try session.changeCategory(number: number, to: category, actor: actor, now: context.now)
        })
    }

    /// Adds a note. A public note is also queued for the resident (message
    /// and outbox) when the ticket came from a conversation, and counts as
    /// the first response.
    @discardableResult
    public func addNote(number: Int, text: String, visibility: NoteVisibility, actor: ActorName) async throws -> Note {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { throw StoreError.invalidInput("a note needs some text") }
            let ticket = try session.lockTicket(number: number)
            guard let row = try session.queryOne("""
                INSERT INTO notes (ticket_id, author, visibility, text, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id
                """, [.integer(ticket.id), .text(actor), .text(visibility.rawValue), .text(trimmed), .date(now)]),
                let id = row.int64("id") else {
                throw StoreError.database("inserting a note returned no id")
            }
            try session.appendEvent(ticketID: ticket.id, actor: actor, kind: "note", from: nil,
                                    to: "\(visibility.rawValue) note \(id)", now: now)
            if visibility == .public {
                try session.respondPublicly(on: ticket, text: "#\(number): \(trimmed)", now: now)
            }
            return Note(id: id, ticketNumber: number, author: actor, visibility: visibility, text: trimmed,
                        createdAt: Date(millisecondsSince1970: now.millisecondsSince1970))
        })
    }

    /// Marks ticket `number` a duplicate of `target` (status `duplicate`,
    /// `duplicateOf`), with an event on both tickets.
    @discardableResult
    public func merge(number: Int, into target: Int, actor: ActorName, notice: StatusNotice? = nil) async throws -> Ticket {
        try await run(StoreOperation(.write) { session, context in
            let ticket = try session.merge(number: number, into: target, actor: actor, now: context.now)
            if let notice { try session.tell(about: ticket, notice, actor: actor, now: context.now) }
            return ticket
        })
    }

    // MARK: Corrections

    /// Staff corrections, oldest first; only those not yet exported unless `includeExported`.
    public func corrections(includeExported: Bool = false) async throws -> [Correction] {
        try await run(StoreOperation(.read) { session, _ in
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
        })
    }

    /// Marks corrections as written to the data pack.
    public func markCorrectionsExported(ids: [Int64]) async throws {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                try session.execute("UPDATE corrections SET exported_at = ? WHERE exported_at IS NULL AND id IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))",
                                    [.date(now)] + chunk.map(SQLValue.integer))
            }
        })
    }
}

extension QueueFilter {
    /// The SQL of the queue listing and its bound values (also what the
    /// stores' `explainQueue` explains).
    func listingQuery() -> (sql: String, binds: [SQLValue]) {
        let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        var conditions: [String] = []
        var binds: [SQLValue] = []
        // The literal open-status list matches the partial index `tickets_queue`.
        if statuses.isEmpty || statuses.allSatisfy(\.isOpen) {
            conditions.append("status IN (\(openList))")
        }
        if !statuses.isEmpty {
            conditions.append("status IN (\(Array(repeating: "?", count: statuses.count).joined(separator: ", ")))")
            binds += statuses.map { .text($0.rawValue) }
        }
        if !categories.isEmpty {
            conditions.append("category IN (\(Array(repeating: "?", count: categories.count).joined(separator: ", ")))")
            binds += categories.map { .text($0) }
        }
        if !priorities.isEmpty {
            conditions.append("priority IN (\(Array(repeating: "?", count: priorities.count).joined(separator: ", ")))")
            binds += priorities.map { .int($0.level) }
        }
        if let assignee {
            conditions.append("assignee = ?")
            binds.append(.text(assignee))
        }
        if unassignedOnly { conditions.append("assignee IS NULL") }
        binds.append(.int(max(0, limit)))
        let sql = """
            SELECT id, number, resident_id, conversation_id, category, priority, status, unit, location, access_notes,
                description, confidence, model_version, safety_rule, sla_due_at, first_response_at, assignee,
                created_at, updated_at, closed_at, emergency, resolved_at, resident_confirmation, rating, rating_comment,
                NULL AS duplicate_number,
                (SELECT COUNT(*) FROM attachments a WHERE a.ticket_id = tickets.id AND a.erased_at IS NULL AND a.fetch_failed_at IS NULL) AS photo_count,
                \(Ticket.recurrenceCount) AS recurrence_count
            FROM tickets WHERE \(conditions.joined(separator: " AND "))
            ORDER BY priority, \(TicketQueueOrder.reopenedFirst), created_at, id LIMIT ?
            """
        return (sql, binds)
    }
}

// MARK: - Steps several operations share

/// Each step runs inside the caller's transaction (the session it is called on).
extension SQLSession {
    /// The ticket numbered `number`; throws `StoreError.ticketNotFound`.
    func fetchTicket(number: Int) throws -> Ticket {
        guard let row = try queryOne("SELECT \(Ticket.columns) FROM tickets t WHERE t.number = ?", [.int(number)]) else {
            throw StoreError.ticketNotFound(number)
        }
        return try Ticket(row: row)
    }

    /// The ticket numbered `number`, locked for this transaction (on
    /// PostgreSQL; SQLite's write transaction is already exclusive).
    func lockTicket(number: Int) throws -> Ticket {
        guard let row = try queryOne("SELECT \(Ticket.columns) FROM tickets t WHERE t.number = ?{forUpdate}"
            .replacingOccurrences(of: "{forUpdate}", with: dialect == .postgres ? " FOR UPDATE OF t" : ""),
            [.int(number)]) else {
            throw StoreError.ticketNotFound(number)
        }
        return try Ticket(row: row)
    }

    /// Adds an event to a ticket's audit log.
    func appendEvent(ticketID: Int64, actor: String, kind: String, from: String?, to: String?, now: Date) throws {
        try execute("""
            INSERT INTO ticket_events (ticket_id, actor, kind, from_value, to_value, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, [.integer(ticketID), .text(actor), .text(kind), .optional(from), .optional(to), .date(now)])
    }

    /// Files a ticket: takes the next number, stores it as `new` with its SLA
    /// due time, and logs a `created` event. Used by `createTicket` and by a
    /// conversation turn that files tickets.
    func insertTicket(draft: TicketDraft, actor: String, now: Date, targets: ResponseTargets,
                      residentID: Int64?, conversationID: Int64?) throws -> Ticket {
        try draft.validate()
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        guard let counter = try queryOne(
            "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value", []),
            let number = counter.int("value") else {
            throw StoreError.database("the ticket number counter is missing")
        }
        let due = targets.dueDate(for: draft.priority, createdAt: now)
        guard let row = try queryOne("""
            INSERT INTO tickets (number, resident_id, conversation_id, category, priority, status, unit, location,
                access_notes, description, confidence, model_version, safety_rule, sla_due_at, created_at, updated_at, triage,
                emergency, place, recurrence_key, clarified)
            VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """, [.int(number), .optional(residentID), .optional(conversationID), .text(draft.category),
                  .int(draft.priority.level), .optional(draft.unit), .optional(draft.location),
                  .optional(draft.accessNotes), .text(draft.description), .optional(draft.confidence),
                  .optional(draft.modelVersion), .optional(draft.safetyRule), .optional(due), .date(now), .date(now),
                  .optional(draft.triage), .optional(draft.emergency?.rawValue), .optional(draft.place),
                  .optional(draft.recurrenceKey), draft.clarified.map(SQLValue.bool) ?? .null]),
            let id = row.int64("id") else {
            throw StoreError.database("inserting a ticket returned no id")
        }
        try appendEvent(ticketID: id, actor: actor, kind: "created", from: nil,
                        to: "\(draft.category) \(draft.priority.rawValue)", now: now)
        return Ticket(id: id, number: number, residentID: residentID, conversationID: conversationID,
                      category: draft.category, priority: draft.priority, status: .new, unit: draft.unit,
                      location: draft.location, accessNotes: draft.accessNotes, description: draft.description,
                      confidence: draft.confidence, modelVersion: draft.modelVersion, safetyRule: draft.safetyRule,
                      slaDueAt: due, firstResponseAt: nil, assignee: nil, duplicateOf: nil,
                      createdAt: now, updatedAt: now, closedAt: nil, triage: draft.triage, emergency: draft.emergency)
    }

    /// Moves a ticket to `next` (see `TicketStore.changeStatus`). Used by that
    /// operation and by the seeder, which works many tickets per transaction.
    func changeStatus(number: Int, to next: TicketStatus, actor: String, now: Date) throws -> Ticket {
        var ticket = try lockTicket(number: number)
        if ticket.status == next { return ticket }
        guard ticket.status.canMove(to: next) else {
            throw StoreError.illegalTransition(ticket: number, from: ticket.status, to: next)
        }
        let previous = ticket.status
        ticket.status = next
        ticket.updatedAt = now
        if TicketStatus.responding.contains(next), ticket.firstResponseAt == nil { ticket.firstResponseAt = now }
        ticket.closedAt = next.isFinal ? now : nil
        // Resolved anew: the resident is asked again whether it is fixed.
        if next == .resolved { ticket.resolvedAt = now; ticket.residentConfirmation = nil }
        if next != .resolved && next != .closed { ticket.resolvedAt = nil }
        var duplicateCleared = false
        if previous == .duplicate { ticket.duplicateOf = nil; duplicateCleared = true }
        try execute("""
            UPDATE tickets SET status = ?, updated_at = ?, first_response_at = ?, closed_at = ?, resolved_at = ?,
                resident_confirmation = ?\(duplicateCleared ? ", duplicate_of = NULL" : "")
            WHERE id = ?
            """, [.text(next.rawValue), .date(now), .optional(ticket.firstResponseAt), .optional(ticket.closedAt),
                  .optional(ticket.resolvedAt), .optional(ticket.residentConfirmation?.rawValue), .integer(ticket.id)])
        try appendEvent(ticketID: ticket.id, actor: actor, kind: "status", from: previous.rawValue,
                        to: next.rawValue, now: now)
        return ticket
    }

    /// Marks `number` a duplicate of `target` (see `TicketStore.merge`). Used
    /// by that operation and by the seeder.
    func merge(number: Int, into target: Int, actor: String, now: Date) throws -> Ticket {
        if number == target { throw StoreError.invalidMerge(ticket: number, into: target, reason: "a ticket cannot duplicate itself") }
        // Lock in number order so two opposite merges cannot deadlock.
        let (first, second) = (min(number, target), max(number, target))
        let lockedFirst = try lockTicket(number: first)
        let lockedSecond = try lockTicket(number: second)
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
        try execute("UPDATE tickets SET status = 'duplicate', duplicate_of = ?, closed_at = ?, updated_at = ? WHERE id = ?",
                    [.integer(into.id), .date(now), .date(now), .integer(ticket.id)])
        try appendEvent(ticketID: ticket.id, actor: actor, kind: "merged_into", from: previous.rawValue,
                        to: "#\(target)", now: now)
        try appendEvent(ticketID: into.id, actor: actor, kind: "merged", from: nil, to: "#\(number)", now: now)
        try execute("UPDATE tickets SET updated_at = ? WHERE id = ?", [.date(now), .integer(into.id)])
        return ticket
    }

    /// `TicketStore.changePriority`'s step (also the demo seeder's).
    func changePriority(number: Int, to priority: Priority, actor: String, now: Date, targets: ResponseTargets) throws -> Ticket {
        var ticket = try lockTicket(number: number)
        if ticket.priority == priority { return ticket }
        let previous = ticket.priority
        ticket.priority = priority
        ticket.slaDueAt = targets.dueDate(for: priority, createdAt: ticket.createdAt)
        ticket.updatedAt = now
        try execute("UPDATE tickets SET priority = ?, sla_due_at = ?, updated_at = ? WHERE id = ?",
                    [.int(priority.level), .optional(ticket.slaDueAt), .date(now), .integer(ticket.id)])
        try appendEvent(ticketID: ticket.id, actor: actor, kind: "priority", from: previous.rawValue, to: priority.rawValue, now: now)
        try recordCorrection(ticket: ticket, field: "priority", from: previous.rawValue, to: priority.rawValue, actor: actor, now: now)
        return ticket
    }

    /// `TicketStore.changeCategory`'s step (also the demo seeder's).
    func changeCategory(number: Int, to category: String, actor: String, now: Date) throws -> Ticket {
        let category = category.trimmingCharacters(in: .whitespacesAndNewlines)
        if category.isEmpty { throw StoreError.invalidInput("a ticket needs a category") }
        var ticket = try lockTicket(number: number)
        if ticket.category == category { return ticket }
        let previous = ticket.category
        ticket.category = category
        ticket.updatedAt = now
        try execute("UPDATE tickets SET category = ?, updated_at = ? WHERE id = ?", [.text(category), .date(now), .integer(ticket.id)])
        try appendEvent(ticketID: ticket.id, actor: actor, kind: "category", from: previous, to: category, now: now)
        try recordCorrection(ticket: ticket, field: "category", from: previous, to: category, actor: actor, now: now)
        return ticket
    }

    /// Records a staff re-label (priority or category) for training, with the ticket's text.
    fileprivate func recordCorrection(ticket: Ticket, field: String, from: String, to: String, actor: String, now: Date) throws {
        try execute("""
            INSERT INTO corrections (ticket_id, field, from_value, to_value, category, priority, text, actor, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(ticket.id), .text(field), .text(from), .text(to), .text(ticket.category),
                  .int(ticket.priority.level), .optional(ticket.description), .text(actor), .date(now)])
    }

    /// A public note's side of `addNote`: it counts as the first response,
    /// and when the ticket came from a conversation whose resident was not
    /// forgotten, `text` is queued for them (message and outbox).
    fileprivate func respondPublicly(on ticket: Ticket, text: String, now: Date) throws {
        if ticket.firstResponseAt == nil {
            try execute("UPDATE tickets SET first_response_at = ?, updated_at = ? WHERE id = ?",
                        [.date(now), .date(now), .integer(ticket.id)])
        }
        try queueForResident(of: ticket, now: now) { _ in text }
    }

    /// Queues a message for the resident who reported `ticket` (message and
    /// outbox), worded by `text` in their language (nil when unknown); nothing
    /// when the ticket came from no conversation, the resident was forgotten,
    /// or `text` gives nothing. Returns whether a message was queued.
    @discardableResult
    func queueForResident(of ticket: Ticket, now: Date, text: (_ language: String?) -> String?) throws -> Bool {
        guard let conversationID = ticket.conversationID else { return false }
        return try queueForResident(conversationID: conversationID, now: now, text: text)
    }

    /// Queues `text` (given the resident's language) to the resident of
    /// conversation `conversationID` on their channel; false when they were
    /// forgotten or `text` gives nothing.
    func queueForResident(conversationID: Int64, now: Date, text: (_ language: String?) -> String?) throws -> Bool {
        guard let resident = try queryOne("""
                SELECT r.channel, r.external_id, r.language, r.forgotten_at FROM conversations c
                JOIN residents r ON r.id = c.resident_id WHERE c.id = ?
                """, [.integer(conversationID)]),
              resident.value("forgotten_at") == .null,
              let channel = resident.string("channel"), let recipient = resident.string("external_id"),
              let words = text(resident.string("language")) else { return false }
        let messageID = try insertMessage(conversationID: conversationID, direction: .outbound,
                                          channel: channel, deliveryID: nil, text: words, now: now)
        try enqueue(messageID: messageID, conversationID: conversationID, channel: channel, recipient: recipient, now: now)
        return true
    }
}

extension TicketStatus {
    /// Moving a ticket to one of these counts as the first response to it.
    fileprivate static let responding: Set<TicketStatus> = [.inProgress, .pendingResident, .resolved]
}

extension TicketDraft {
    /// What recurring problems are counted by: the shared place, else the
    /// unit (`unit 4B`, upper-cased), else nothing.
    var recurrenceKey: String? {
        if let place, !place.isEmpty { return place }
        guard let unit = unit?.trimmingCharacters(in: .whitespaces), !unit.isEmpty else { return nil }
        return "unit " + unit.uppercased()
    }

    /// Throws `StoreError.invalidInput` for a draft that cannot be filed.
    fileprivate func validate() throws {
        if category.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoreError.invalidInput("a ticket needs a category")
        }
        if description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoreError.invalidInput("a ticket needs a description (what is wrong)")
        }
        if let confidence, !(0...1).contains(confidence) || confidence.isNaN {
            throw StoreError.invalidInput("model confidence must be between 0 and 1, got \(confidence)")
        }
    }
}

/// The queue's order, shared by its listing and its index (schema 9).
enum TicketQueueOrder {
    /// 0 for a ticket the resident reopened ("not fixed"), else 1: first among equals.
    static let reopenedFirst = "CASE WHEN resident_confirmation = 'not_fixed' THEN 0 ELSE 1 END"
}
