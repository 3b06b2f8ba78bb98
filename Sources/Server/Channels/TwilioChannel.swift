import Dialogue
import Foundation
import Hummingbird

/// Twilio Programmable Messaging (`POST /webhooks/twilio`): an incoming SMS
/// as a form, answered with TwiML.
///
/// - `X-Twilio-Signature` is checked against the URL Twilio was configured
///   to call: the configured `public_url` plus the path and query as
///   received (a proxy in front changes host and scheme, so the server's own
///   idea of its URL would not match). 403 when missing or wrong.
/// - `MessageSid` is the delivery id: Twilio's retry gets the same TwiML.
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
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            // A picture or an empty text: say what works (Chinese if the sender's country is China).
            return Self.twiml(NonTextReply.text(chinese: from.hasPrefix("+86")))
        }
        let reply = try await services.deliver(InboundMessage(
            channel: "sms", senderID: from, deliveryID: sid, text: text, queueReply: false))
        return Self.twiml(reply.text)
    }

    /// The TwiML document answering with `text` (nothing when nil).
    static func twiml(_ text: String?) -> Response {
        let document = text.map { "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>\(XMLText.escaped($0))</Message></Response>" }
            ?? "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
        return Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }
}
