import Foundation
import Logging
import Testing
import TestSupport
@testable import Store
@testable import Outbox

/// A SQLite store in a temporary folder, on a manual clock, removed afterwards.
final class OutboxFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
    let log = LogCapture()
    private(set) var store: any TicketStore
    private var deliveries = 0

    var location: StoreLocation { .sqlite(directory.url.appendingPathComponent("concierge.sqlite")) }

    init() async throws {
        directory = try TemporaryDirectory()
        store = try await StoreLocation.sqlite(directory.url.appendingPathComponent("concierge.sqlite"))
            .open(configuration: Self.configuration(clock))
    }

    static func configuration(_ clock: ManualClock) -> StoreConfiguration {
        var logger = Logger(label: "concierge.store.test")
        logger.logLevel = .warning
        return StoreConfiguration(now: { clock.now }, logger: logger)
    }

    /// Another store on the same file (a second process, or the same one after a restart).
    func openAgain() async throws -> any TicketStore {
        try await location.open(configuration: Self.configuration(clock))
    }

    /// Closes the store and opens the file again.
    func restart() async throws {
        await store.close()
        store = try await openAgain()
    }

    /// Commits a conversation turn from a resident of `channel` whose reply is
    /// queued for sending; returns the reply's outbox id.
    @discardableResult
    func queueReply(channel: String, recipient: String, text: String) async throws -> Int64 {
        deliveries += 1
        let snapshot = try await store.conversation(channel: channel, externalID: recipient)
        let outcome = try await store.commitTurn(ConversationTurn(
            resident: ResidentInfo(channel: channel, externalID: recipient), deliveryID: "in-\(deliveries)",
            inboundText: "hello", expectedVersion: snapshot?.version ?? 0, newState: nil, reply: text, queueReply: true))
        #expect(outcome.committed)
        return try await store.run(StoreOperation(.read) { session, _ in
            try session.scalarInt("SELECT MAX(id) AS id FROM outbox")
        }).asInt64
    }

    /// The outbox row as stored.
    func row(_ id: Int64) async throws -> OutboxRow {
        try await store.run(StoreOperation(.read) { session, _ in
            guard let row = try session.queryOne("""
                SELECT o.attempts, o.next_attempt_at, o.last_error, o.sent_at, o.cancelled_at, m.delivery_id
                FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id = ?
                """, [.integer(id)]) else { throw StoreError.database("no outbox row \(id)") }
            return OutboxRow(attempts: row.int("attempts") ?? -1, nextAttemptAt: row.date("next_attempt_at"),
                             lastError: row.string("last_error"), sentAt: row.date("sent_at"),
                             cancelledAt: row.date("cancelled_at"), platformMessageID: row.string("delivery_id"))
        })
    }

    func worker(_ senders: [any OutboxSender], store: (any TicketStore)? = nil,
                configuration: OutboxWorker.Configuration = OutboxWorker.Configuration()) -> OutboxWorker {
        let clock = clock
        return OutboxWorker(store: store ?? self.store, senders: senders, configuration: configuration, jitterSeed: 7,
                            now: { clock.now }, logger: log.logger)
    }

    func destroy() async {
        await store.close()
        directory.remove()
    }
}

struct OutboxRow: Sendable {
    var attempts: Int
    var nextAttemptAt: Date?
    var lastError: String?
    var sentAt: Date?
    var cancelledAt: Date?
    /// The platform's id for the sent message (kept on the outbound message).
    var platformMessageID: String?
}

extension Int {
    var asInt64: Int64 { Int64(self) }
}

/// Runs `body` with a fresh fixture, then removes it.
func withOutboxFixture(_ body: (OutboxFixture) async throws -> Void) async throws {
    let fixture = try await OutboxFixture()
    do {
        try await body(fixture)
    } catch {
        await fixture.destroy()
        throw error
    }
    await fixture.destroy()
}

/// Collects every log line (message and metadata) a logger writes.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var logger: Logger {
        Logger(label: "concierge.outbox.test") { _ in Handler(capture: self) }
    }

    var all: [String] { lock.withLock { lines } }
    var text: String { all.joined(separator: "\n") }

    fileprivate func append(_ line: String) { lock.withLock { lines.append(line) } }

    /// Waits until a line contains `fragment`; false after `timeout` seconds (a safety net, not a timing check).
    func waitFor(_ fragment: String, timeout: TimeInterval = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if all.contains(where: { $0.contains(fragment) }) { return true }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return all.contains(where: { $0.contains(fragment) })
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}

/// A gate a fake platform's handler waits at until the test opens it.
final class Gate: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func wait() { _ = semaphore.wait(timeout: .now() + 60) }
    func open() { semaphore.signal() }
}
