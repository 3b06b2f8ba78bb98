import ArgumentParser
import Dialogue
import Foundation
import Store

/// `concierge ticket …`: look at and work on one ticket.
struct TicketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket",
        abstract: "Show, file and work on tickets.",
        discussion: """
        Every change is one transaction with its entry in the ticket's audit \
        log. Re-categorising or re-prioritising also records a correction that \
        `concierge corrections export` turns into training examples.

        Status changes follow this table (anything else is refused):
          new              → triaged, in_progress, pending_resident, resolved, rejected
          triaged          → in_progress, pending_resident, resolved, rejected
          in_progress      → triaged, pending_resident, resolved, rejected
          pending_resident → triaged, in_progress, resolved, rejected, closed
          resolved         → closed, in_progress (reopen)
          closed           → (final)
          duplicate        → triaged (un-merge); reached only with `ticket merge`
          rejected         → triaged (reopen)

        The resident who reported a ticket is told, on their channel and in \
        their language, when it moves to in_progress, pending_resident (with \
        --question), resolved (asking "is it fixed?"), rejected, or is merged; \
        --quiet changes the status without telling them. The words are the \
        data pack's (community.yaml status_updates).
        """,
        subcommands: [Show.self, Create.self, Assign.self, Status.self, PriorityCommand.self, CategoryCommand.self,
                      NoteCommand.self, Merge.self, AttachmentCommand.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A ticket with its conversation, notes, audit log and the model's confidence.")

        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The ticket number.") var number: Int
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let detail = try await withStore(storeOptions) { store in try await store.ticketDetail(number: number) }
            if json {
                print(try jsonText(detail))
            } else {
                print(TicketText.render(detail, now: Date()), terminator: "")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "File a ticket by hand (staff, or testing before the chat).",
            discussion: """
            Example: concierge ticket create --category plumbing --priority P2 --unit 4B "kitchen tap leaking". \
            With --resident CHANNEL:ID the ticket is linked to that resident and \
            the text is recorded as their message.
            """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "A category id of the data pack (plumbing, noise, …).") var category: String
        @Option(help: "P1–P4 (default: the category's default priority).") var priority: String?
        @Option(help: "The unit (e.g. 4B).") var unit: String?
        @Option(help: "Where in the unit or building.") var location: String?
        @Option(help: "How staff may get in (key, pets, call first).") var access: String?
        @Option(help: "The resident as CHANNEL:ID (e.g. terminal:alice).") var resident: String?
        @Option(help: "The resident's display name.") var name: String?
        @Option(help: "The data pack folder (default: intents/ of the checkout).") var intents: String?
        @Flag(help: "Print the ticket as JSON.") var json = false
        @Argument(help: "What is wrong, in the resident's words.") var text: String

        func run() async throws {
            let facts = PackFacts.load(intents: intents)
            try facts.check(category: category)
            let chosen: Priority
            if let priority {
                guard let parsed = Priority(parsing: priority) else { throw ValidationError("unknown priority \"\(priority)\" (P1, P2, P3 or P4)") }
                chosen = parsed
            } else {
                chosen = facts.categories[category] ?? .p3
            }
            var residentInfo: ResidentInfo?
            if let resident {
                guard let colon = resident.firstIndex(of: ":"), colon != resident.startIndex, resident.index(after: colon) != resident.endIndex else {
                    throw ValidationError("--resident must be CHANNEL:ID, e.g. terminal:alice")
                }
                residentInfo = ResidentInfo(channel: String(resident[..<colon]), externalID: String(resident[resident.index(after: colon)...]),
                                            displayName: name, unit: unit)
            }
            let draft = TicketDraft(category: category, priority: chosen, description: text, unit: unit, location: location,
                                    accessNotes: access, resident: residentInfo)
            let ticket = try await withStore(storeOptions, targets: facts.targets) { store in
                try await store.createTicket(draft, actor: actorOptions.actor)
            }
            if json {
                print(try jsonText(ticket))
            } else {
                let due = ticket.slaDueAt.map { ", response due \(Terminal.time($0))" } ?? ""
                print("Filed ticket #\(ticket.number) (\(ticket.category), \(ticket.priority.rawValue)\(due)).")
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a ticket to someone (or --nobody).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "Who will handle it.") var assignee: String?
        @Flag(help: "Remove the assignee.") var nobody = false

        func validate() throws {
            if (assignee == nil) == !nobody { throw ValidationError("give a name or --nobody") }
        }

        func run() async throws {
            let ticket = try await withStore(storeOptions) { store in
                try await store.assign(number: number, to: nobody ? nil : assignee, actor: actorOptions.actor)
            }
            print("Ticket #\(ticket.number) is \(ticket.assignee.map { "assigned to \($0)" } ?? "unassigned").")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a ticket to another status (see `concierge ticket --help` for the table).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "new, triaged, in_progress, pending_resident, resolved, closed or rejected.") var status: String
        @Option(help: "What staff ask the resident (with pending_resident); sent to them and kept as a public note.")
        var question: String?
        @Flag(help: "Do not tell the resident (the change is still in the audit log).") var quiet = false
        @Option(help: "The data pack folder, for the words residents are told (default: intents/ of the checkout).")
        var intents: String?

        func validate() throws {
            guard let next = TicketStatus(parsing: status) else {
                throw ValidationError("unknown status \"\(status)\" (\(TicketStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if question != nil, next != .pendingResident { throw ValidationError("--question goes with pending_resident") }
            if question?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true {
                throw ValidationError("--question needs some text")
            }
        }

        func run() async throws {
            guard let next = TicketStatus(parsing: status) else { throw ValidationError("unknown status \"\(status)\"") }
            let wording = PackFacts.load(intents: intents).wording
            let notice = wording?.notice(quiet: quiet, question: question)
            let ticket = try await withStore(storeOptions) { store in
                try await store.changeStatus(number: number, to: next, actor: actorOptions.actor, notice: notice)
            }
            let told = notice != nil && !quiet && ticket.conversationID != nil
                && wording?.text(StatusUpdate(ticket: number, status: ticket.status, language: nil)) != nil
            print("Ticket #\(ticket.number) is \(ticket.status.rawValue)\(told ? "; the resident is told" : "").")
        }
    }

    struct PriorityCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "priority", abstract: "Re-prioritise a ticket (recomputes its SLA; records a correction).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "The data pack folder, for the response targets (default: intents/ of the checkout).") var intents: String?
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "P1, P2, P3 or P4.") var priority: String

        func run() async throws {
            guard let value = Priority(parsing: priority) else { throw ValidationError("unknown priority \"\(priority)\" (P1, P2, P3 or P4)") }
            let facts = PackFacts.load(intents: intents)
            let ticket = try await withStore(storeOptions, targets: facts.targets) { store in
                try await store.changePriority(number: number, to: value, actor: actorOptions.actor)
            }
            let due = ticket.slaDueAt.map { "response due \(Terminal.time($0))" } ?? "no response target"
            print("Ticket #\(ticket.number) is \(ticket.priority.rawValue) (\(due)).")
        }
    }

    struct CategoryCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "category", abstract: "Re-categorise a ticket (records a correction).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "The data pack folder, to check the category (default: intents/ of the checkout).") var intents: String?
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "A category id of the data pack.") var category: String

        func run() async throws {
            try PackFacts.load(intents: intents).check(category: category)
            let ticket = try await withStore(storeOptions) { store in
                try await store.changeCategory(number: number, to: category, actor: actorOptions.actor)
            }
            print("Ticket #\(ticket.number) is in \(ticket.category).")
        }
    }

    struct NoteCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note",
            abstract: "Add a note: internal (staff only) by default, --public to also send it to the resident.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "The note.") var text: String
        @Flag(help: "Visible to the resident (queued as a reply when the ticket came from a conversation).") var `public` = false

        func run() async throws {
            let note = try await withStore(storeOptions) { store in
                try await store.addNote(number: number, text: text, visibility: `public` ? .public : .internal, actor: actorOptions.actor)
            }
            print("Added \(note.visibility.rawValue) note \(note.id) to ticket #\(number).")
        }
    }

    struct AttachmentCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attachment",
            abstract: "Save one of a ticket's photos to a file (`ticket show` lists them with their ids).",
            discussion: "Example: concierge ticket attachment 12 3 --output leak.jpg")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The ticket number.") var number: Int
        @Argument(help: "The photo's id.") var id: Int64
        @Option(help: "The file to write (refused if it exists).") var output: String

        func run() async throws {
            let url = URL(fileURLWithPath: output)
            guard !FileManager.default.fileExists(atPath: url.path) else {
                throw CLIError("\(output) exists; choose another file name")
            }
            let (attachment, data) = try await withStore(storeOptions) { store in try await store.attachment(ticket: number, id: id) }
            try data.write(to: url, options: .withoutOverwriting)
            print("Wrote \(data.count) bytes (\(attachment.contentType), sha256 \(attachment.sha256.prefix(12))…) to \(output).")
        }
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a ticket a duplicate of another.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "The duplicate ticket's number.") var number: Int
        @Option(help: "The ticket it duplicates.") var into: Int
        @Flag(help: "Do not tell the resident (the merge is still in the audit log).") var quiet = false
        @Option(help: "The data pack folder, for the words residents are told (default: intents/ of the checkout).")
        var intents: String?

        func run() async throws {
            let notice = PackFacts.load(intents: intents).wording?.notice(quiet: quiet)
            let ticket = try await withStore(storeOptions) { store in
                try await store.merge(number: number, into: into, actor: actorOptions.actor, notice: notice)
            }
            print("Ticket #\(ticket.number) is a duplicate of #\(into).")
        }
    }
}

/// The text of `ticket show`.
enum TicketText {
    static func render(_ detail: TicketDetail, now: Date) -> String {
        let ticket = detail.ticket
        var out = Terminal.paint("Ticket #\(ticket.number)", .bold) + "  \(ticket.category) · \(ticket.priority.rawValue) · \(ticket.status.rawValue)\n"
        func line(_ label: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            out += label.padding(toLength: 12, withPad: " ", startingAt: 0) + value + "\n"
        }
        line("Filed", "\(Terminal.time(ticket.createdAt)) (\(Terminal.duration(now.timeIntervalSince(ticket.createdAt))) ago)")
        if let resident = detail.resident {
            let who = resident.forgottenAt != nil ? "forgotten resident \(resident.id)"
                : "\(resident.displayName ?? "resident") (id \(resident.id), \(resident.channel):\(resident.externalID))"
            line("Resident", who)
        } else {
            line("Resident", "— (filed by staff)")
        }
        line("Unit", ticket.unit)
        line("Location", ticket.location)
        line("Access", ticket.accessNotes)
        line("Assignee", ticket.assignee ?? "—")
        switch ticket.sla(now: now) {
        case .none: line("SLA", "no response target")
        case .met: line("SLA", "met (responded \(ticket.firstResponseAt.map(Terminal.time) ?? ""))")
        case .missed: line("SLA", "missed (due \(ticket.slaDueAt.map(Terminal.time) ?? ""), responded \(ticket.firstResponseAt.map(Terminal.time) ?? ""))")
        case .due(let seconds): line("SLA", "\(Terminal.duration(seconds)) left (due \(ticket.slaDueAt.map(Terminal.time) ?? ""))")
        case .breached(let seconds): line("SLA", Terminal.paint("BREACHED \(Terminal.duration(seconds)) ago", .red) + " (due \(ticket.slaDueAt.map(Terminal.time) ?? ""))")
        }
        if let confidence = ticket.confidence {
            line("Model", String(format: "%.0f%% confident", confidence * 100) + (ticket.modelVersion.map { " (model \($0))" } ?? ""))
        } else {
            line("Model", "— (filed by hand)")
        }
        line("Safety rule", ticket.safetyRule)
        line("Emergency", ticket.emergency.map { $0 == .unconfirmed ? Terminal.paint($0.explanation, .red) : $0.explanation })
        line("Fixed?", ticket.residentConfirmation?.explanation)
        line("Rating", ticket.ratingSummary)
        line("Duplicate of", ticket.duplicateOf.map { "#\($0)" })
        out += "\n" + (ticket.description ?? "[text purged or erased]") + "\n"

        if !detail.transcript.isEmpty {
            out += "\n" + Terminal.paint("Conversation", .bold) + "\n"
            for message in detail.transcript {
                let arrow = message.direction == .inbound ? "resident →" : "← reply   "
                let delivery = message.delivery.map { $0 == .sent ? "  (delivered)" : $0 == .pending ? "  (not delivered yet)" : "  (NOT delivered)" } ?? ""
                out += "  \(Terminal.time(message.createdAt))  \(arrow)  \(message.text ?? "[redacted]")\(delivery)\n"
            }
        }
        if !detail.attachments.isEmpty {
            out += "\n" + Terminal.paint("Photos", .bold) + " (concierge ticket attachment \(ticket.number) ID --output FILE)\n"
            for photo in detail.attachments {
                let what = switch photo.fetch {
                case _ where photo.erased: "[erased]"
                case .fetching: "[being fetched from the platform]"
                case .failed(let reason): "[not kept: \(reason)]"
                case .stored: "\(photo.contentType), \(photo.byteCount) bytes, sha256 \(photo.sha256.prefix(12))…"
                }
                out += "  id \(photo.id)  \(Terminal.time(photo.createdAt))  \(what)\n"
            }
        }
        if !detail.notes.isEmpty {
            out += "\n" + Terminal.paint("Notes", .bold) + "\n"
            for note in detail.notes {
                out += "  \(Terminal.time(note.createdAt))  \(note.author) (\(note.visibility.rawValue)): \(note.text ?? "[redacted]")\n"
            }
        }
        out += "\n" + Terminal.paint("Audit log", .bold) + "\n"
        let table = TextTable(columns: ["when", "who", "what", "from", "to"])
        for event in detail.events {
            table.add([Terminal.time(event.at), event.actor, event.kind, event.from ?? "", event.to ?? ""])
        }
        out += table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        return out
    }
}
