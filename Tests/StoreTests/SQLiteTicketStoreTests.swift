import Foundation
import GRDB
import Testing
import TestSupport
@testable import Store

/// What only the SQLite file can get wrong: damaged, read-only, missing
/// folders, pragmas, and several processes on one file.
@Suite("SQLite ticket store")
struct SQLiteTicketStoreTests {
    /// A SQLite file holding some other program's table.
    static func makeForeignSQLite(at url: URL) throws {
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)")
            try db.execute(sql: "INSERT INTO invoices (amount) VALUES (100)")
        }
        try queue.close()
    }

    @Test func usesWALForeignKeysAndFullSync() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteTicketStore(url: directory.url.appendingPathComponent("c.sqlite"), configuration: .quiet())
        let (journal, foreignKeys, synchronous) = try await store.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
             try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal" && foreignKeys == 1 && synchronous == 2)
        // Foreign keys are enforced.
        await #expect(throws: (any Error).self) {
            try await rawSQL(store, "INSERT INTO notes (ticket_id, author, visibility, text, created_at) VALUES (999, 'x', 'internal', 'y', 0)")
        }
        await store.close()
    }

    @Test func garbageFileIsReportedAsCorruptAndLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("concierge.sqlite")
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: url)
        let error = await expectStoreError({ try SQLiteTicketStore(url: url, configuration: .quiet()) }) {
            if case .corruptDatabase(url.path, _) = $0 { return true } else { return false }
        }
        #expect(error?.description.contains("Nothing was changed") == true)
        #expect(try Data(contentsOf: url) == garbage)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["concierge.sqlite"], "no -wal or -shm created")
    }

    @Test func damagedPagesAreFoundByTheCheck() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("concierge.sqlite")
        let clock = ManualClock()
        let store = try SQLiteTicketStore(url: url, configuration: .quiet(clock))
        _ = try await StoreSeeder(finishedShare: 0.5).run(store: store, clock: clock, count: 300)
        await store.close()
        // Overwrite a few pages in the middle, keeping the header intact.
        let handle = try FileHandle(forWritingTo: url)
        try handle.seek(toOffset: 4096 * 6)
        handle.write(Data(repeating: 0xA5, count: 4096 * 3))
        try handle.close()

        // Either opening or checking reports the damage as a StoreError; nothing crashes.
        do {
            let damaged = try SQLiteTicketStore(url: url, configuration: .quiet())
            do {
                let report = try await damaged.check()
                #expect(!report.isOK, "integrity_check must notice overwritten pages")
            } catch let error as StoreError {
                guard case .corruptDatabase = error else { Issue.record("unexpected \(error)"); return }
            }
            await damaged.close()
        } catch let error as StoreError {
            guard case .corruptDatabase = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    @Test func readOnlyFileIsRefusedUntouched() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.url.appendingPathComponent("concierge.sqlite")
        let store = try SQLiteTicketStore(url: url, configuration: .quiet())
        try await store.createTicket(draft(), actor: "t")
        await store.close()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: url.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path) }
        let before = try Data(contentsOf: url)
        let error = await expectStoreError({ try SQLiteTicketStore(url: url, configuration: .quiet()) }) {
            if case .readOnly(url.path, _) = $0 { return true } else { return false }
        }
        #expect(error?.description.contains("cannot be written") == true)
        #expect(try Data(contentsOf: url) == before)
    }

    @Test func missingFolderIsAClearError() async throws {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/concierge.sqlite")
        await expectStoreError({ try SQLiteTicketStore(url: url, configuration: .quiet()) }) {
            if case .cannotOpen(_, let detail) = $0 { return detail.contains("does not exist") } else { return false }
        }
    }

    /// Two `concierge` processes write to one file at once: every acknowledged
    /// ticket is there, numbers are unique and gapless.
    @Test func twoProcessesOnOneFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let executable = try conciergeExecutable()
        let count = 150
        var processes: [(Process, Pipe)] = []
        for writer in ["left", "right"] {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["store", "stress-write", "--home", directory.url.path, "--count", "\(count)", "--writer", writer]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.standardError
            processes.append((process, pipe))
        }
        for (process, _) in processes { try process.run() }
        var acknowledged: [Int] = []
        for (process, pipe) in processes {
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            acknowledged += output.split(separator: "\n").compactMap { $0.hasPrefix("ack ") ? Int($0.dropFirst(4)) : nil }
        }
        #expect(acknowledged.count == 2 * count)
        #expect(Set(acknowledged) == Set(1...(2 * count)))
        let store = try SQLiteTicketStore(url: directory.url.appendingPathComponent("concierge.sqlite"), configuration: .quiet())
        let report = try await store.check()
        #expect(report.isOK, "\(report.problems)")
        #expect(report.tickets == 2 * count)
        await store.close()
    }
}
