import Dialogue
import Foundation
import Hummingbird
import Logging
import Store
import Synchronization

/// The conversation engine, once the model is loaded. The server listens
/// (and answers `/healthz`) while the model loads or trains on first run;
/// until then `/readyz` and the webhooks answer 503.
public final class AssistantSlot: Sendable {
    private let engine = Mutex<ConversationEngine?>(nil)

    public init(_ engine: ConversationEngine? = nil) {
        self.engine.withLock { $0 = engine }
    }

    /// The engine, or nil while loading.
    public var current: ConversationEngine? { engine.withLock { $0 } }

    /// Makes the assistant ready.
    public func load(_ engine: ConversationEngine) { self.engine.withLock { $0 = engine } }
}

/// What every channel uses to answer a message: the engine, the rate limit,
/// metrics, the settings, and the outbox worker's bell.
struct ChannelServices: Sendable {
    let assistant: AssistantSlot
    let limiter: SenderRateLimiter
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let secrets: ChannelSecrets
    let logger: Logger
    /// Called after a turn queued a reply in the outbox, so it goes out now.
    let replyQueued: @Sendable () -> Void
    /// Called after a turn recorded a platform's file, so the media worker fetches it now.
    let mediaQueued: @Sendable () -> Void
    let now: @Sendable () -> Date
    /// At most this many turns at once, the rest in arrival order.
    let gate: TurnGate

    /// Rate-limits the sender, runs the turn (one transaction: message,
    /// state, tickets, reply, idempotency key) and records the metrics.
    func deliver(_ message: InboundMessage) async throws -> ConversationReply {
        guard let engine = assistant.current else { throw WebhookError.starting }
        if case .limited(let retryAfter) = limiter.admit("\(message.channel):\(message.senderID)", now: now()) {
            throw WebhookError.rateLimited(retryAfter: retryAfter)
        }
        let reply = try await gate.run { try await engine.handle(message) }
        if reply.redelivered {
            metrics.recordRedelivery(channel: message.channel)
        } else {
            if let decision = reply.decision { metrics.recordDecision(decision) }
            if message.queueReply && reply.text != nil { replyQueued() }
            if !message.remoteMedia.isEmpty { mediaQueued() }
        }
        return reply
    }
}

/// Replies for messages the assistant cannot read (a photo, a sticker).
enum NonTextReply {
    static func text(chinese: Bool) -> String {
        chinese ? "抱歉，我目前只能读文字消息。请用文字描述您的问题。"
            : "Sorry, I can only read text messages for now. Please describe the problem in words."
    }
}
