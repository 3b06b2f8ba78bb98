import Foundation
import StaffAuth
import Testing
import TestSupport
@testable import Store

/// API keys for the Open311 API and the ticket search it reads, on both engines.
@Suite("API keys and ticket search (both engines)")
struct APIKeyTests {
    func isInvalidInput(_ error: StoreError) -> Bool {
        if case .invalidInput = error { return true } else { return false }
    }

    @Test(arguments: Backend.all)
    func keysAreIssuedOnceFoundByTheirSecretAndRevoked(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let dashboard = try await store.addAPIKey(name: " city-dashboard ", scope: .public)
            #expect(dashboard.key.name == "city-dashboard" && dashboard.key.scope == .public && dashboard.key.createdAt == db.clock.now)
            #expect(SecretToken.isWellFormed(dashboard.secret))
            db.clock.advance(by: 60)
            let staffTool = try await store.addAPIKey(name: "Works.Dept", scope: .full)
            #expect(staffTool.secret != dashboard.secret)

            #expect(try await store.apiKey(secret: dashboard.secret) == dashboard.key)
            #expect(try await store.apiKey(secret: staffTool.secret)?.scope == .full)
            // Unknown, malformed, and almost-right secrets find nothing.
            #expect(try await store.apiKey(secret: SecretToken.generate()) == nil)
            #expect(try await store.apiKey(secret: "") == nil)
            #expect(try await store.apiKey(secret: "' OR 1=1 --") == nil)
            #expect(try await store.apiKey(secret: String(dashboard.secret.dropLast()) + (dashboard.secret.hasSuffix("A") ? "B" : "A")) == nil)

            // Only the SHA-256 of the secret is stored.
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM api_keys WHERE key_hash = '\(SecretToken.digest(dashboard.secret))'") == 1)
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM api_keys WHERE key_hash = '\(dashboard.secret)' OR name = '\(dashboard.secret)'") == 0)

            #expect(try await store.apiKeys().map(\.name) == ["city-dashboard", "Works.Dept"])
            let taken = await expectStoreError({ try await store.addAPIKey(name: "CITY-DASHBOARD", scope: .full) }) {
                $0 == .apiKeyNameTaken("CITY-DASHBOARD")
            }
            #expect(taken?.description.contains("ignoring case") == true)

            db.clock.advance(by: 60)
            let revoked = try await store.revokeAPIKey(name: "City-Dashboard")
            #expect(revoked.revokedAt == db.clock.now && revoked.isRevoked)
            #expect(try await store.apiKey(secret: dashboard.secret) == nil, "a revoked key is refused")
            await expectStoreError({ try await store.revokeAPIKey(name: "city-dashboard") }) { $0 == .apiKeyNotFound("city-dashboard") }
            await expectStoreError({ try await store.revokeAPIKey(name: "nobody") }) { $0 == .apiKeyNotFound("nobody") }

            // The name is free again: a replacement key, while the revoked one stays refused and listed.
            let replacement = try await store.addAPIKey(name: "city-dashboard", scope: .public)
            #expect(try await store.apiKey(secret: replacement.secret)?.id == replacement.key.id)
            #expect(try await store.apiKey(secret: dashboard.secret) == nil)
            let listed = try await store.apiKeys()
            #expect(listed.map(\.name) == ["city-dashboard", "city-dashboard", "Works.Dept"])
            #expect(listed.map(\.isRevoked) == [false, true, false], "newest first within a name")

            for bad in ["", "   ", "two words", "semi;colon", String(repeating: "k", count: 65)] {
                await expectStoreError({ try await store.addAPIKey(name: bad, scope: .public) }, isInvalidInput)
            }
            #expect(try await store.apiKeys().count == 3, "refused keys are not stored")
        }
    }

    /// A database from before API keys (schema 3) gains them when opened.
    @Test(arguments: Backend.all)
    func version3DatabaseIsMigrated(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            try await store.createTicket(draft(), actor: "t")
            for sql in rollback(to: 3) {
                _ = try await rawSQL(store, sql)
            }
            #expect(try await store.schemaVersion() == 3)
            let reopened = try await db.open()
            #expect(try await reopened.schemaVersion() == Migrations.latestVersion)
            #expect(try await reopened.ticket(number: 1).emergency == nil, "the emergency column is added, empty")
            let issued = try await reopened.addAPIKey(name: "city", scope: .full)
            #expect(try await reopened.apiKey(secret: issued.secret)?.name == "city")
            #expect(try await reopened.ticket(number: 1).description == "the kitchen tap drips")
            await reopened.close()
        }
    }

    @Test(arguments: Backend.all)
    func searchFindsTicketsByNumberTimeCategoryAndStatusWithTheLatestPublicNote(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let start = db.clock.now
            let ana = ResidentInfo(channel: "sms", externalID: "+16045550100", displayName: "Ana", unit: "4B")
            try await store.createTicket(draft("plumbing", .p2, "sink leaks", resident: ana), actor: "t")          // #1 at start
            db.clock.advance(by: 3600)
            try await store.createTicket(draft("elevator", .p1, "elevator stuck", unit: nil), actor: "t")         // #2 at +1 h
            db.clock.advance(by: 3600)
            try await store.createTicket(draft("plumbing", .p3, "slow drain"), actor: "t")                       // #3 at +2 h
            try await store.addNote(number: 1, text: "plumber booked", visibility: .public, actor: "gina")
            try await store.addNote(number: 1, text: "key from office", visibility: .internal, actor: "gina")
            try await store.addNote(number: 1, text: "plumber comes Tuesday", visibility: .public, actor: "gina")
            try await store.addNote(number: 1, text: "ana says thanks", visibility: .internal, actor: "gina")
            try await store.changeStatus(number: 3, to: .resolved, actor: "gina")

            let all = try await store.searchTickets(TicketSearch())
            #expect(all.map(\.ticket.number) == [3, 2, 1], "newest first")
            #expect(all.last?.latestPublicNote?.text == "plumber comes Tuesday", "the newest public note, never an internal one")
            #expect(all.first?.latestPublicNote == nil)
            #expect(all.allSatisfy { $0.resident == nil }, "residents only when asked for")

            let withResidents = try await store.searchTickets(TicketSearch(numbers: [1, 99, 2, 1]), withResidents: true)
            #expect(withResidents.map(\.ticket.number) == [1, 2], "in the order asked, unknown and repeated numbers left out")
            #expect(withResidents.first?.resident?.externalID == "+16045550100" && withResidents.first?.resident?.displayName == "Ana")
            #expect(withResidents.last?.resident == nil, "a ticket staff filed has no resident")

            let plumbing = try await store.searchTickets(TicketSearch(categories: ["plumbing"]))
            #expect(plumbing.map(\.ticket.number) == [3, 1])
            let open = try await store.searchTickets(TicketSearch(statuses: TicketStatus.open))
            #expect(open.map(\.ticket.number) == [2, 1])
            let window = try await store.searchTickets(TicketSearch(createdFrom: start.addingTimeInterval(1800),
                                                                    createdTo: start.addingTimeInterval(3600)))
            #expect(window.map(\.ticket.number) == [2], "both ends inclusive")
            #expect(try await store.searchTickets(TicketSearch(limit: 2)).map(\.ticket.number) == [3, 2])
            #expect(try await store.searchTickets(TicketSearch(limit: 0)).isEmpty)
        }
    }
}
