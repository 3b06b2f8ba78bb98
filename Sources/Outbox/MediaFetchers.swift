import Foundation
import Store

/// What became of one attempt to download a platform's file.
public enum MediaFetchResult: Sendable, Equatable {
    /// The file's bytes (not yet checked: the worker checks them).
    case fetched(Data)
    /// A transient failure (network error or timeout, HTTP 5xx, rate limit):
    /// try again, not before `after` seconds when the platform said so.
    case retry(error: String, after: TimeInterval?)
    /// Retrying cannot help: the file is gone (404), the credentials are
    /// refused, or what the platform says of it already rules it out
    /// (`refused`: not an image, larger than the cap).
    case failed(error: String, refused: Bool)
}

/// Downloads the files residents sent on one channel from its platform,
/// with the channel's own credentials, and only from the platform's own API
/// host (a base URL tests point at a fake API on loopback).
///
/// `fetch` never throws; its error texts never contain credentials.
public protocol MediaFetcher: Sendable {
    /// The channel whose files it fetches (`"telegram"`, `"sms"`, `"slack"`).
    var channel: String { get }
    /// One attempt at the file `locator` names (`MediaReference.locator`);
    /// a file the platform says is larger than `maxBytes` fails as refused.
    func fetch(_ locator: String, maxBytes: Int) async -> MediaFetchResult
}

extension PlatformResponse {
    /// The usual reading of a platform's answer to a download: 2xx is the
    /// file, 408/429/5xx are retried, any other status fails for good.
    func download(_ what: String, client: PlatformClient) -> MediaFetchResult {
        switch status {
        case 200..<300: return .fetched(body)
        case 408, 429, 500...: return .retry(error: client.scrub("\(what): HTTP \(status)"), after: retryAfter)
        default: return .failed(error: client.scrub("\(what): HTTP \(status) \(excerpt.prefix(120))"), refused: false)
        }
    }
}

extension URL {
    /// Whether `self` is on the same scheme, host and port as `base`, under its path.
    func isUnder(_ base: URL) -> Bool {
        scheme?.lowercased() == base.scheme?.lowercased() && host?.lowercased() == base.host?.lowercased()
            && port == base.port && path.hasPrefix(base.path)
    }
}

/// Telegram: `getFile` for the file's path (and size), then
/// `GET {api_base}/file/bot<token>/<file_path>` (the Bot API serves files up
/// to 20 MB this way; a link stays valid for at least an hour).
public struct TelegramMediaFetcher: MediaFetcher {
    public let channel: String
    private let botToken: String
    private let apiBase: URL
    private let client: PlatformClient

    /// - Parameters:
    ///   - botToken: the bot's token (in the URL path; never logged).
    ///   - apiBase: where the Bot API lives (tests point it at a loopback server).
    ///   - timeout: how long one request may take.
    public init(botToken: String, apiBase: URL = TelegramSender.defaultAPIBase, channel: String = "telegram",
                timeout: TimeInterval = 30) {
        self.channel = channel
        self.botToken = botToken
        self.apiBase = apiBase
        client = PlatformClient(timeout: timeout, secrets: [botToken])
    }

    public func fetch(_ locator: String, maxBytes: Int) async -> MediaFetchResult {
        let fileID = PlatformBody.percentEncoded(locator)
        guard let getFile = apiBase.appendingRawPath("/bot\(botToken)/getFile?file_id=\(fileID)") else {
            return .failed(error: "telegram: the API base does not form a URL", refused: false)
        }
        let answer: PlatformResponse
        switch await client.get(getFile, headers: [:]) {
        case .failure(let failure): return .retry(error: "telegram getFile: \(failure.description)", after: nil)
        case .success(let response): answer = response
        }
        guard (200..<300).contains(answer.status) else { return answer.download("telegram getFile", client: client) }
        guard let result = answer.json?["result"] as? [String: Any], let path = result["file_path"] as? String, !path.isEmpty else {
            return .failed(error: client.scrub("telegram getFile: no file_path in \(answer.excerpt.prefix(120))"), refused: false)
        }
        if let size = (result["file_size"] as? NSNumber)?.intValue, size > maxBytes {
            return .failed(error: "telegram: the file is \(size) bytes, more than the \(maxBytes)-byte limit", refused: true)
        }
        guard let file = apiBase.appendingRawPath("/file/bot\(botToken)/\(path)") else {
            return .failed(error: "telegram: the file path does not form a URL", refused: false)
        }
        switch await client.get(file, headers: [:]) {
        case .failure(let failure): return .retry(error: "telegram file: \(failure.description)", after: nil)
        case .success(let response): return response.download("telegram file", client: client)
        }
    }
}

/// Twilio: `MediaUrlN` from the webhook, fetched with HTTP basic auth (the
/// account SID and auth token), and only when it is on the configured API
/// host. Twilio may redirect to its media store; the redirect is followed.
public struct TwilioMediaFetcher: MediaFetcher {
    public let channel: String
    private let authorization: String
    private let apiBase: URL
    private let client: PlatformClient

    public init(accountSID: String, authToken: String, apiBase: URL = TwilioSender.defaultAPIBase, channel: String = "sms",
                timeout: TimeInterval = 30) {
        self.channel = channel
        authorization = "Basic " + Data("\(accountSID):\(authToken)".utf8).base64EncodedString()
        self.apiBase = apiBase
        client = PlatformClient(timeout: timeout, secrets: [authToken, authorization])
    }

    public func fetch(_ locator: String, maxBytes: Int) async -> MediaFetchResult {
        await fetchFromPlatform(locator, base: apiBase, what: "twilio media", authorization: authorization, client: client)
    }
}

/// Slack: a `file_share` event's `url_private`, fetched with the bot token as
/// a bearer token (the app needs the `files:read` scope), and only from the
/// configured files host (`https://files.slack.com`).
public struct SlackMediaFetcher: MediaFetcher {
    public static let defaultFilesBase = URL(string: "https://files.slack.com")!

    public let channel: String
    private let authorization: String
    private let filesBase: URL
    private let client: PlatformClient

    public init(botToken: String, filesBase: URL = SlackMediaFetcher.defaultFilesBase, channel: String = "slack",
                timeout: TimeInterval = 30) {
        self.channel = channel
        authorization = "Bearer \(botToken)"
        self.filesBase = filesBase
        client = PlatformClient(timeout: timeout, secrets: [botToken])
    }

    public func fetch(_ locator: String, maxBytes: Int) async -> MediaFetchResult {
        await fetchFromPlatform(locator, base: filesBase, what: "slack file", authorization: authorization, client: client)
    }
}

/// GETs `locator` with `authorization` when it lies under `base` (anything
/// else fails: Concierge fetches only from the platform's own host). An HTML
/// page where a file was expected is the platform's sign-in or error page.
private func fetchFromPlatform(_ locator: String, base: URL, what: String, authorization: String,
                               client: PlatformClient) async -> MediaFetchResult {
    guard let url = URL(string: locator), url.isUnder(base) else {
        return .failed(error: "\(what): \(locator.prefix(80)) is not on \(base.absoluteString)", refused: false)
    }
    switch await client.get(url, headers: ["Authorization": authorization]) {
    case .failure(let failure):
        return .retry(error: "\(what): \(failure.description)", after: nil)
    case .success(let response):
        if (200..<300).contains(response.status), response.header("content-type")?.lowercased().hasPrefix("text/html") == true {
            return .failed(error: "\(what): an HTML page instead of the file (are the credentials and scopes right?)", refused: false)
        }
        return response.download(what, client: client)
    }
}
