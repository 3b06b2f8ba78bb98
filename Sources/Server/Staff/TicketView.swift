import Foundation
import Store
import Triage

/// Who is signed in, for every page's header and forms.
struct StaffHeader: Sendable {
    var name: String
    var role: String
    var isAdmin: Bool
    /// The session's CSRF token, in a hidden field of every form.
    var csrf: String

    init(_ staff: AuthenticatedStaff) {
        name = staff.account.name
        role = staff.account.role.rawValue
        isAdmin = staff.account.role == .admin
        csrf = staff.session.csrfToken
    }
}

/// The ticket page: the ticket, its triage decision with the words that
/// drove it highlighted, the conversation, notes, audit log and the actions.
struct TicketPage: Sendable {
    struct Summary: Sendable {
        var number: Int
        var category: String
        var categoryID: String
        var priority: String
        var priorityClass: String
        var status: String
        var sla: SLAView
        var assignee: String?
        var unit: String?
        var location: String?
        var accessNotes: String?
        var description: String?
        var created: String
        var updated: String
        var confidence: String?
        var modelVersion: String?
        var safetyRule: String?
        /// How its emergency was reached, or that a possible one is unconfirmed.
        var emergency: String?
        /// What the resident said to "is it fixed?", and their rating.
        var confirmation: String?
        var rating: String?
        var duplicateOf: Int?
        var isOpen: Bool
    }

    struct ResidentView: Sendable {
        var reference: String
        var name: String?
        var language: String?
        var unit: String?
        var forgotten: Bool
    }

    /// A run of the triaged message; Mustache reads stored properties only.
    struct SegmentView: Sendable {
        var text: String
        var highlighted: Bool
        var classes: String
        var reason: String

        init(_ segment: HighlightedSegment) {
            text = segment.text
            highlighted = segment.highlighted
            classes = segment.classes
            reason = segment.reason
        }
    }

    struct WordView: Sendable {
        var word: String
        var influence: String
    }

    struct TriageView: Sendable {
        var kind: String
        var intent: String
        var category: String?
        var priority: String?
        var modelPriority: String?
        var confidence: String?
        var priorityConfidence: String?
        var language: String
        var segments: [SegmentView]
        var intentWords: [WordView]
        var priorityWords: [WordView]
        var safetyRule: String?
        var safetyWords: String?
        var hasExplanation: Bool
    }

    /// Who a transcript message is from, with an outbound one's delivery.
    static func who(_ message: Message) -> String {
        guard message.direction == .outbound else { return "resident" }
        switch message.delivery {
        case .sent?: return "to resident · delivered"
        case .pending?: return "to resident · not delivered yet"
        case .abandoned?: return "to resident · NOT delivered"
        case nil: return "to resident"
        }
    }

    /// A resident's photo: its address on this server (nil once erased) and a label.
    struct PhotoView: Sendable {
        var url: String?
        var label: String
    }

    struct MessageView: Sendable {
        var inbound: Bool
        var who: String
        var when: String
        var text: String?
    }

    struct NoteView: Sendable {
        var author: String
        var when: String
        var isPublic: Bool
        var text: String?
    }

    struct EventView: Sendable {
        var when: String
        var actor: String
        var kind: String
        var from: String?
        var to: String?
    }

    var title: String
    var staff: StaffHeader
    var ticket: Summary
    var resident: ResidentView?
    var triage: TriageView?
    var transcript: [MessageView]
    var notes: [NoteView]
    var photos: [PhotoView]
    var hasPhotos: Bool
    var events: [EventView]
    var statusOptions: [StaffOption]
    var categoryOptions: [StaffOption]
    var priorityOptions: [StaffOption]
    var staffNames: [String]
    var canChangeStatus: Bool
    var canMerge: Bool
    var canRecategorise: Bool
    var error: String?
    var notice: String?

    init(staff: StaffHeader, detail: TicketDetail, staffNames: [String], catalog: StaffCatalog, format: StaffFormatting,
         error: String? = nil, notice: String? = nil) {
        let ticket = detail.ticket
        title = "Ticket #\(ticket.number)"
        self.staff = staff
        self.ticket = Summary(
            number: ticket.number, category: catalog.name(of: ticket.category), categoryID: ticket.category,
            priority: ticket.priority.rawValue, priorityClass: ticket.priority.rawValue.lowercased(),
            status: StaffFormatting.label(ticket.status), sla: format.sla(ticket), assignee: ticket.assignee, unit: ticket.unit,
            location: ticket.location, accessNotes: ticket.accessNotes, description: ticket.description,
            created: format.time(ticket.createdAt) + " (" + format.age(ticket.createdAt) + ")", updated: format.time(ticket.updatedAt),
            confidence: StaffFormatting.percent(ticket.confidence), modelVersion: ticket.modelVersion, safetyRule: ticket.safetyRule,
            emergency: ticket.emergency?.explanation, confirmation: ticket.residentConfirmation?.explanation,
            rating: ticket.ratingSummary, duplicateOf: ticket.duplicateOf, isOpen: ticket.status.isOpen)
        resident = detail.resident.map { resident in
            ResidentView(reference: "\(resident.channel):\(resident.externalID)", name: resident.displayName,
                         language: resident.language, unit: resident.unit, forgotten: resident.forgottenAt != nil)
        }
        // The decision holds the message's text: once the ticket's text was
        // purged or erased, it is not shown either.
        triage = ticket.description == nil ? nil : StoredTriage.decode(ticket.triage).map(Self.triageView)
        transcript = detail.transcript.map { message in
            MessageView(inbound: message.direction == .inbound, who: Self.who(message),
                        when: format.time(message.createdAt), text: message.text)
        }
        photos = detail.attachments.enumerated().map { index, photo in
            let label = "Photo \(index + 1) · \(format.time(photo.createdAt)) · "
            switch photo.fetch {
            case .fetching: return PhotoView(url: nil, label: label + "being fetched from the platform")
            case .failed(let reason): return PhotoView(url: nil, label: label + "not kept: \(reason)")
            case .stored:
                return PhotoView(url: photo.erased ? nil : "/staff/tickets/\(ticket.number)/attachments/\(photo.id)",
                                 label: label + "\(photo.contentType) · \(StaffFormatting.size(photo.byteCount))")
            }
        }
        hasPhotos = !photos.isEmpty
        notes = detail.notes.map { note in
            NoteView(author: note.author, when: format.time(note.createdAt), isPublic: note.visibility == .public, text: note.text)
        }
        events = detail.events.map { event in
            EventView(when: format.time(event.at), actor: event.actor, kind: event.kind, from: event.from, to: event.to)
        }
        statusOptions = ticket.status.allowedNext.map { StaffOption(value: $0.rawValue, label: StaffFormatting.label($0), selected: false) }
        categoryOptions = catalog.options(selected: ticket.category)
        priorityOptions = Priority.allCases.map {
            StaffOption(value: $0.rawValue, label: $0.rawValue, selected: $0 == ticket.priority)
        }
        self.staffNames = staffNames
        canChangeStatus = !ticket.status.allowedNext.isEmpty
        canMerge = ticket.status.isOpen
        canRecategorise = !catalog.categories.isEmpty
        self.error = error
        self.notice = notice
    }

    static func triageView(_ decision: TriageDecision) -> TriageView {
        func words(_ list: [WordInfluence]?) -> [WordView] {
            (list ?? []).map { WordView(word: $0.word, influence: String(format: "%+.2f", $0.influence)) }
        }
        return TriageView(
            kind: decision.kind.rawValue.replacingOccurrences(of: "_", with: " "), intent: decision.intent,
            category: decision.category, priority: decision.priority?.rawValue, modelPriority: decision.modelPriority?.rawValue,
            confidence: StaffFormatting.percent(decision.confidence), priorityConfidence: StaffFormatting.percent(decision.priorityConfidence),
            language: decision.language,
            segments: ExplanationHighlight.segments(text: decision.text, explanation: decision.explanation, safety: decision.safety)
                .map(SegmentView.init),
            intentWords: words(decision.explanation?.intentWords), priorityWords: words(decision.explanation?.priorityWords),
            safetyRule: decision.safety?.rule, safetyWords: decision.safety?.matchedText,
            hasExplanation: decision.explanation != nil)
    }
}
