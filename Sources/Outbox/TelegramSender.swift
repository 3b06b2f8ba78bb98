import Foundation
import Store

/// Sends replies with the Telegram Bot API's `sendMessage` (the recipient is
/// the chat id the resident wrote from).
///
/// Telegram answers `{"ok":true,"result":{"message_id":N,…}}`, or
/// `{"ok":false,"error_code":…,"description":"…"}` with the same HTTP status.
/// 429 (with `parameters.retry_after`), 5xx and network failures are retried;
/// other 4xx answers — 400 "chat not found", 403 "bot was blocked by the
/// user", 401 for a wrong token — reject the reply for good.
public struct TelegramSender: OutboxSender {
    public static let defaultAPIBase = URL(string: "https://api.telegram.org")!

    public let channel: String
    private let endpoint: URL?
    private let client: PlatformClient

    /// - Parameters:
    ///   - botToken: the token BotFather gave (part of the URL path; never logged).
    ///   - apiBase: where the Bot API lives (tests point it at a loopback server).
    ///   - channel: the outbox channel it delivers.
    ///   - timeout: how long one request may take.
    public init(botToken: String, apiBase: URL = TelegramSender.defaultAPIBase, channel: String = "telegram",
                timeout: TimeInterval = 30) {
        self.channel = channel
        endpoint = apiBase.appendingRawPath("/bot\(botToken)/sendMessage")
        client = PlatformClient(timeout: timeout, secrets: [botToken])
    }

    public func send(_ item: OutboxItem) async -> DeliveryResult {
        guard let endpoint else { return .rejected(error: "telegram: the API base and token do not form a URL") }
        // Chat ids are integers; a public channel's is "@name".
        let chatID: any Sendable = Int64(item.recipient) ?? item.recipient
        let body = PlatformBody.json(["chat_id": chatID, "text": item.text])
        switch await client.post(endpoint, headers: ["Content-Type": "application/json; charset=utf-8"], body: body) {
        case .failure(let failure):
            return .retry(error: "telegram: \(failure.description)", after: nil)
        case .success(let response):
            return interpret(response)
        }
    }

    func interpret(_ response: PlatformResponse) -> DeliveryResult {
        let json = response.json
        let description = (json?["description"] as? String).map { " \($0)" } ?? ""
        let error = client.scrub("telegram: HTTP \(response.status)\(description)")
        if response.status == 429 {
            let parameters = json?["parameters"] as? [String: Any]
            let retryAfter = (parameters?["retry_after"] as? NSNumber)?.doubleValue ?? response.retryAfter
            return .retry(error: error, after: retryAfter)
        }
        if response.status >= 500 || response.status == 408 {
            return .retry(error: error, after: response.retryAfter)
        }
        guard (200..<300).contains(response.status) else { return .rejected(error: error) }
        guard let json, json["ok"] as? Bool == true else {
            return .retry(error: client.scrub("telegram: unexpected answer \(response.excerpt)"), after: nil)
        }
        let messageID = ((json["result"] as? [String: Any])?["message_id"] as? NSNumber)?.int64Value
        return .sent(platformMessageID: messageID.map(String.init))
    }
}
