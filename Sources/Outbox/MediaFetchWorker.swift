import Foundation
import Logging
import Media
import ServiceLifecycle
import Store

/// How many files one fetch pass handled.
public struct MediaFetchRound: Sendable, Equatable {
    /// Downloaded, checked and stored on their attachment.
    public var stored = 0
    /// Failed for now and scheduled again with backoff.
    public var retried = 0
    /// Given up on: the failure is on the attachment and the resident was told.
    public var failed = 0
    /// Attempted, but the store could not record the result (taken again when the lease runs out).
    public var unrecorded = 0
    /// Claimed but given back without an attempt (the worker was stopping).
    public var released = 0

    public init(stored: Int = 0, retried: Int = 0, failed: Int = 0, unrecorded: Int = 0, released: Int = 0) {
        self.stored = stored
        self.retried = retried
        self.failed = failed
        self.unrecorded = unrecorded
        self.released = released
    }

    /// Files attempted in the pass.
    public var attempted: Int { stored + retried + failed + unrecorded }
}

/// Fetches the photos residents sent through a platform (Telegram, Twilio,
/// Slack) in the background, after the reply: a durable queue in the store
/// (`TicketStore.claimMediaFetches`), like the outbox.
///
/// Each pass claims the due files of its channels (leased, so two servers
/// sharing PostgreSQL never fetch the same file), downloads each with its
/// channel's ``MediaFetcher``, checks the bytes (`ImageUpload.prepare`: type
/// by magic bytes, the size cap, metadata stripped) and stores them on their
/// attachment. A transient failure is retried with backoff up to
/// ``Configuration/maximumAttempts``; a file that is gone, refused or kept
/// failing is marked failed (staff see why) and the resident is told, on
/// their channel, that the photo was not kept — their message and ticket
/// stand either way.
public final class MediaFetchWorker: Service, @unchecked Sendable {
    /// Tunables; the defaults suit a server.
    public struct Configuration: Sendable {
        /// How long to wait between passes when nothing wakes the worker.
        public var pollInterval: TimeInterval = 2
        /// How many files one pass claims.
        public var batchSize: Int = 5
        /// How long a claimed file stays reserved to this worker: longer than
        /// a fetch can take (two requests of the fetcher's timeout).
        public var lease: TimeInterval = 180
        /// Backoff between attempts.
        public var retry = RetryPolicy(initialDelay: 5, maximumDelay: 900)
        /// Attempts before a file that keeps failing is given up (about an hour with the default backoff).
        public var maximumAttempts = 8
        /// The largest photo kept (serve.yaml `photos.max_bytes`).
        public var maxBytes = ImageUpload.defaultMaxBytes

        public init(pollInterval: TimeInterval = 2, batchSize: Int = 5, lease: TimeInterval = 180,
                    retry: RetryPolicy = RetryPolicy(initialDelay: 5, maximumDelay: 900), maximumAttempts: Int = 8,
                    maxBytes: Int = ImageUpload.defaultMaxBytes) {
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.lease = lease
            self.retry = retry
            self.maximumAttempts = maximumAttempts
            self.maxBytes = maxBytes
        }
    }

    /// Words the notice to a resident whose photo was not kept: their
    /// language (nil when unknown), the ticket it was for, and whether the
    /// bytes were refused (else never downloaded). Nil tells nothing.
    public typealias Notice = @Sendable (_ language: String?, _ ticket: Int?, _ refused: Bool) -> String?

    private let store: any TicketStore
    private let fetchers: [String: any MediaFetcher]
    private let channels: [String]
    private let configuration: Configuration
    private let notice: Notice
    private let noticeQueued: @Sendable () -> Void
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let signal = WakeSignal()
    // Guarded by `lock`:
    private let lock = NSLock()
    private var stopping = false
    private var random: JitterGenerator

    /// - Parameters:
    ///   - fetchers: one per channel (a second fetcher for a channel replaces the first).
    ///   - notice: the words for a resident whose photo was not kept.
    ///   - noticeQueued: called after such a notice was queued in the outbox (wakes the outbox worker).
    ///   - jitterSeed, now: fixed in tests.
    public init(store: any TicketStore, fetchers: [any MediaFetcher], configuration: Configuration = Configuration(),
                notice: @escaping Notice, noticeQueued: @escaping @Sendable () -> Void = {},
                jitterSeed: UInt64 = UInt64.random(in: .min ... .max), now: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "concierge.media")) {
        self.store = store
        var byChannel: [String: any MediaFetcher] = [:]
        for fetcher in fetchers { byChannel[fetcher.channel] = fetcher }
        self.fetchers = byChannel
        channels = byChannel.keys.sorted()
        self.configuration = configuration
        self.notice = notice
        self.noticeQueued = noticeQueued
        self.now = now
        self.logger = logger
        random = JitterGenerator(seed: jitterSeed)
    }

    /// The channels whose files this worker fetches.
    public var fetchedChannels: [String] { channels }

    /// Ends the current wait so the next pass starts now (call it after a
    /// turn recorded a platform's file).
    public func wake() { signal.signal() }

    /// One pass: claims the files due now (up to the batch size), fetches and records each.
    public func fetchDue() async -> MediaFetchRound {
        await fetchBatch(stopEarly: false)
    }

    /// Runs until graceful shutdown or cancellation: the fetch in flight is
    /// finished and recorded, the rest of the batch given back.
    public func run() async throws {
        logger.info("media worker started", metadata: ["channels": .string(channels.joined(separator: ","))])
        await withTaskCancellationOrGracefulShutdownHandler {
            while !isStopping {
                let round = await fetchBatch(stopEarly: true)
                if isStopping { break }
                if round.attempted == configuration.batchSize { continue }
                await signal.wait(upTo: configuration.pollInterval)
            }
        } onCancelOrGracefulShutdown: { [self] in
            lock.withLock { stopping = true }
            signal.signal()
        }
        logger.info("media worker stopped")
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func fetchBatch(stopEarly: Bool) async -> MediaFetchRound {
        var round = MediaFetchRound()
        let claimed: [MediaFetch]
        do {
            claimed = try await store.claimMediaFetches(now: now(), lease: configuration.lease, limit: configuration.batchSize,
                                                        channels: channels)
        } catch {
            logger.error("media: cannot claim files", metadata: ["error": .string(PrivacyMask.mask("\(error)"))])
            return round
        }
        for (index, fetch) in claimed.enumerated() {
            if stopEarly && isStopping {
                let rest = Array(claimed[index...])
                round.released = await Task { await self.release(rest) }.value
                break
            }
            // In a task of its own: cancelling the worker does not cut a fetch short or leave it unrecorded.
            switch await Task(operation: { await self.attempt(fetch) }).value {
            case .stored: round.stored += 1
            case .retried: round.retried += 1
            case .failed: round.failed += 1
            case .unrecorded: round.unrecorded += 1
            }
        }
        return round
    }

    private enum Outcome { case stored, retried, failed, unrecorded }

    /// Downloads one file, checks it and records the result.
    private func attempt(_ fetch: MediaFetch) async -> Outcome {
        var metadata: Logger.Metadata = [
            "attachment": .stringConvertible(fetch.attachmentID), "channel": .string(fetch.reference.channel),
            "attempt": .stringConvertible(fetch.attempts + 1),
        ]
        guard let fetcher = fetchers[fetch.reference.channel] else { return .unrecorded }
        var result = await fetcher.fetch(fetch.reference.locator, maxBytes: configuration.maxBytes)
        var image: PreparedImage?
        if case .fetched(let data) = result {
            do {
                image = try ImageUpload.prepare(data, declaredType: fetch.reference.declaredType, maxBytes: configuration.maxBytes)
            } catch {
                result = .failed(error: "\(fetch.reference.channel): \(error)", refused: true)
            }
        }
        if case .retry(let error, _) = result, fetch.attempts + 1 >= configuration.maximumAttempts {
            result = .failed(error: "\(error) (gave up after \(fetch.attempts + 1) attempts)", refused: false)
        }
        do {
            switch result {
            case .fetched:
                guard let image else { return .unrecorded }
                try await store.storeMediaFetch(id: fetch.attachmentID,
                                                image: AttachmentDraft(contentType: image.contentType, data: image.data, sha256: image.sha256))
                logger.info("media: photo stored", metadata: metadata)
                return .stored
            case .retry(let error, let after):
                let delay = configuration.retry.delay(afterFailedAttempts: fetch.attempts + 1, jitter: nextJitter(), retryAfter: after)
                try await store.retryMediaFetch(id: fetch.attachmentID, error: error, retryAt: now().addingTimeInterval(delay))
                metadata["error"] = .string(PrivacyMask.mask(error))
                logger.warning("media: fetch failed, will retry", metadata: metadata)
                return .retried
            case .failed(let error, let refused):
                let notice = self.notice
                if try await store.failMediaFetch(id: fetch.attachmentID, error: error, tell: { notice($0, $1, refused) }) {
                    noticeQueued()
                }
                metadata["error"] = .string(PrivacyMask.mask(error))
                logger.error("media: photo not kept", metadata: metadata)
                return .failed
            }
        } catch {
            metadata["error"] = .string(PrivacyMask.mask("\(error)"))
            logger.error("media: cannot record the fetch; it is taken again when its lease runs out", metadata: metadata)
            return .unrecorded
        }
    }

    private func release(_ fetches: [MediaFetch]) async -> Int {
        guard let leasedUntil = fetches.first?.leasedUntil else { return 0 }
        return (try? await store.releaseMediaFetches(ids: fetches.map(\.attachmentID), leasedUntil: leasedUntil, dueAt: now())) ?? 0
    }

    private func nextJitter() -> Double {
        lock.withLock { Double(random.next() >> 11) / Double(1 << 53) }
    }
}
