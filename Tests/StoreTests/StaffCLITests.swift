import Foundation
import Testing
import TestSupport
@testable import Store

/// `concierge staff` through the built binary, passwords on standard input.
@Suite("Staff CLI")
struct StaffCLITests {
    @Test func addFromStdinThenListAndManage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.path]
        var result = try runConcierge(["staff", "list"] + home)
        #expect(result.status == 0 && result.stdout.contains("No staff accounts yet"), "\(result.stdout)\(result.stderr)")

        result = try runConcierge(["staff", "add", "Ivy", "--admin"] + home, input: "correct horse battery\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Added admin account Ivy.\n")
        result = try runConcierge(["staff", "add", "bo"] + home, input: "another long password\r\n")
        #expect(result.status == 0 && result.stdout == "Added staff account bo.\n", "\(result.stderr)")

        // Refusals: one clear line, non-zero exit, nothing stored.
        result = try runConcierge(["staff", "add", "dee"] + home, input: "too short\n")
        #expect(result.status != 0 && result.stderr.contains("at least 12 characters"), "\(result.stderr)")
        result = try runConcierge(["staff", "add", "IVY"] + home, input: "yet another password\n")
        #expect(result.status != 0 && result.stderr.contains("already a staff account \"Ivy\""), "\(result.stderr)")
        result = try runConcierge(["staff", "add", "dee"] + home)
        #expect(result.status != 0 && result.stderr.contains("no password on standard input"), "\(result.stderr)")
        result = try runConcierge(["staff", "add", "dee lee"] + home, input: "a long enough password\n")
        #expect(result.status != 0 && result.stderr.contains("not a space"), "\(result.stderr)")

        result = try runConcierge(["staff", "list"] + home)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "header, rule, two accounts: \(result.stdout)")
        #expect(lines.first?.hasPrefix("name") == true && lines.first?.contains("last login") == true)
        #expect(lines.count == 4 && lines[2].hasPrefix("bo ") && lines[2].contains(" staff "), "\(result.stdout)")
        #expect(lines.last?.hasPrefix("Ivy ") == true && lines.last?.contains(" admin ") == true && lines.last?.contains("never") == true)

        result = try runConcierge(["staff", "role", "bo", "admin"] + home)
        #expect(result.status == 0 && result.stdout == "bo is an admin.\n", "\(result.stderr)")
        result = try runConcierge(["staff", "role", "bo", "boss"] + home)
        #expect(result.status != 0 && result.stderr.contains("unknown role \"boss\""))
        result = try runConcierge(["staff", "disable", "ivy"] + home)
        #expect(result.status == 0 && result.stdout == "Disabled Ivy; 0 session(s) signed out.\n", "\(result.stdout)\(result.stderr)")
        result = try runConcierge(["staff", "role", "bo", "staff"] + home)
        #expect(result.status != 0 && result.stderr.contains("only enabled admin"), "\(result.stderr)")
        result = try runConcierge(["staff", "passwd", "BO"] + home, input: "a brand new password\n")
        #expect(result.status == 0 && result.stdout == "Changed the password of bo; 0 session(s) signed out.\n", "\(result.stderr)")
        result = try runConcierge(["staff", "passwd", "nobody"] + home, input: "a brand new password\n")
        #expect(result.status != 0 && result.stderr.contains("there is no staff account \"nobody\""), "\(result.stderr)")

        let json = try runConcierge(["staff", "list", "--json"] + home)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let accounts = try decoder.decode([StaffAccount].self, from: Data(json.stdout.utf8))
        #expect(accounts.map(\.name) == ["bo", "Ivy"] && accounts.map(\.role) == [.admin, .admin])
        #expect(accounts.map(\.isDisabled) == [false, true])

        // The CLI stores production-strength hashes, and the new password signs in.
        let store = try SQLiteTicketStore(url: directory.url.appendingPathComponent("concierge.sqlite"), configuration: .quiet())
        #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_accounts WHERE password_hash LIKE '$scrypt$ln=15,r=8,p=1$%'") == 2)
        let bo = try await store.authenticate(name: "bo", password: "a brand new password")
        #expect(bo.role == .admin && bo.lastLoginAt != nil)
        await store.close()
    }
}
