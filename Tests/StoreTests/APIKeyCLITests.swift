import Foundation
import StaffAuth
import Testing
import TestSupport
@testable import Store

/// `concierge apikey` through the built binary.
@Suite("API key CLI")
struct APIKeyCLITests {
    @Test func addPrintsTheKeyOnceThenListAndRevoke() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.path]
        var result = try await onOwnThread { try runConcierge(["apikey", "list"] + home) }
        #expect(result.status == 0 && result.stdout.contains("No API keys yet"), "\(result.stdout)\(result.stderr)")

        result = try await onOwnThread { try runConcierge(["apikey", "add", "city-dashboard"] + home) }
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Added public API key city-dashboard. The key (shown only now):")
        let secret = try #require(lines.last)
        #expect(lines.count == 2 && SecretToken.isWellFormed(secret), "\(result.stdout)")
        result = try await onOwnThread { try runConcierge(["apikey", "add", "works", "--full"] + home) }
        #expect(result.status == 0 && result.stdout.hasPrefix("Added full API key works."), "\(result.stdout)\(result.stderr)")
        let worksSecret = try #require(result.stdout.split(separator: "\n").last.map(String.init))

        result = try await onOwnThread { try runConcierge(["apikey", "add", "CITY-DASHBOARD"] + home) }
        #expect(result.status != 0 && result.stderr.contains("already an API key \"CITY-DASHBOARD\""), "\(result.stderr)")
        result = try await onOwnThread { try runConcierge(["apikey", "add", "two words"] + home) }
        #expect(result.status != 0 && result.stderr.contains("not a space"), "\(result.stderr)")

        result = try await onOwnThread { try runConcierge(["apikey", "list"] + home) }
        #expect(result.status == 0)
        let table = result.stdout.split(separator: "\n").map(String.init)
        #expect(table.count == 4, "header, rule, two keys: \(result.stdout)")
        #expect(table.first?.hasPrefix("name") == true && table.first?.contains("scope") == true)
        #expect(table.count == 4 && table[2].hasPrefix("city-dashboard ") && table[2].contains(" public "), "\(result.stdout)")
        #expect(!result.stdout.contains(secret), "the key is never shown again")

        result = try await onOwnThread { try runConcierge(["apikey", "revoke", "City-Dashboard"] + home) }
        #expect(result.status == 0 && result.stdout == "Revoked the API key city-dashboard.\n", "\(result.stdout)\(result.stderr)")
        result = try await onOwnThread { try runConcierge(["apikey", "revoke", "city-dashboard"] + home) }
        #expect(result.status != 0 && result.stderr.contains("no API key \"city-dashboard\""), "\(result.stderr)")

        let json = try await onOwnThread { try runConcierge(["apikey", "list", "--json"] + home) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let keys = try decoder.decode([APIKey].self, from: Data(json.stdout.utf8))
        #expect(keys.map(\.name) == ["city-dashboard", "works"] && keys.map(\.scope) == [.public, .full])
        #expect(keys.map(\.isRevoked) == [true, false])

        // The keys the CLI printed are the ones the store finds, until revoked.
        let store = try await StoreLocation.sqlite(directory.url.appendingPathComponent("concierge.sqlite")).open(configuration: .quiet())
        #expect(try await store.apiKey(secret: worksSecret)?.name == "works")
        #expect(try await store.apiKey(secret: secret) == nil)
        await store.close()
    }
}
