import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestSupport
@testable import Store
@testable import Outbox

/// The worker's lifecycle: restarts, several workers, wake-ups and shutdown.
@Suite("Outbox worker")
struct OutboxWorkerTests {
    /// A Telegram fake that accepts everything, numbering the messages.
    static func acceptingTelegram() throws -> LoopbackHTTPServer {
        let counter = Counter()
        return try LoopbackHTTPServer { _ in
            .json(200, #"{"ok":true,"result":{"message_id":\#(counter.next())}}"#)
        }
    }

    @Test func pendingRepliesSurviveARestart() async throws {
        let failing = try LoopbackHTTPServer { _ in .json(503, #"{"ok":false,"error_code":503,"description":"Service Unavailable"}"#) }
        defer { failing.stop() }
        try await withOutboxFixture { fixture in
            let retried = try await fixture.queueReply(channel: "telegram", recipient: "11", text: "first")
            let inFlight = try await fixture.queueReply(channel: "telegram", recipient: "12", text: "second")
            // One reply fails and is scheduled again; a worker that then dies holds the other mid-send.
            let before = fixture.worker([TelegramSender(botToken: "t", apiBase: failing.baseURL)],
                                        configuration: .init(batchSize: 1))
            #expect(await before.deliverDue() == DeliveryRound(retried: 1))
            let held = try await fixture.store.claimOutbox(now: fixture.clock.now, lease: 120, limit: 5, channels: ["telegram"])
            #expect(held.map(\.id) == [inFlight])

            try await fixture.restart()
            let server = try Self.acceptingTelegram()
            defer { server.stop() }
            let after = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)])
            fixture.clock.advance(by: 60)
            #expect(await after.deliverDue() == DeliveryRound(sent: 1), "the retry is due; the held reply is still leased")
            fixture.clock.advance(by: 60)
            #expect(await after.deliverDue() == DeliveryRound(sent: 1), "the dead worker's lease ran out")
            #expect(Set(server.requests.compactMap { $0.json?["text"] as? String }) == ["first", "second"])
            #expect(try await fixture.row(retried).attempts == 2)
            #expect(try await fixture.row(inFlight).attempts == 1)
            #expect(try await fixture.store.statistics().outboxPending == 0)
        }
    }

    @Test func twoWorkersOnOneDatabaseSendEachReplyOnce() async throws {
        let server = try Self.acceptingTelegram()
        defer { server.stop() }
        try await withOutboxFixture { fixture in
            var ids: [Int64] = []
            for index in 0..<24 {
                ids.append(try await fixture.queueReply(channel: "telegram", recipient: "\(1000 + index)", text: "reply \(index)"))
            }
            // Two stores on one file: two servers sharing the database.
            let secondStore = try await fixture.openAgain()
            let configuration = OutboxWorker.Configuration(batchSize: 3)
            let one = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)], configuration: configuration)
            let two = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)], store: secondStore,
                                     configuration: configuration)
            async let first = Self.drain(one)
            async let second = Self.drain(two)
            let (sentByOne, sentByTwo) = await (first, second)
            await secondStore.close()

            #expect(sentByOne + sentByTwo == 24)
            let texts = server.requests.compactMap { $0.json?["text"] as? String }
            #expect(texts.count == 24 && Set(texts).count == 24, "each reply reached the platform exactly once")
            for id in ids {
                let row = try await fixture.row(id)
                #expect(row.sentAt != nil && row.attempts == 1)
            }
        }
    }

    /// Delivery passes until one finds nothing due; returns how many it sent.
    static func drain(_ worker: OutboxWorker) async -> Int {
        var sent = 0
        while true {
            let round = await worker.deliverDue()
            if round.attempted == 0 { return sent }
            sent += round.sent
        }
    }

    @Test func wakeStartsAPassWithoutWaitingForThePoll() async throws {
        let server = try Self.acceptingTelegram()
        defer { server.stop() }
        try await withOutboxFixture { fixture in
            // Polls once an hour: only `wake()` can make it send within the test.
            let worker = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)],
                                        configuration: .init(pollInterval: 3_600))
            let running = Task { try await worker.run() }
            #expect(await fixture.log.waitFor("outbox worker started"))
            let id = try await fixture.queueReply(channel: "telegram", recipient: "77", text: "woken")
            worker.wake()
            #expect(await server.waitForRequests(1), "the reply went out after wake()")
            running.cancel()
            try await running.value
            #expect(try await fixture.row(id).sentAt != nil)
            #expect(fixture.log.text.contains("outbox worker stopped"))
        }
    }

    @Test func gracefulShutdownFinishesTheReplyInFlight() async throws {
        let gate = Gate()
        let server = try LoopbackHTTPServer { _ in
            gate.wait()
            return .json(200, #"{"ok":true,"result":{"message_id":9001}}"#)
        }
        defer { server.stop() }
        try await withOutboxFixture { fixture in
            let inFlight = try await fixture.queueReply(channel: "telegram", recipient: "21", text: "in flight")
            let waiting = try await fixture.queueReply(channel: "telegram", recipient: "22", text: "waiting")
            let worker = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)])
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [worker], logger: fixture.log.logger))
            let running = Task { try await group.run() }

            let arrived = await server.waitForRequests(1)
            await group.triggerGracefulShutdown()
            let noticed = await fixture.log.waitFor("outbox worker stopping")
            gate.open()
            gate.open()
            try await running.value
            #expect(arrived && noticed)

            let sent = try await fixture.row(inFlight)
            #expect(sent.sentAt != nil && sent.platformMessageID == "9001", "the reply in flight was finished and recorded")
            #expect(server.requests.count == 1, "nothing new was sent after the shutdown")
            let released = try await fixture.row(waiting)
            #expect(released.sentAt == nil && released.attempts == 0)
            #expect(released.nextAttemptAt == fixture.clock.now, "the rest of the batch is due again at once, not after the lease")
            #expect(fixture.log.text.contains("outbox worker stopped"))
        }
    }

    @Test func cancellingTheWorkerStillRecordsTheReplyInFlight() async throws {
        let gate = Gate()
        let server = try LoopbackHTTPServer { _ in
            gate.wait()
            return .json(200, #"{"ok":true,"result":{"message_id":31}}"#)
        }
        defer { server.stop() }
        try await withOutboxFixture { fixture in
            let inFlight = try await fixture.queueReply(channel: "telegram", recipient: "31", text: "in flight")
            let waiting = try await fixture.queueReply(channel: "telegram", recipient: "32", text: "waiting")
            let worker = fixture.worker([TelegramSender(botToken: "t", apiBase: server.baseURL)])
            let running = Task { try await worker.run() }
            let arrived = await server.waitForRequests(1)
            running.cancel()
            gate.open()
            gate.open()
            try await running.value
            #expect(arrived)
            #expect(try await fixture.row(inFlight).platformMessageID == "31")
            #expect(try await fixture.row(waiting).sentAt == nil && server.requests.count == 1)
            #expect(try await fixture.store.dueOutbox(now: fixture.clock.now).map(\.id) == [waiting])
        }
    }
}

/// A thread-safe counter from 1.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
