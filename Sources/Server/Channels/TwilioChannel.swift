import Dialogue
import Foundation
import Hummingbird
import Store

/// Twilio Programmable Messaging (`POST /webhooks/twilio`): an incoming SMS
/// as a form, answered with TwiML.
///
/// - `X-Twilio-Signature` is checked against the URL Twilio was configured
///   to call: the configured `public_url` plus the path and query as
///   received (a proxy in front changes host and scheme, so the server's own
///   idea of its URL would not match). 403 when missing or wrong.
/// - `MessageSid` is the delivery id: Twilio's retry gets the same TwiML.
/// - An MMS's pictures (`NumMedia`, `MediaUrlN`) are recorded with the turn
///   and fetched afterwards (``MediaFetchWorker``); the TwiML never waits.
/// - The reply is `<Response><Message>…</Message></Response>`, or an empty
///   `<Response/>` when staff have the conversation.
struct TwilioChannel: Sendable {
    let services: ChannelServices
    let signature: TwilioSignature
    let publicURL: String

    func handle(_ request: Request) async throws -> Response {
        let body = try await request.rawBody(limit: services.configuration.maxBodyBytes)
        try request.requireMediaType("application/x-www-form-urlencoded")
        let parameters = try FormBody.parse(body)
        let url = publicURL + request.uri.description
        guard signature.isValid(signature: request.header("X-Twilio-Signature"), url: url, parameters: parameters) else {
            throw WebhookError.forbidden("missing or wrong X-Twilio-Signature for \(url)")
        }
        func value(_ name: String) -> String? { parameters.first { $0.name == name }?.value }
        guard let from = value("From"), !from.isEmpty else { throw WebhookError.malformed("the form has no From") }
        guard let sid = value("MessageSid") ?? value("SmsSid"), !sid.isEmpty else {
            throw WebhookError.malformed("the form has no MessageSid")
        }
        let text = value("Body") ?? ""
        let media = try Self.media(value)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !media.isEmpty else {
            // An empty text: say what works (Chinese if the sender's country is China).
            return Self.twiml(NonTextReply.text(chinese: from.hasPrefix("+86")))
        }
        var inbound = InboundMessage(channel: "sms", senderID: from, deliveryID: sid, text: text, queueReply: false)
        inbound.remoteMedia = media
        let reply = try await services.deliver(inbound)
        return Self.twiml(reply.text)
    }

    /// The most files one MMS carries (Twilio's own limit).
    static let maximumMedia = 10

    /// `MediaUrlN` / `MediaContentTypeN` for N below `NumMedia`, fetched
    /// after the reply with the account's credentials; 400 for a `NumMedia`
    /// that is not a number from 0 to 10 or a missing `MediaUrlN`.
    static func media(_ value: (String) -> String?) throws -> [RemoteMedia] {
        guard let count = value("NumMedia") else { return [] }
        guard let number = Int(count), (0...maximumMedia).contains(number) else {
            throw WebhookError.malformed("NumMedia must be a number from 0 to \(maximumMedia)")
        }
        return try (0..<number).map { index in
            guard let url = value("MediaUrl\(index)"), !url.isEmpty else { throw WebhookError.malformed("the form has no MediaUrl\(index)") }
            return RemoteMedia(MediaReference(channel: "sms", locator: url, declaredType: value("MediaContentType\(index)")))
        }
    }

    /// The TwiML document answering with `text` (nothing when nil).
    static func twiml(_ text: String?) -> Response {
        let document = text.map { "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>\(XMLText.escaped($0))</Message></Response>" }
            ?? "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
        return Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }
}
