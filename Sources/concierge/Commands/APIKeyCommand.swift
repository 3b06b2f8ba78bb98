import ArgumentParser
import Foundation
import Store

/// `concierge apikey …`: the keys city systems and dashboards present to the Open311 API.
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "Add, list and revoke API keys for the Open311 API (/open311/v2/).",
        discussion: """
        Reading the Open311 API needs no key and shows the public view: \
        status, category, times, public notes, common-area locations. A key \
        is needed to file requests (POST requests.json). A --full key also \
        sees priorities, descriptions, units and residents' contact details.

        The key is printed once, when it is made; the store keeps only its \
        SHA-256. Names are unique among keys not revoked, so a key is \
        replaced by revoking it and adding one of the same name.
        """,
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print it (once).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Who the key is for: letters, digits, \".\", \"_\", \"-\" or \"@\" (unique ignoring case).")
        var name: String
        @Flag(help: "Also show priorities, descriptions, units and residents' contact details.") var full = false

        func run() async throws {
            let issued = try await withStore(storeOptions) { store in
                try await store.addAPIKey(name: name, scope: full ? .full : .public)
            }
            print("Added \(issued.key.scope.rawValue) API key \(issued.key.name). The key (shown only now):")
            print(issued.secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The API keys: name, scope, created, revoked (never the keys themselves).")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let keys = try await withStore(storeOptions) { store in try await store.apiKeys() }
            if json {
                print(try jsonText(keys))
                return
            }
            if keys.isEmpty {
                print("No API keys yet. Make one with `concierge apikey add NAME` (or --full).")
                return
            }
            let table = TextTable(columns: ["name", "scope", "created", "revoked"])
            for key in keys {
                table.add([key.name, key.scope.rawValue, Terminal.time(key.createdAt), key.revokedAt.map(Terminal.time) ?? "—"])
            }
            print(table.render(), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it is refused from now on.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            let key = try await withStore(storeOptions) { store in try await store.revokeAPIKey(name: name) }
            print("Revoked the API key \(key.name).")
        }
    }
}
