import Foundation
import Store

/// Sends replies as SMS through Twilio's Messages API (the recipient is the
/// resident's number in E.164, `+16045550142`).
///
/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
/// `From`, `Body`, HTTP basic auth with the account SID and auth token.
/// Twilio answers 201 with `{"sid":"SM…",…}`. 429, 5xx and network failures
/// are retried; other 4xx answers (21211 invalid number, 21610 unsubscribed
/// recipient, 20003 wrong credentials) reject the reply for good.
public struct TwilioSender: OutboxSender {
    public static let defaultAPIBase = URL(string: "https://api.twilio.com")!

    public let channel: String
    private let from: String
    private let authorization: String
    private let endpoint: URL?
    private let client: PlatformClient

    /// - Parameters:
    ///   - accountSID: the `AC…` account id (URL path and basic-auth user).
    ///   - authToken: the auth token (basic-auth password; never logged).
    ///   - from: the Twilio number replies come from.
    ///   - apiBase: where the API lives (tests point it at a loopback server).
    ///   - channel: the outbox channel it delivers.
    ///   - timeout: how long one request may take.
    public init(accountSID: String, authToken: String, from: String, apiBase: URL = TwilioSender.defaultAPIBase,
                channel: String = "sms", timeout: TimeInterval = 30) {
        self.channel = channel
        self.from = from
        authorization = "Basic " + Data("\(accountSID):\(authToken)".utf8).base64EncodedString()
        let account = PlatformBody.percentEncoded(accountSID)
        endpoint = apiBase.appendingRawPath("/2010-04-01/Accounts/\(account)/Messages.json")
        client = PlatformClient(timeout: timeout, secrets: [authToken, authorization])
    }

    public func send(_ item: OutboxItem) async -> DeliveryResult {
        guard let endpoint else { return .rejected(error: "twilio: the API base does not form a URL") }
        let body = PlatformBody.form([("To", item.recipient), ("From", from), ("Body", item.text)])
        let headers = ["Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                       "Accept": "application/json"]
        switch await client.post(endpoint, headers: headers, body: body) {
        case .failure(let failure):
            return .retry(error: "twilio: \(failure.description)", after: nil)
        case .success(let response):
            return interpret(response)
        }
    }

    func interpret(_ response: PlatformResponse) -> DeliveryResult {
        let json = response.json
        if (200..<300).contains(response.status) {
            guard let sid = json?["sid"] as? String else {
                return .retry(error: client.scrub("twilio: unexpected answer \(response.excerpt)"), after: nil)
            }
            return .sent(platformMessageID: sid)
        }
        // "HTTP 400, code 21211:" — not "400 (21211)", which the log mask would take for a phone number.
        let code = (json?["code"] as? NSNumber).map { ", code \($0.intValue)" } ?? ""
        let message = (json?["message"] as? String).map { ": \($0)" } ?? ""
        let error = client.scrub("twilio: HTTP \(response.status)\(code)\(message)")
        if response.status == 429 || response.status >= 500 || response.status == 408 {
            return .retry(error: error, after: response.retryAfter)
        }
        return .rejected(error: error)
    }
}
