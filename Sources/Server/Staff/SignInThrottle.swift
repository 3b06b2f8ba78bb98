import Foundation
import Synchronization

/// Limits password guessing on the staff sign-in without giving an attacker
/// a way to lock the real staff member out.
///
/// Only wrong passwords count, in two token buckets:
/// - per client address and account name: a burst of 10, then 6 a minute.
///   One attacker guessing at `ivy` is held back; `ivy` herself, at her own
///   address, is not.
/// - per account name, from every address: a burst of 50, then 2 a minute.
///   The ceiling on guessing from many addresses at once (a botnet gets at
///   most ~2,900 guesses a day at one account). Addresses from which the
///   account signed in successfully in the last 30 days are not held back by
///   it, so such an attack slows the attacker, not the owner at their usual
///   desk.
///
/// The client address is the peer's, or the one a trusted proxy reports
/// (`ClientAddress`). Kept in memory, per server process.
final class SignInThrottle: Sendable {
    let perClient = SenderRateLimiter(messagesPerMinute: 6, burst: 10)
    let perAccount = SenderRateLimiter(messagesPerMinute: 2, burst: 50)
    /// How long a successful sign-in exempts its address from the account's ceiling.
    static let trustedFor: TimeInterval = 30 * 86_400
    /// Account → address → last successful sign-in.
    private let knownAddresses = Mutex<[String: [String: Date]]>([:])

    /// Whether a sign-in attempt for `account` from `client` may be checked now.
    func check(account: String, client: String, now: Date) -> SenderRateLimiter.Decision {
        let clientDecision = perClient.check(Self.key(account, client), now: now)
        if case .limited = clientDecision { return clientDecision }
        let accountDecision = perAccount.check(account, now: now)
        if case .limited = accountDecision, !isKnown(client, for: account, now: now) { return accountDecision }
        return .allowed
    }

    /// Records a wrong password for `account` from `client`.
    func failed(account: String, client: String, now: Date) {
        _ = perClient.admit(Self.key(account, client), now: now)
        _ = perAccount.admit(account, now: now)
    }

    /// Records a successful sign-in: `client` is exempt from the account's ceiling for a while.
    func succeeded(account: String, client: String, now: Date) {
        knownAddresses.withLock { known in
            var addresses = known[account, default: [:]].filter { now.timeIntervalSince($0.value) < Self.trustedFor }
            addresses[client] = now
            // A handful of desks per account; the oldest are forgotten first.
            if addresses.count > 32, let oldest = addresses.min(by: { $0.value < $1.value }) { addresses[oldest.key] = nil }
            known[account] = addresses
        }
    }

    private func isKnown(_ client: String, for account: String, now: Date) -> Bool {
        knownAddresses.withLock { known in
            known[account]?[client].map { now.timeIntervalSince($0) < Self.trustedFor } ?? false
        }
    }

    private static func key(_ account: String, _ client: String) -> String { account + "\u{1F}" + client }
}
