import Foundation
import Store

/// Sends replies to REST-channel residents by calling the integrator's
/// callback URL, as Rasa's callback channel does: `POST {callback}` with
/// `{"recipient_id": "…", "text": "…"}` and, when configured, the REST
/// channel's bearer token, so the receiver can tell the call is ours.
///
/// Only replies the REST webhook did not answer in its own response go this
/// way: staff's public replies on a REST resident's ticket. Any 2xx is
/// delivery; 408, 429 (with `Retry-After`), 5xx and network failures are
/// retried; other 4xx answers reject the reply for good.
public struct RESTCallbackSender: OutboxSender {
    public let channel: String
    private let callbackURL: URL
    private let token: String?
    private let client: PlatformClient

    /// - Parameters:
    ///   - callbackURL: where the integrator receives pushed messages.
    ///   - token: sent as `Authorization: Bearer` (never logged).
    ///   - channel: the outbox channel it delivers.
    ///   - timeout: how long one request may take.
    public init(callbackURL: URL, token: String?, channel: String = "rest", timeout: TimeInterval = 30) {
        self.channel = channel
        self.callbackURL = callbackURL
        self.token = token
        client = PlatformClient(timeout: timeout, secrets: token.map { [$0] } ?? [])
    }

    public func send(_ item: OutboxItem) async -> DeliveryResult {
        var headers = ["Content-Type": "application/json; charset=utf-8"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let body = PlatformBody.json(["recipient_id": item.recipient, "text": item.text])
        switch await client.post(callbackURL, headers: headers, body: body) {
        case .failure(let failure):
            return .retry(error: "rest callback: \(failure.description)", after: nil)
        case .success(let response):
            let error = client.scrub("rest callback: HTTP \(response.status)")
            if (200..<300).contains(response.status) { return .sent(platformMessageID: nil) }
            if response.status >= 500 || response.status == 408 || response.status == 429 {
                return .retry(error: error, after: response.retryAfter)
            }
            return .rejected(error: error)
        }
    }
}
