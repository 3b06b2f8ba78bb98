import DataPack
import Dialogue
import Foundation
import HTTPTypes
import Hummingbird
import Store

/// The queue and the ticket page, and what staff do to a ticket. Every
/// change goes through the store (one transaction with its audit event;
/// re-categorising and re-prioritising also record a correction) with the
/// staff member's name as the actor, then redirects back to the ticket
/// (post/redirect/get). A change the store refuses (an illegal status
/// change, a bad merge) shows the ticket again with the reason.
struct StaffTicketDesk: Sendable {
    let gate: StaffGate

    /// What the ticket page says after each kind of change (`?done=…`); fixed texts, nothing echoed.
    static let notices: [String: String] = [
        "assign": "Assignee saved.",
        "status": "Status changed.",
        "category": "Category changed (recorded as a correction for training).",
        "priority": "Priority changed and the SLA recomputed (recorded as a correction).",
        "internal": "Internal note added.",
        "public": "Public reply added: it is queued to the resident and shows in their status lookup.",
        "merge": "Marked as a duplicate.",
    ]

    /// The longest note accepted.
    static let noteLimit = 4000

    // MARK: Queue

    /// `GET /staff`: the queue with its filters.
    func queue(_ request: Request) async throws -> Response {
        try await gate.page(request) { staff in
            gate.pages.render("queue", try await queuePage(request, staff: staff))
        }
    }

    /// `GET /staff/queue/rows`: the queue's rows alone, for the page's refresh.
    func queueRows(_ request: Request) async throws -> Response {
        try await gate.fragment(request) { staff in
            gate.pages.render("queueRows", try await queuePage(request, staff: staff))
        }
    }

    /// The queue as the request's filters select it: two reads (tickets, then their residents' languages).
    private func queuePage(_ request: Request, staff: AuthenticatedStaff) async throws -> QueuePage {
        let filters = QueueFilters(query: request.staffQuery)
        let tickets = try await gate.store.queue(filters.storeFilter(me: staff.account.name))
        let languages = try await gate.store.residentLanguages(ids: tickets.compactMap(\.residentID))
        let catalog = gate.catalog
        return QueuePage(staff: StaffHeader(staff), tickets: tickets, languages: languages, filters: filters,
                         catalog: catalog, format: gate.formatting(catalog))
    }

    // MARK: Ticket

    /// `GET /staff/tickets/:number`.
    func ticket(_ request: Request, context: some RequestContext) async throws -> Response {
        try await gate.page(request) { staff in
            guard let number = Self.number(context) else { return notFound(staff) }
            let done = request.staffQuery("done").flatMap { Self.notices[$0] }
            return try await ticketPage(number, staff: staff, notice: done)
        }
    }

    /// One of a ticket's photos, for a signed-in session only (401 JSON
    /// without one), served with its stored type; the staff headers add
    /// `nosniff`, the page's CSP and `no-store`.
    func attachment(_ request: Request, context: some RequestContext) async throws -> Response {
        try await gate.fragment(request) { _ in
            let missing = WebhookError(.notFound, code: "not_found", message: "there is no such photo")
            guard let number = Self.number(context), let text = context.parameters.get("id"), let id = Int64(text) else {
                throw missing
            }
            do {
                let (attachment, data) = try await gate.store.attachment(ticket: number, id: id)
                return Response(status: .ok,
                                headers: [.contentType: attachment.contentType, .contentDisposition: "inline"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            } catch StoreError.attachmentNotFound {
                throw missing
            }
        }
    }

    /// The ticket page for `number`, with an error or a notice.
    func ticketPage(_ number: Int, staff: AuthenticatedStaff, error: String? = nil, notice: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let detail: TicketDetail
        do {
            detail = try await gate.store.ticketDetail(number: number)
        } catch StoreError.ticketNotFound {
            return notFound(staff)
        }
        let names = try await gate.store.staffAccounts().filter { !$0.isDisabled }.map(\.name)
        let catalog = gate.catalog
        return gate.pages.render("ticket", TicketPage(staff: StaffHeader(staff), detail: detail, staffNames: names,
                                                      catalog: catalog, format: gate.formatting(catalog),
                                                      error: error, notice: notice), status: status)
    }

    private func notFound(_ staff: AuthenticatedStaff) -> Response {
        gate.pages.message("No such ticket", "There is no ticket with that number.", staff: StaffHeader(staff), status: .notFound)
    }

    static func number(_ context: some RequestContext) -> Int? {
        guard let text = context.parameters.get("number"), let number = Int(text), number > 0 else { return nil }
        return number
    }

    // MARK: Actions

    /// A change to ticket `:number`: `change` does it and names the notice to show.
    func change(_ request: Request, context: some RequestContext,
                _ change: @escaping @Sendable (Int, AuthenticatedStaff, StaffForm) async throws -> String) async throws -> Response {
        try await gate.action(request) { staff, form in
            guard let number = Self.number(context) else {
                throw WebhookError(.notFound, code: "not_found", message: "there is no such ticket")
            }
            do {
                let done = try await change(number, staff, form)
                return StaffResponse.redirect(to: "/staff/tickets/\(number)?done=\(done)")
            } catch let refusal as StaffFormProblem {
                return try await ticketPage(number, staff: staff, error: refusal.message, status: .unprocessableContent)
            } catch let error as StoreError {
                switch error {
                case .ticketNotFound(number): return notFound(staff)
                case .illegalTransition, .invalidMerge, .ticketNotFound:
                    return try await ticketPage(number, staff: staff, error: Self.sentence(error), status: .conflict)
                case .invalidInput:
                    return try await ticketPage(number, staff: staff, error: Self.sentence(error), status: .unprocessableContent)
                default: throw error
                }
            }
        }
    }

    /// How the resident hears of a status change: the form's question (only
    /// with pending resident) and its "quiet" box, in the pack's words.
    /// Refused while the pack is loading unless quiet, so no update is lost.
    static func statusNotice(_ form: StaffForm, status: TicketStatus, pack: DataPack?) throws -> StatusNotice? {
        let question = form.trimmed("question"), quiet = form.trimmed("quiet") != nil
        if question != nil, status != .pendingResident {
            throw StaffFormProblem("A question for the resident goes with “pending resident”.")
        }
        if let question, question.count > Self.maximumQuestionLength {
            throw StaffFormProblem("A question for the resident has at most \(Self.maximumQuestionLength) characters.")
        }
        guard let pack else {
            if quiet { return nil }
            throw StaffFormProblem("The assistant is still loading, so the resident cannot be told yet; try again shortly.")
        }
        return StatusUpdateWording(pack: pack).notice(quiet: quiet, question: question)
    }

    /// The longest question staff may send a resident with a status change.
    static let maximumQuestionLength = 2_000

    /// The store's message as a sentence (capitalised, with a full stop).
    static func sentence(_ error: StoreError) -> String {
        let text = error.description
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst() + (text.hasSuffix(".") ? "" : ".")
    }

    func assign(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            let assignee = form.trimmed("assignee")
            if let assignee, assignee.count > StaffName.maximumLength {
                throw StaffFormProblem("An assignee name has at most \(StaffName.maximumLength) characters.")
            }
            try await gate.store.assign(number: number, to: assignee, actor: staff.account.name)
            return "assign"
        }
    }

    func status(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            guard let status = form.trimmed("status").flatMap(TicketStatus.init(parsing:)) else {
                throw StaffFormProblem("Choose a status.")
            }
            let notice = try Self.statusNotice(form, status: status, pack: gate.assistant.current?.pack)
            try await gate.store.changeStatus(number: number, to: status, actor: staff.account.name, notice: notice)
            return "status"
        }
    }

    func category(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            let catalog = gate.catalog
            guard !catalog.categories.isEmpty else {
                throw StaffFormProblem("The categories are still loading with the model; try again shortly.")
            }
            guard let category = form.trimmed("category"), catalog.has(category) else {
                throw StaffFormProblem("Choose one of the data pack's categories.")
            }
            try await gate.store.changeCategory(number: number, to: category, actor: staff.account.name)
            return "category"
        }
    }

    func priority(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            guard let priority = form.trimmed("priority").flatMap(Priority.init(parsing:)) else {
                throw StaffFormProblem("Choose P1, P2, P3 or P4.")
            }
            try await gate.store.changePriority(number: number, to: priority, actor: staff.account.name)
            return "priority"
        }
    }

    func note(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            guard let text = form.trimmed("text") else { throw StaffFormProblem("Write the note first.") }
            guard text.count <= Self.noteLimit else {
                throw StaffFormProblem("A note has at most \(Self.noteLimit) characters.")
            }
            let visibility: NoteVisibility = form["visibility"] == "public" ? .public : .internal
            try await gate.store.addNote(number: number, text: text, visibility: visibility, actor: staff.account.name)
            return visibility.rawValue
        }
    }

    func merge(_ request: Request, context: some RequestContext) async throws -> Response {
        try await change(request, context: context) { number, staff, form in
            guard let target = form.trimmed("into").flatMap({ Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "#"))) }),
                  target > 0 else {
                throw StaffFormProblem("Give the number of the ticket this one duplicates.")
            }
            let notice = gate.assistant.current.map { StatusUpdateWording(pack: $0.pack).notice(quiet: form.trimmed("quiet") != nil) }
            try await gate.store.merge(number: number, into: target, actor: staff.account.name, notice: notice)
            return "merge"
        }
    }
}

/// A form value the staff page refuses, with the sentence to show.
struct StaffFormProblem: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
