import Foundation
import Store

/// Sends replies to Slack with the Web API's `chat.postMessage` (a bot token
/// with the `chat:write` scope; the recipient is a channel or DM id).
///
/// Slack answers HTTP 200 with `{"ok":true,"ts":"…"}` or
/// `{"ok":false,"error":"…"}`. Rate limits (HTTP 429 with `Retry-After`, or
/// the `ratelimited` error), 5xx answers, Slack's transient errors
/// (`internal_error`, …) and network failures are retried; every other
/// `error` (`channel_not_found`, `not_in_channel`, `is_archived`,
/// `invalid_auth`, `account_inactive`, …) rejects the reply for good.
public struct SlackSender: OutboxSender {
    public static let defaultAPIBase = URL(string: "https://slack.com/api")!

    /// Slack `error` codes that say "try again later".
    public static let transientErrors: Set<String> = [
        "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
        "team_added_to_org",
    ]

    public let channel: String
    private let botToken: String
    private let endpoint: URL?
    private let client: PlatformClient

    /// - Parameters:
    ///   - botToken: the `xoxb-…` token (sent as `Authorization: Bearer`, never logged).
    ///   - apiBase: where the Web API lives (tests point it at a loopback server).
    ///   - channel: the outbox channel it delivers.
    ///   - timeout: how long one request may take.
    public init(botToken: String, apiBase: URL = SlackSender.defaultAPIBase, channel: String = "slack",
                timeout: TimeInterval = 30) {
        self.channel = channel
        self.botToken = botToken
        endpoint = apiBase.appendingRawPath("/chat.postMessage")
        client = PlatformClient(timeout: timeout, secrets: [botToken])
    }

    public func send(_ item: OutboxItem) async -> DeliveryResult {
        guard let endpoint else { return .rejected(error: "slack: the API base does not form a URL") }
        let body = PlatformBody.json(["channel": item.recipient, "text": item.text])
        let headers = ["Authorization": "Bearer \(botToken)", "Content-Type": "application/json; charset=utf-8"]
        switch await client.post(endpoint, headers: headers, body: body) {
        case .failure(let failure):
            return .retry(error: "slack: \(failure.description)", after: nil)
        case .success(let response):
            return interpret(response)
        }
    }

    func interpret(_ response: PlatformResponse) -> DeliveryResult {
        if response.status == 429 {
            return .retry(error: "slack: HTTP 429 rate limited", after: response.retryAfter)
        }
        if response.status >= 500 || response.status == 408 {
            return .retry(error: "slack: HTTP \(response.status)", after: response.retryAfter)
        }
        guard (200..<300).contains(response.status) else {
            return .rejected(error: client.scrub("slack: HTTP \(response.status) \(response.excerpt)"))
        }
        guard let json = response.json, let ok = json["ok"] as? Bool else {
            // Not Slack's JSON (a proxy's page?): the message may not have been posted.
            return .retry(error: client.scrub("slack: unexpected answer \(response.excerpt)"), after: nil)
        }
        if ok { return .sent(platformMessageID: json["ts"] as? String) }
        let code = json["error"] as? String ?? "unknown_error"
        if Self.transientErrors.contains(code) {
            return .retry(error: "slack: \(code)", after: response.retryAfter)
        }
        return .rejected(error: "slack: \(code)")
    }
}
