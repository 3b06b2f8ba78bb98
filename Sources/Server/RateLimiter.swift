import Foundation
import Synchronization

/// A token bucket per sender: each sender may send `burst` messages at once,
/// then one more every `60 / messagesPerMinute` seconds. Kept in memory, per
/// server process (several servers behind one load balancer each limit on
/// their own share of the traffic).
public final class SenderRateLimiter: Sendable {
    /// The outcome for one message.
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; the sender may try again after this many seconds (≥ 1, for `Retry-After`).
        case limited(retryAfter: Int)
    }

    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    private let capacity: Double
    private let refillPerSecond: Double
    /// Buckets full for longer than this are forgotten, so the table stays small.
    private let idleForget: TimeInterval
    private let buckets = Mutex<[String: Bucket]>([:])
    private let sweepEvery = 4_096
    private let admitted = Atomic<Int>(0)

    public init(messagesPerMinute: Double, burst: Int) {
        capacity = Double(max(burst, 1))
        refillPerSecond = max(messagesPerMinute, 0.000_001) / 60
        idleForget = capacity / refillPerSecond
    }

    /// Takes one token from `sender`'s bucket, if it has one.
    public func admit(_ sender: String, now: Date = Date()) -> Decision {
        decide(sender, now: now, take: true)
    }

    /// Whether `sender`'s bucket has a token, without taking it.
    public func check(_ sender: String, now: Date = Date()) -> Decision {
        decide(sender, now: now, take: false)
    }

    private func decide(_ sender: String, now: Date, take: Bool) -> Decision {
        let count = admitted.add(1, ordering: .relaxed).newValue
        return buckets.withLock { buckets in
            if count % sweepEvery == 0 { sweep(&buckets, now: now) }
            var bucket = buckets[sender] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = max(0, now.timeIntervalSince(bucket.updated))
            bucket.tokens = min(capacity, bucket.tokens + elapsed * refillPerSecond)
            bucket.updated = now
            defer { buckets[sender] = bucket }
            if bucket.tokens >= 1 {
                if take { bucket.tokens -= 1 }
                return .allowed
            }
            let wait = (1 - bucket.tokens) / refillPerSecond
            return .limited(retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }

    /// How many senders are tracked (for tests of the clean-up).
    public var trackedSenders: Int { buckets.withLock { $0.count } }

    private func sweep(_ buckets: inout [String: Bucket], now: Date) {
        buckets = buckets.filter { now.timeIntervalSince($0.value.updated) < idleForget }
    }
}
