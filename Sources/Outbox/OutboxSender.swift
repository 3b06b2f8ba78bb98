import Foundation
import Store

/// What became of one attempt to hand a reply to its platform.
public enum DeliveryResult: Sendable, Equatable {
    /// The platform accepted the message; its id for it, when it gave one
    /// (Slack `ts`, Telegram `message_id`, Twilio `sid`).
    case sent(platformMessageID: String?)
    /// A transient failure (network error, HTTP 5xx, rate limit): try again,
    /// not before `after` seconds when the platform said so (`Retry-After`).
    case retry(error: String, after: TimeInterval?)
    /// The platform refused the message for good (unknown chat, blocked bot,
    /// invalid number, revoked token): retrying cannot help.
    case rejected(error: String)
}

/// Sends replies of one channel (`OutboxItem.channel`) to its platform.
///
/// `send` never throws: every failure is a `DeliveryResult`. Its error texts
/// never contain credentials; they may contain the recipient, so whoever logs
/// or stores them masks them (`PrivacyMask`).
public protocol OutboxSender: Sendable {
    /// The outbox channel this sender delivers (`"slack"`, `"telegram"`, `"sms"`).
    var channel: String { get }
    /// One attempt to deliver `item.text` to `item.recipient`.
    func send(_ item: OutboxItem) async -> DeliveryResult
}
