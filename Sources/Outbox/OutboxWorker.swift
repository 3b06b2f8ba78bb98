import Foundation
import Logging
import ServiceLifecycle
import Store

/// How many replies one delivery pass handled.
public struct DeliveryRound: Sendable, Equatable {
    /// Accepted by their platform and recorded as sent.
    public var sent = 0
    /// Failed for now and scheduled again (backoff, or the platform's `Retry-After`).
    public var retried = 0
    /// Refused for good and abandoned.
    public var rejected = 0
    /// Attempted, but the store could not record the result: the item is
    /// taken again when its lease runs out.
    public var unrecorded = 0
    /// Claimed but given back without an attempt (the worker was stopping).
    public var released = 0

    public init(sent: Int = 0, retried: Int = 0, rejected: Int = 0, unrecorded: Int = 0, released: Int = 0) {
        self.sent = sent
        self.retried = retried
        self.rejected = rejected
        self.unrecorded = unrecorded
        self.released = released
    }

    /// Items attempted in the pass.
    public var attempted: Int { sent + retried + rejected + unrecorded }
}

/// When to try a failed reply again: exponential backoff with "equal jitter".
///
/// After the n-th failed attempt (n = 1, 2, …) the nominal delay is
/// `initialDelay × 2^(n-1)`, capped at `maximumDelay`; the delay used is
/// uniformly between half of it and all of it, so many replies failing
/// together do not retry together. A platform's `Retry-After` wins when it is longer.
public struct RetryPolicy: Sendable, Equatable {
    public var initialDelay: TimeInterval
    public var maximumDelay: TimeInterval

    public init(initialDelay: TimeInterval = 2, maximumDelay: TimeInterval = 600) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The delay after `failedAttempts` failures (≥ 1); `jitter` in 0..<1; `retryAfter` from the platform.
    public func delay(afterFailedAttempts failedAttempts: Int, jitter: Double, retryAfter: TimeInterval? = nil) -> TimeInterval {
        let exponent = Double(min(max(failedAttempts - 1, 0), 40))
        let nominal = min(maximumDelay, initialDelay * pow(2, exponent))
        let jittered = nominal / 2 + nominal / 2 * min(max(jitter, 0), 1)
        guard let retryAfter, retryAfter.isFinite else { return jittered }
        return max(jittered, retryAfter)
    }
}

/// Sends the replies queued in the store's outbox (see `TicketStore.claimOutbox`)
/// through one `OutboxSender` per channel, and records each result.
///
/// `run()` (a ServiceLifecycle `Service`) loops: it claims the due replies of
/// its channels, sends them one after another, records each (`sent`, retried
/// later with backoff, or abandoned when the platform refused it for good),
/// and then waits for the next poll or for `wake()`. Several workers — in one
/// process or in servers sharing one PostgreSQL database — never take the
/// same reply at once (claims are leased); a worker that dies leaves its
/// replies to be taken again when the lease runs out.
///
/// On graceful shutdown or cancellation the reply in flight is finished and
/// recorded, the rest of the batch is given back (due at once), and `run()`
/// returns.
public final class OutboxWorker: Service, @unchecked Sendable {
    /// Tunables; the defaults suit a server.
    public struct Configuration: Sendable {
        /// How long to wait between passes when nothing wakes the worker.
        public var pollInterval: TimeInterval = 1
        /// How many replies one pass claims.
        public var batchSize: Int = 20
        /// How long a claimed reply stays reserved to this worker. Longer than
        /// a send can take (the senders' request timeout, 30 s by default).
        public var lease: TimeInterval = 120
        /// Backoff for retried replies.
        public var retry = RetryPolicy()

        public init(pollInterval: TimeInterval = 1, batchSize: Int = 20, lease: TimeInterval = 120, retry: RetryPolicy = RetryPolicy()) {
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.lease = lease
            self.retry = retry
        }
    }

    private let store: any TicketStore
    private let senders: [String: any OutboxSender]
    private let channels: [String]
    private let configuration: Configuration
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let signal = WakeSignal()
    // Guarded by `lock`:
    private let lock = NSLock()
    private var stopping = false
    private var random: JitterGenerator

    /// - Parameters:
    ///   - store: where the outbox is.
    ///   - senders: one per channel it delivers (a second sender for a channel replaces the first).
    ///   - configuration: poll interval, batch size, lease, backoff.
    ///   - jitterSeed: seeds the backoff jitter (tests pass a fixed one).
    ///   - now: the clock for claims and retry times (tests pass a fake one).
    ///   - logger: where deliveries are logged; recipients and errors are masked (`PrivacyMask`).
    public init(store: any TicketStore, senders: [any OutboxSender], configuration: Configuration = Configuration(),
                jitterSeed: UInt64 = UInt64.random(in: .min ... .max), now: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "concierge.outbox")) {
        self.store = store
        var byChannel: [String: any OutboxSender] = [:]
        for sender in senders { byChannel[sender.channel] = sender }
        self.senders = byChannel
        channels = byChannel.keys.sorted()
        self.configuration = configuration
        self.now = now
        self.logger = logger
        random = JitterGenerator(seed: jitterSeed)
    }

    /// The channels this worker delivers.
    public var deliveredChannels: [String] { channels }

    /// Ends the current wait so the next pass starts now (call it right after
    /// committing a turn that queued a reply). A wake while a pass runs makes
    /// the next pass start as soon as that one ends.
    public func wake() { signal.signal() }

    /// One pass: claims the replies due now (up to the batch size), sends each
    /// and records the result. Used by tests and by the server's shutdown flush.
    public func deliverDue() async -> DeliveryRound {
        await deliverBatch(stopEarly: false)
    }

    /// Runs until graceful shutdown or cancellation (see the type's documentation).
    public func run() async throws {
        logger.info("outbox worker started", metadata: ["channels": .string(channels.joined(separator: ","))])
        await withTaskCancellationOrGracefulShutdownHandler {
            while !isStopping {
                let round = await deliverBatch(stopEarly: true)
                if isStopping { break }
                // A full batch: more may be due, go on at once.
                if round.attempted == configuration.batchSize { continue }
                await signal.wait(upTo: configuration.pollInterval)
            }
        } onCancelOrGracefulShutdown: { [self] in
            requestStop()
        }
        logger.info("outbox worker stopped")
    }

    // MARK: - Delivering

    private var isStopping: Bool { lock.withLock { stopping } }

    private func requestStop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        if first { logger.info("outbox worker stopping: finishing the reply in flight") }
        signal.signal()
    }

    private func deliverBatch(stopEarly: Bool) async -> DeliveryRound {
        var round = DeliveryRound()
        let items: [OutboxItem]
        do {
            items = try await store.claimOutbox(now: now(), lease: configuration.lease, limit: configuration.batchSize,
                                                channels: channels)
        } catch {
            logger.error("outbox: cannot claim replies", metadata: ["error": .string(PrivacyMask.mask("\(error)"))])
            return round
        }
        for (index, item) in items.enumerated() {
            if stopEarly && isStopping {
                // Also in a task of its own: a cancelled task's store calls may be refused.
                let rest = Array(items[index...])
                round.released = await Task { await self.release(rest) }.value
                break
            }
            // In a task of its own: cancelling the worker does not cut a send
            // short or leave its result unrecorded.
            let outcome = await Task { await self.deliver(item) }.value
            switch outcome {
            case .sent: round.sent += 1
            case .retried: round.retried += 1
            case .rejected: round.rejected += 1
            case .unrecorded: round.unrecorded += 1
            }
        }
        return round
    }

    private enum Outcome { case sent, retried, rejected, unrecorded }

    private func deliver(_ item: OutboxItem) async -> Outcome {
        var metadata: Logger.Metadata = [
            "outbox_id": .stringConvertible(item.id), "channel": .string(item.channel),
            "recipient": .string(PrivacyMask.mask(item.recipient)), "attempt": .stringConvertible(item.attempts + 1),
        ]
        guard let sender = senders[item.channel] else { return .unrecorded }
        let result = await sender.send(item)
        do {
            switch result {
            case .sent(let platformMessageID):
                try await record { try await self.store.markOutboxSent(id: item.id, deliveryID: platformMessageID) }
                logger.info("outbox: reply sent", metadata: metadata)
                return .sent
            case .retry(let error, let after):
                let delay = configuration.retry.delay(afterFailedAttempts: item.attempts + 1, jitter: nextJitter(), retryAfter: after)
                let retryAt = now().addingTimeInterval(delay)
                try await record { try await self.store.markOutboxFailed(id: item.id, error: error, retryAt: retryAt) }
                metadata["error"] = .string(PrivacyMask.mask(error))
                metadata["retry_in_s"] = .stringConvertible(Int(delay.rounded(.up)))
                logger.warning("outbox: reply not sent, will retry", metadata: metadata)
                return .retried
            case .rejected(let error):
                try await record { try await self.store.abandonOutbox(id: item.id, error: error) }
                metadata["error"] = .string(PrivacyMask.mask(error))
                logger.error("outbox: reply refused by the platform, abandoned", metadata: metadata)
                return .rejected
            }
        } catch {
            metadata["error"] = .string(PrivacyMask.mask("\(error)"))
            if case .sent = result { metadata["platform"] = .string("accepted the reply") }
            logger.error("outbox: cannot record the result; the reply is taken again when its lease runs out", metadata: metadata)
            return .unrecorded
        }
    }

    /// Runs a store write, trying twice more after a short pause if it fails
    /// (a sent reply that is not recorded as sent would be sent again).
    private func record(_ write: @Sendable () async throws -> Void) async throws {
        var attempt = 0
        while true {
            do {
                return try await write()
            } catch {
                attempt += 1
                if attempt >= 3 { throw error }
                try? await Task.sleep(nanoseconds: UInt64(attempt) * 200_000_000)
            }
        }
    }

    /// Gives claimed, unattempted items back so they are due at once. Returns how many.
    private func release(_ items: [OutboxItem]) async -> Int {
        guard let leasedUntil = items.first?.nextAttemptAt else { return 0 }
        do {
            return try await store.releaseOutbox(ids: items.map(\.id), leasedUntil: leasedUntil, dueAt: now())
        } catch {
            logger.warning("outbox: cannot give back claimed replies; they are taken again when the lease runs out",
                           metadata: ["error": .string(PrivacyMask.mask("\(error)"))])
            return 0
        }
    }

    private func nextJitter() -> Double {
        lock.withLock { Double(random.next() >> 11) / Double(1 << 53) }
    }
}

/// SplitMix64: a small seeded generator for the backoff jitter.
struct JitterGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A wake-up call for one waiting task: `signal()` ends the current `wait`,
/// or the next one if nobody is waiting (signals do not pile up).
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    func signal() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if let waiter { self.waiter = nil; return waiter }
            pending = true
            return nil
        }
        waiting?.resume()
    }

    /// Returns on a signal, after `seconds`, or when the task is cancelled, whichever comes first.
    func wait(upTo seconds: TimeInterval) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(seconds, 0) * 1_000_000_000)) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns on a signal (or at once if one came since the last wait) or when the task is cancelled.
    private func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if pending { pending = false; return true }
                    waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // Wakes the waiter; if it is not waiting yet, the pending flag makes it return at once.
            signal()
        }
    }
}
