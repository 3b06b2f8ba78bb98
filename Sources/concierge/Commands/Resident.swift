import ArgumentParser
import Foundation
import Store

/// `concierge resident …`: residents' personal data.
struct ResidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resident",
        abstract: "Show, hand back or forget a resident.",
        subcommands: [Show.self, Release.self, Forget.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What the store holds about a resident.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The resident's id, or CHANNEL:ID.") var id: String
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let resident = try await withStore(storeOptions) { store in try await store.resident(id) }
            if json {
                print(try jsonText(resident))
                return
            }
            print("Resident \(resident.id): \(resident.displayName ?? "—") (\(resident.channel):\(resident.externalID))")
            print("Unit: \(resident.unit ?? "—")  Language: \(resident.language ?? "—")  Since: \(Terminal.time(resident.createdAt))")
            if let forgotten = resident.forgottenAt { print("Forgotten on \(Terminal.time(forgotten)).") }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a conversation a resident handed to staff back to the assistant.",
            discussion: """
            When a resident asks for a human, the assistant stays quiet on their \
            conversation until a staff member releases it with this command.
            """)
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The resident's id, or CHANNEL:ID.") var id: String

        func run() async throws {
            try await withStore(storeOptions) { store in
                let resident = try await store.resident(id)
                let changed = try await store.setHandoff(channel: resident.channel, externalID: resident.externalID, handoff: false)
                print(changed ? "The assistant answers \(resident.channel):\(resident.externalID) again."
                              : "\(resident.channel):\(resident.externalID) was not handed to staff; nothing changed.")
            }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a resident's personal data (keeps anonymised tickets for statistics).",
            discussion: """
            Redacts the text of their messages, stored replies and unsent \
            replies (cancelled); erases the description, location, unit and \
            access notes of their tickets, and the notes and corrections on \
            them, keeping category, priority, status and times; replaces their \
            name, unit and channel id. It cannot be undone: without --yes it only \
            says what it would do.
            """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "The resident's id, or CHANNEL:ID.") var id: String
        @Flag(help: "Really erase.") var yes = false

        func run() async throws {
            try await withStore(storeOptions) { store in
                let resident = try await store.resident(id)
                guard yes else {
                    print("This erases the personal data of resident \(resident.id) (\(resident.channel):\(resident.externalID)) for good.")
                    print("Run again with --yes to do it.")
                    throw ExitCode.failure
                }
                let report = try await store.forgetResident(String(resident.id), actor: actorOptions.actor)
                print("Forgot resident \(report.residentID): \(report.messagesRedacted) message(s) redacted, "
                      + "\(report.ticketsAnonymised) ticket(s) anonymised, \(report.notesRedacted) note(s) and "
                      + "\(report.correctionsRedacted) correction(s) erased, \(report.outboxCancelled) unsent repl(ies) cancelled, "
                      + "\(report.attachmentsErased) photo(s) erased.")
            }
        }
    }
}
