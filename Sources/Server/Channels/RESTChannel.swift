import DataPack
import Dialogue
import Foundation
import Hummingbird
import StaffAuth

/// The REST channel, in the convention Rasa made common:
///
///     POST /webhooks/rest/webhook
///     Authorization: Bearer <CONCIERGE_REST_TOKEN>
///     Content-Type: application/json
///     {"sender": "resident-42", "message": "my sink leaks", "metadata": {"message_id": "m-1", "unit": "4B"}}
///
///     200 [{"recipient_id": "resident-42", "text": "…", "buttons": [{"title": "Yes", "payload": "yes"}]}]
///
/// Photos come as bytes, never as a URL for Concierge to fetch:
/// `metadata.attachments: [{"content_type": "image/jpeg", "data": "<base64>"}]`
/// (at most ``maximumAttachments``; `message` may then be empty). Bad base64
/// is a 400; an image Concierge does not keep (by its bytes) is answered in
/// the reply. A photo makes the body large: raise `max_body_bytes` to suit.
///
/// A repeated request from the same sender (same `Idempotency-Key` header or
/// `metadata.message_id`) gets the first reply again and changes nothing;
/// without either, every request is a new message. Ids need only be unique
/// per sender: another sender's `m1` is another message. Unlike Rasa, a failure is a 4xx/5xx with a JSON
/// error, never a 200 with `[]` (an empty list means the assistant chose to
/// stay quiet: staff have the conversation).
struct RESTChannel: Sendable {
    let services: ChannelServices
    let token: String

    struct Payload: Decodable {
        var sender: String
        var message: String
        var metadata: Metadata?
    }

    /// Optional fields a client may send along.
    struct Metadata: Decodable {
        /// The client's id for the message: a retry with the same id is answered once.
        var messageID: String?
        var unit: String?
        var name: String?
        /// `en` or `zh`: answer in this language rather than following the message.
        var language: String?
        /// Images, as bytes.
        var attachments: [AttachmentPayload]?

        enum CodingKeys: String, CodingKey {
            case messageID = "message_id", unit, name, language, attachments
        }
    }

    /// One image: its declared type and its bytes in base64.
    struct AttachmentPayload: Decodable {
        var contentType: String?
        var data: String

        enum CodingKeys: String, CodingKey {
            case contentType = "content_type", data
        }
    }

    /// The most images one message may carry.
    static let maximumAttachments = 10

    /// The attachments' bytes; a 400 for too many or for data that is not base64.
    static func attachments(_ payloads: [AttachmentPayload]?) throws -> [InboundAttachment] {
        guard let payloads else { return [] }
        guard payloads.count <= maximumAttachments else {
            throw WebhookError.malformed("metadata.attachments holds at most \(maximumAttachments) images")
        }
        return try payloads.enumerated().map { index, payload in
            let compact = payload.data.filter { !$0.isWhitespace }   // line breaks of wrapped base64
            guard let data = Data(base64Encoded: compact), !data.isEmpty else {
                throw WebhookError.malformed("metadata.attachments[\(index)].data is not base64")
            }
            return InboundAttachment(data: data, declaredType: payload.contentType)
        }
    }

    struct Message: Encodable {
        var recipientID: String
        var text: String
        var buttons: [SuggestedReply]?
        var custom: Custom?

        struct Custom: Encodable {
            var tickets: [Int]
            var redelivered: Bool
        }

        enum CodingKeys: String, CodingKey {
            case recipientID = "recipient_id", text, buttons, custom
        }
    }

    /// The message's id: the `Idempotency-Key` header, else `metadata.message_id`,
    /// else a fresh one (every request a new message). An id the client sends
    /// must be 1 to 200 characters: an empty one is refused here, at the
    /// edge, rather than stored.
    static func deliveryID(header: String?, metadata: String?) throws -> String {
        if let header {
            guard (1...200).contains(header.count) else {
                throw WebhookError.malformed("the Idempotency-Key header must be 1 to 200 characters")
            }
            return header
        }
        if let metadata {
            guard (1...200).contains(metadata.count) else {
                throw WebhookError.malformed("metadata.message_id must be 1 to 200 characters")
            }
            return metadata
        }
        return "rest-\(UUID().uuidString)"
    }

    func handle(_ request: Request) async throws -> Response {
        guard let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") else {
            throw WebhookError.unauthorized("missing bearer token", scheme: "Bearer")
        }
        guard SecretToken.constantTimeEquals(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces), token) else {
            throw WebhookError.unauthorized("wrong bearer token", scheme: "Bearer error=\"invalid_token\"")
        }
        let body = try await request.rawBody(limit: services.configuration.maxBodyBytes)
        try request.requireMediaType("application/json")
        let payload = try decodeJSON(Payload.self, from: body, what: "the REST message")
        let sender = payload.sender.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !sender.isEmpty, sender.count <= 200 else {
            throw WebhookError.malformed("\"sender\" must be 1 to 200 characters")
        }
        let metadata = payload.metadata
        let deliveryID = try Self.deliveryID(header: request.header("Idempotency-Key"), metadata: metadata?.messageID)
        var language: Language?
        if let code = metadata?.language {
            guard let chosen = Language(rawValue: code) else {
                throw WebhookError.malformed("metadata.language must be \"en\" or \"zh\", not \"\(code)\"")
            }
            language = chosen
        }
        var message = InboundMessage(
            channel: "rest", senderID: sender, deliveryID: deliveryID, text: payload.message,
            displayName: metadata?.name, unit: metadata?.unit, preferredLanguage: language, queueReply: false)
        message.attachments = try Self.attachments(metadata?.attachments)
        let reply = try await services.deliver(message)
        guard let text = reply.text else { return JSONBody.ok([Message]()) }
        let custom = reply.ticketNumbers.isEmpty && !reply.redelivered
            ? nil : Message.Custom(tickets: reply.ticketNumbers, redelivered: reply.redelivered)
        return JSONBody.ok([Message(recipientID: sender, text: text,
                                    buttons: reply.suggestions.isEmpty ? nil : reply.suggestions, custom: custom)])
    }
}
