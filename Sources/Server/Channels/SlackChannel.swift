import Dialogue
import Foundation
import Hummingbird
import Store

/// The Slack Events API (`POST /webhooks/slack/events`).
///
/// - Every request is verified first: `X-Slack-Signature` over the raw body
///   bytes and `X-Slack-Request-Timestamp`, within five minutes (401 otherwise).
/// - `url_verification` is answered with its challenge.
/// - A direct message to the app (`message` in an `im`) or a mention
///   (`app_mention`) is handled, and acknowledged with an empty 200 once the
///   turn is committed; the reply goes out through the outbox with
///   `chat.postMessage`, to the resident's direct messages (tickets mention
///   units and names, which a public channel should not see).
/// - A `file_share` message's images (`files[].url_private`) are recorded with
///   the turn and fetched afterwards with the bot token (``MediaFetchWorker``).
/// - `event_id` is the delivery id: Slack's retries (`X-Slack-Retry-Num`) are
///   acknowledged and change nothing, and queue no second reply.
/// - Messages from bots (`bot_id`, `subtype: bot_message`, or our own user),
///   edits, joins and other subtypes than `file_share`, and events whose `user` is not a Slack
///   user id (empty, say) are acknowledged and ignored: a 5xx would only make
///   Slack send them again.
struct SlackChannel: Sendable {
    let services: ChannelServices
    let signature: SlackSignature
    let botUserID: String?

    struct Envelope: Decodable {
        var type: String
        var challenge: String?
        var eventID: String?
        var event: Event?

        enum CodingKeys: String, CodingKey { case type, challenge, eventID = "event_id", event }
    }

    struct Event: Decodable {
        var type: String
        var subtype: String?
        var user: String?
        var botID: String?
        var text: String?
        var channelType: String?
        /// The files of a `file_share` message.
        var files: [File]?

        enum CodingKeys: String, CodingKey {
            case type, subtype, user, botID = "bot_id", text, channelType = "channel_type", files
        }

        /// The files to fetch (`url_private`, with the bot token); a file
        /// whose `mimetype` is not an image is refused at once.
        var media: [RemoteMedia] {
            (files ?? []).prefix(SlackChannel.maximumFiles).compactMap { file in
                file.urlPrivate.map { RemoteMedia(MediaReference(channel: "slack", locator: $0, declaredType: file.mimetype),
                                                  byteCount: file.size) }
            }
        }
    }

    struct File: Decodable {
        var mimetype: String?
        var size: Int?
        var urlPrivate: String?

        enum CodingKeys: String, CodingKey { case mimetype, size, urlPrivate = "url_private" }
    }

    /// The most files of one message that are kept.
    static let maximumFiles = 10

    func handle(_ request: Request) async throws -> Response {
        let body = try await request.rawBody(limit: services.configuration.maxBodyBytes)
        switch signature.verify(signature: request.header("X-Slack-Signature"),
                                timestamp: request.header("X-Slack-Request-Timestamp"), body: body, now: services.now()) {
        case .valid: break
        case .missingHeaders:
            throw WebhookError.unauthorized("missing X-Slack-Signature or X-Slack-Request-Timestamp")
        case .staleTimestamp:
            throw WebhookError.unauthorized("X-Slack-Request-Timestamp is more than five minutes from now")
        case .mismatch:
            throw WebhookError.unauthorized("wrong X-Slack-Signature")
        }
        try request.requireMediaType("application/json")
        let envelope = try decodeJSON(Envelope.self, from: body, what: "the Slack event")
        switch envelope.type {
        case "url_verification":
            guard let challenge = envelope.challenge else { throw WebhookError.malformed("url_verification without a challenge") }
            return JSONBody.ok(["challenge": challenge])
        case "event_callback":
            guard let event = envelope.event else { throw WebhookError.malformed("event_callback without an event") }
            guard let eventID = envelope.eventID, !eventID.isEmpty else { throw WebhookError.malformed("event_callback without an event_id") }
            let text = event.text.map(Self.withoutMentions) ?? ""
            guard let user = handledSender(event), !text.isEmpty || !event.media.isEmpty else { return Response(status: .ok) }
            var inbound = InboundMessage(channel: "slack", senderID: user, deliveryID: eventID, text: text, queueReply: true)
            inbound.remoteMedia = event.media
            _ = try await services.deliver(inbound)
            return Response(status: .ok)
        default:
            // Other envelope types (app_rate_limited, …) need no answer but an acknowledgement.
            return Response(status: .ok)
        }
    }

    /// The resident who wrote `event`, or nil when it is not ours to answer:
    /// a bot, an edit or join, or a `user` that is not a Slack user id
    /// (`U…`/`W…`: letters and digits), such as an empty one.
    func handledSender(_ event: Event) -> String? {
        guard event.botID == nil, event.subtype == nil || event.subtype == "file_share", let user = event.user, Self.isUserID(user),
              user != botUserID else {
            return nil
        }
        switch event.type {
        case "message": return event.channelType == nil || event.channelType == "im" ? user : nil
        case "app_mention": return user
        default: return nil
        }
    }

    /// Whether `text` has the shape of a Slack user id: 1 to 32 ASCII letters and digits.
    static func isUserID(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }

    /// The text without `<@U123>` mentions (the app's name in an `app_mention`).
    static func withoutMentions(_ text: String) -> String {
        text.replacingOccurrences(of: #"<@[A-Z0-9]+(\|[^>]*)?>"#, with: "", options: .regularExpression)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
