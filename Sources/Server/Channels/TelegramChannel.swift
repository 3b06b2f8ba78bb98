import Dialogue
import Foundation
import Hummingbird
import Store
import StaffAuth

/// The Telegram bot webhook (`POST /webhooks/telegram`), set with
/// `setWebhook(url, secret_token)`.
///
/// - Telegram sends the secret in `X-Telegram-Bot-Api-Secret-Token`; anything
///   else gets 403 (compared in constant time).
/// - One `Update` per request; `update_id` is the delivery id, so an update
///   Telegram sends again is answered from the store and changes nothing.
/// - The reply is the response itself, a `sendMessage` method body (Telegram
///   performs it), or, with `reply: api`, goes through the outbox and the Bot
///   API while the webhook answers an empty 200.
/// - A photo (its largest size) or an image document is recorded with the
///   turn and fetched afterwards with `getFile` (``MediaFetchWorker``); its
///   `caption` is the message.
/// - Only private chats are served: in a group, residents' tickets and units
///   would be read by their neighbours. Other updates (edits, group
///   messages, channel posts) are acknowledged and ignored.
struct TelegramChannel: Sendable {
    let services: ChannelServices
    let secretToken: String
    let replyThroughAPI: Bool

    struct Update: Decodable {
        var updateID: Int64
        var message: Message?

        enum CodingKeys: String, CodingKey { case updateID = "update_id", message }
    }

    struct Message: Decodable {
        var messageID: Int64
        var from: User?
        var chat: Chat
        var text: String?
        /// The words under a photo or a document: read as the message.
        var caption: String?
        /// One photo in several sizes, smallest first.
        var photo: [PhotoSize]?
        /// A file sent as a file (an image kept at full quality, or anything else).
        var document: Document?

        enum CodingKeys: String, CodingKey { case messageID = "message_id", from, chat, text, caption, photo, document }

        /// The files to fetch: the largest size of a photo, and a document
        /// (refused at once when its `mime_type` is not an image).
        var media: [RemoteMedia] {
            var media: [RemoteMedia] = []
            if let largest = photo?.max(by: { $0.width * $0.height < $1.width * $1.height }) {
                media.append(RemoteMedia(MediaReference(channel: "telegram", locator: largest.fileID, declaredType: "image/jpeg"),
                                         byteCount: largest.fileSize))
            }
            if let document {
                media.append(RemoteMedia(MediaReference(channel: "telegram", locator: document.fileID, declaredType: document.mimeType),
                                         byteCount: document.fileSize))
            }
            return media
        }
    }

    struct PhotoSize: Decodable {
        var fileID: String
        var width: Int
        var height: Int
        var fileSize: Int?

        enum CodingKeys: String, CodingKey { case fileID = "file_id", width, height, fileSize = "file_size" }
    }

    struct Document: Decodable {
        var fileID: String
        var mimeType: String?
        var fileSize: Int?

        enum CodingKeys: String, CodingKey { case fileID = "file_id", mimeType = "mime_type", fileSize = "file_size" }
    }

    struct Chat: Decodable {
        var id: Int64
        var type: String
    }

    struct User: Decodable {
        var id: Int64
        var isBot: Bool
        var firstName: String?
        var languageCode: String?

        enum CodingKeys: String, CodingKey {
            case id, isBot = "is_bot", firstName = "first_name", languageCode = "language_code"
        }
    }

    /// The webhook response Telegram turns into a `sendMessage` call.
    struct SendMessage: Encodable {
        var method = "sendMessage"
        var chatID: Int64
        var text: String
        var replyMarkup: ReplyKeyboard?

        enum CodingKeys: String, CodingKey { case method, chatID = "chat_id", text, replyMarkup = "reply_markup" }
    }

    /// Buttons under the input field; tapping one sends its text.
    struct ReplyKeyboard: Encodable {
        var keyboard: [[Button]]
        var oneTimeKeyboard = true
        var resizeKeyboard = true

        struct Button: Encodable { var text: String }

        enum CodingKeys: String, CodingKey {
            case keyboard, oneTimeKeyboard = "one_time_keyboard", resizeKeyboard = "resize_keyboard"
        }
    }

    func handle(_ request: Request) async throws -> Response {
        guard let presented = request.header("X-Telegram-Bot-Api-Secret-Token"),
              SecretToken.constantTimeEquals(presented, secretToken) else {
            throw WebhookError.forbidden("missing or wrong X-Telegram-Bot-Api-Secret-Token")
        }
        let body = try await request.rawBody(limit: services.configuration.maxBodyBytes)
        try request.requireMediaType("application/json")
        let update = try decodeJSON(Update.self, from: body, what: "the Telegram update")
        guard let message = update.message, message.chat.type == "private", message.from?.isBot != true else {
            return Response(status: .ok)
        }
        let chatID = message.chat.id
        let text = message.text ?? message.caption ?? ""
        let media = message.media
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !media.isEmpty else {
            // A sticker, a voice note, a location: say what works.
            let chinese = message.from?.languageCode?.hasPrefix("zh") == true
            return JSONBody.ok(SendMessage(chatID: chatID, text: NonTextReply.text(chinese: chinese)))
        }
        var inbound = InboundMessage(channel: "telegram", senderID: String(chatID), deliveryID: "update-\(update.updateID)",
                                     text: text, displayName: message.from?.firstName, queueReply: replyThroughAPI)
        inbound.remoteMedia = media
        let reply = try await services.deliver(inbound)
        guard !replyThroughAPI, let replyText = reply.text else { return Response(status: .ok) }
        return JSONBody.ok(SendMessage(chatID: chatID, text: replyText, replyMarkup: Self.keyboard(reply.suggestions)))
    }

    /// A one-time keyboard for yes/no questions, whose buttons send words the
    /// dialogue reads. Numbered choices stay in the text (the resident types the number).
    static func keyboard(_ suggestions: [SuggestedReply]) -> ReplyKeyboard? {
        guard !suggestions.isEmpty, suggestions.allSatisfy({ $0.title.lowercased() == $0.payload.lowercased() }) else { return nil }
        return ReplyKeyboard(keyboard: [suggestions.map { ReplyKeyboard.Button(text: $0.title) }])
    }
}
