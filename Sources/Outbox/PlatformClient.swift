import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A platform's answer to one request.
struct PlatformResponse: Sendable {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body as a JSON object, or nil when it is not one.
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    /// `Retry-After` in seconds (the delta-seconds form the platforms send), or nil.
    var retryAfter: TimeInterval? {
        guard let value = header("retry-after").flatMap({ TimeInterval($0.trimmingCharacters(in: .whitespaces)) }),
              value.isFinite, value >= 0 else { return nil }
        return value
    }

    /// The start of the body, on one line, for error messages.
    var excerpt: String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// The HTTP client a sender talks to its platform with: its own ephemeral
/// `URLSession` (no cookies, no cache, a request timeout) and the secrets to
/// scrub from every error text it produces.
struct PlatformClient: Sendable {
    private let session: URLSession
    private let secrets: [String]

    init(timeout: TimeInterval, secrets: [String]) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 2
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        session = URLSession(configuration: configuration)
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    /// POSTs `body`; a network failure comes back as its (scrubbed) description.
    func post(_ url: URL, headers: [String: String], body: Data) async -> Result<PlatformResponse, NetworkFailure> {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return await perform(request)
    }

    /// GETs `url`; a network failure comes back as its (scrubbed) description.
    func get(_ url: URL, headers: [String: String]) async -> Result<PlatformResponse, NetworkFailure> {
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return await perform(request)
    }

    private func perform(_ request: URLRequest) async -> Result<PlatformResponse, NetworkFailure> {
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else {
                return .failure(NetworkFailure(description: "the answer was not HTTP"))
            }
            var fields: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
            }
            return .success(PlatformResponse(status: http.statusCode, headers: fields, body: data))
        } catch let error as URLError {
            return .failure(NetworkFailure(description: scrub("network error \(error.code.rawValue): \(error.localizedDescription)")))
        } catch {
            return .failure(NetworkFailure(description: scrub("network error: \(error.localizedDescription)")))
        }
    }

    /// `text` with every secret (token, password) replaced by `[secret]`.
    func scrub(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "[secret]") }
    }
}

/// A request that got no HTTP answer (connection refused, timeout, TLS, …).
struct NetworkFailure: Error, Sendable {
    var description: String
}

/// Helpers for the platform request bodies.
enum PlatformBody {
    /// `{"key": value, …}` as UTF-8 JSON (values: strings and integers).
    static func json(_ fields: [String: any Sendable]) -> Data {
        (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// The characters `application/x-www-form-urlencoded` leaves as they are
    /// (RFC 3986 unreserved, ASCII only); everything else is percent-encoded as UTF-8.
    private static let unreserved = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `name=value&…` with names and values percent-encoded (a space is `%20`, `+` is `%2B`).
    static func form(_ fields: [(String, String)]) -> Data {
        let pairs = fields.map { name, value in "\(percentEncoded(name))=\(percentEncoded(value))" }
        return Data(pairs.joined(separator: "&").utf8)
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}

extension URL {
    /// `self` with `path` ("/bot…/sendMessage") appended as written, or nil when it does not form a URL.
    func appendingRawPath(_ path: String) -> URL? {
        var base = absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + path)
    }
}
