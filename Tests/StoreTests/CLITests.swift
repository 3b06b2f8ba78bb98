import DataPack
import Foundation
import Testing
import TestSupport
@testable import Store

/// The staff CLI end to end, on a temporary home (the built `concierge` binary).
@Suite("Store CLI")
struct StoreCLITests {
    @Test func createQueueShowAndWorkATicket() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.path]
        var result = try runConcierge(["ticket", "create", "--category", "plumbing", "--priority", "P2", "--unit", "4B",
                                       "--resident", "terminal:ana", "--name", "Ana", "--as", "ivy", "kitchen tap leaking"] + home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Filed ticket #1 (plumbing, P2, response due"))
        result = try runConcierge(["ticket", "create", "--category", "elevator", "--priority", "P1", "电梯困人了"] + home)
        #expect(result.stdout.hasPrefix("Filed ticket #2"))
        result = try runConcierge(["ticket", "create", "--category", "noise", "loud party"] + home)
        #expect(result.stdout.hasPrefix("Filed ticket #3 (noise, P3"), "default priority from the data pack: \(result.stdout)")

        result = try runConcierge(["queue"] + home)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5 && lines[0].hasPrefix("#"))
        #expect(lines[2].hasPrefix("2 ") && lines[3].hasPrefix("1 ") && lines[4].hasPrefix("3 "), "\(result.stdout)")
        #expect(!result.stdout.contains("\u{1B}["), "no colour when not a terminal")

        result = try runConcierge(["queue", "--json", "--priority", "P1", "--priority", "P2"] + home)
        let entries = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.compactMap { $0["number"] as? Int } == [2, 1])
        #expect(entries?.first?["sla"] as? String == "due")

        #expect(try runConcierge(["ticket", "assign", "1", "Bo", "--as", "ivy"] + home).status == 0)
        #expect(try runConcierge(["ticket", "status", "1", "in-progress", "--as", "ivy"] + home).status == 0)
        #expect(try runConcierge(["ticket", "category", "1", "appliances", "--as", "ivy"] + home).status == 0)
        #expect(try runConcierge(["ticket", "priority", "1", "P3", "--as", "ivy"] + home).status == 0)
        #expect(try runConcierge(["ticket", "note", "1", "washer hose, replacing", "--as", "ivy"] + home).status == 0)
        #expect(try runConcierge(["ticket", "merge", "3", "--into", "1", "--as", "ivy"] + home).status == 0)

        result = try runConcierge(["ticket", "show", "1"] + home)
        #expect(result.status == 0)
        for expected in ["Ticket #1", "appliances · P3 · in_progress", "Ana (id 1, terminal:ana)", "Bo", "kitchen tap leaking",
                         "resident →", "washer hose, replacing", "category", "plumbing", "merged", "#3", "ivy", "— (filed by hand)"] {
            #expect(result.stdout.contains(expected), "missing \(expected) in:\n\(result.stdout)")
        }

        // Bad input: one clear line, non-zero exit.
        result = try runConcierge(["ticket", "status", "1", "new"] + home)
        #expect(result.status != 0)
        #expect(result.stderr.contains("ticket #1 cannot go from in_progress to new"), "\(result.stderr)")
        result = try runConcierge(["ticket", "category", "1", "plumbin"] + home)
        #expect(result.status != 0 && result.stderr.contains("unknown category \"plumbin\""))
        result = try runConcierge(["ticket", "show", "77"] + home)
        #expect(result.status != 0 && result.stderr.contains("there is no ticket #77"))
    }

    @Test func correctionsExportWritesALoadablePackFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.appendingPathComponent("home").path]
        let intents = directory.url.appendingPathComponent("intents")
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("intents"), to: intents)
        _ = try runConcierge(["ticket", "create", "--category", "noise", "the radiator in 4B is \"banging\" all night\nreally"] + home)
        _ = try runConcierge(["ticket", "category", "1", "heating_cooling"] + home)
        _ = try runConcierge(["ticket", "priority", "1", "P2"] + home)
        var result = try runConcierge(["corrections", "export", "--intents", intents.path] + home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Wrote 1 example(s) from 2 correction(s)"))
        let files = try FileManager.default.contentsOfDirectory(atPath: intents.appendingPathComponent("corrections").path)
        #expect(files.count == 1 && files[0].hasPrefix("staff-") && files[0].hasSuffix(".yaml"))

        let (pack, diagnostics) = DataPackLoader.read(directory: intents)
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        let correction = try #require(pack?.corrections.first)
        #expect(correction.text == "the radiator in 4B is \"banging\" all night\nreally")
        #expect(correction.intent == "heating_cooling" && correction.priority == .p2)

        result = try runConcierge(["corrections", "export", "--intents", intents.path] + home)
        #expect(result.stdout.contains("No new corrections"))
    }

    @Test func forgetNeedsYesThenErases() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.path]
        _ = try runConcierge(["ticket", "create", "--category", "plumbing", "--resident", "sms:+16045550142", "leak, call 604-555-0142"] + home)
        var result = try runConcierge(["resident", "forget", "sms:+16045550142"] + home)
        #expect(result.status != 0 && result.stdout.contains("--yes"))
        #expect(try runConcierge(["ticket", "show", "1"] + home).stdout.contains("leak, call"))
        result = try runConcierge(["resident", "forget", "1", "--yes"] + home)
        #expect(result.status == 0 && result.stdout.contains("1 ticket(s) anonymised"), "\(result.stdout)\(result.stderr)")
        let shown = try runConcierge(["ticket", "show", "1"] + home).stdout
        #expect(!shown.contains("604") && shown.contains("forgotten resident 1"))
    }

    @Test func badDatabasesGiveOneClearErrorAndNonZeroExit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.url.appendingPathComponent("concierge.sqlite")
        try Data("this is not a database, it is a shopping list\n".utf8).write(to: database)
        let result = try runConcierge(["queue", "--home", directory.url.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is damaged or is not a Concierge database"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count <= 2)
        #expect(try String(contentsOf: database, encoding: .utf8) == "this is not a database, it is a shopping list\n")

        let bad = try runConcierge(["queue", "--store", "postgres://me:hunter2@127.0.0.1:1/db?sslmode=disable"])
        #expect(bad.status != 0 && bad.stderr.contains("cannot reach the PostgreSQL server at 127.0.0.1:1"))
        #expect(!bad.stderr.contains("hunter2"))
    }

    @Test func storeInfoSeedAndCheck() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let home = ["--home", directory.url.path]
        #expect(try runConcierge(["store", "seed", "--tickets", "120"] + home).status == 0)
        let info = try runConcierge(["store", "info", "--json"] + home)
        let stats = try JSONDecoder().decode(StoreStatistics.self, from: Data(info.stdout.utf8))
        #expect(stats.tickets == 120 && stats.messages == 240 && stats.schemaVersion == Migrations.latestVersion)
        let check = try runConcierge(["store", "check"] + home)
        #expect(check.status == 0 && check.stdout.contains("integrity ok; 120 tickets"), "\(check.stdout)")
        try Data(#"{"retention_days": 30}"#.utf8).write(to: directory.url.appendingPathComponent("config.json"))
        let purge = try runConcierge(["store", "purge"] + home)
        #expect(purge.status == 0 && purge.stdout.contains("older than 30 day(s)"), "\(purge.stdout)\(purge.stderr)")
    }
}

@Suite("Corrections export")
struct CorrectionsExportTests {
    @Test func groupsByTicketAndSkipsErasedText() {
        let base = Correction(id: 1, ticketNumber: 5, field: "category", from: "noise", to: "heating_cooling", category: "heating_cooling",
                              priority: .p3, text: "banging pipes", actor: "a", createdAt: Date(), exportedAt: nil)
        var second = base
        second.id = 2
        second.field = "priority"
        second.priority = .p2
        var erased = base
        erased.id = 3
        erased.ticketNumber = 6
        erased.text = nil
        let examples = CorrectionsExport.examples(from: [second, base, erased])
        #expect(examples.count == 1)
        #expect(examples.first?.intent == "heating_cooling" && examples.first?.priority == .p2 && examples.first?.changes.count == 2)
        #expect(CorrectionsExport.yaml([], exportedAt: Date()).contains("examples: []"))
    }
}
