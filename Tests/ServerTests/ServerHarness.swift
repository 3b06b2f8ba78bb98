import AssistantTestSupport
import Dialogue
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Outbox
import Server
import Store
import Triage
import Synchronization
import TestSupport

/// Secrets the test servers use (the platforms' side of the tests signs with them).
enum TestSecrets {
    static let restToken = "rest-token-0123456789"
    static let telegramSecret = "telegram-secret-abc"
    static let twilioToken = "twilio-auth-token-xyz"
    static let slackSecret = "slack-signing-secret-123"
    static let slackBotToken = "xoxb-test-token"
    static let publicURL = "https://concierge.example.org"

    static var all: ChannelSecrets {
        ChannelSecrets(restToken: restToken, telegramSecretToken: telegramSecret, telegramBotToken: nil,
                       twilioAuthToken: twilioToken, slackSigningSecret: slackSecret, slackBotToken: slackBotToken)
    }
}

/// How a test reaches the server.
enum Transport {
    /// In process, through Hummingbird's router test framework: the real
    /// routes, middleware and handlers, no socket (the peer address is unknown).
    case inProcess
    /// A real socket on loopback: for what needs one (connection limits,
    /// timeouts, raw bytes, client addresses, the outbox service, a browser).
    case socket
}

/// A real `ConciergeServer` with the real engine on a fresh SQLite file,
/// reached in process (the default) or over a free loopback port. The engine
/// triages with the trained community model unless the test scripts the
/// decisions (`triager:`, no model needed).
final class RunningServer: @unchecked Sendable {
    /// The loopback port (0 in process).
    let port: Int
    let testStore: TestStore
    let server: ConciergeServer
    private let task: Task<Void, any Error>?
    /// The in-process client, while a test runs (`with`).
    fileprivate(set) var client: (any TestClientProtocol)?
    /// How many times the server rang the outbox bell.
    let bell = Counter()

    var store: any TicketStore { testStore.store }

    /// All four channels on, a generous rate limit unless given.
    static func configuration(rateLimit: ServerConfiguration.RateLimitSettings = .init(messagesPerMinute: 6_000, burst: 1_000),
                              maxBodyBytes: Int = 65_536) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.publicURL = TestSecrets.publicURL
        configuration.maxBodyBytes = maxBodyBytes
        configuration.rateLimit = rateLimit
        configuration.rest = .init()
        configuration.telegram = .init()
        configuration.twilio = .init()
        var slack = ServerConfiguration.SlackSettings()
        slack.botUserID = "UBOT"
        configuration.slack = slack
        return configuration
    }

    /// Starts a server; `loaded: false` leaves the model unloaded (readiness tests).
    init(configuration: ServerConfiguration = RunningServer.configuration(), loaded: Bool = true,
         secrets: ChannelSecrets = TestSecrets.all, outbox: Bool = false, transport: Transport = .socket,
         triager scripted: (any Triaging)? = nil, now: @escaping @Sendable () -> Date = { Date() }) async throws {
        let triager: any Triaging
        if let scripted { triager = scripted } else { triager = await CommunityFixture.preparedTriager() }
        testStore = try await TestStore()
        let engine = makeEngine(testStore.store, triager: triager)
        let bell = self.bell
        var logger = Logger(label: "test.server")
        logger.logLevel = .critical
        var server = try ConciergeServer(configuration: configuration, secrets: secrets,
                                         assistant: AssistantSlot(loaded ? engine : nil), store: testStore.store, logger: logger,
                                         replyQueued: { bell.increment() }, now: now)
        // The real outbox worker, with retries a few milliseconds apart instead of seconds.
        let worker = outbox ? try server.outboxWorker(retry: RetryPolicy(initialDelay: 0.02, maximumDelay: 0.1)) : nil
        if let worker { server.replyQueued = { bell.increment(); worker.wake() } }
        self.server = server
        guard transport == .socket else {
            port = 0
            task = nil
            return
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = server.application(services: worker.map { [$0] } ?? []) { port in continuation.yield(port) }
        task = Task { try await application.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HTTPTestClient.Failure(description: "the server did not start") }
        self.port = port
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
        await testStore.close()
    }

    /// One request, over the socket or in process, as `HTTPTestClient` sends it.
    func send(method: String = "POST", path: String, headers: [(String, String)] = [],
              body: [UInt8] = []) async throws -> HTTPTestResponse {
        guard let client else { return try await HTTPTestClient.send(port: port, method: method, path: path, headers: headers, body: body) }
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let field = HTTPField.Name(name) else { throw HTTPTestClient.Failure(description: "bad header name \(name)") }
            fields.append(HTTPField(name: field, value: value))
        }
        let response = try await client.executeRequest(uri: path, method: HTTPRequest.Method(rawValue: method) ?? .post,
                                                       headers: fields, body: body.isEmpty ? nil : ByteBuffer(bytes: body))
        var flat: [String: String] = [:]
        var cookies: [String] = []
        for field in response.headers {
            flat[field.name.canonicalName] = field.value
            if field.name == .setCookie { cookies.append(field.value) }
        }
        return HTTPTestResponse(status: Int(response.status.code), headers: flat, body: Array(response.body.readableBytesView),
                                setCookies: cookies)
    }

    /// A GET.
    func get(path: String, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send(method: "GET", path: path, headers: headers)
    }

    /// `json` as the body (`Content-Type: application/json`).
    func postJSON(path: String, json: Any, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send(path: path, headers: [("Content-Type", "application/json")] + headers,
                       body: Array(try JSONSerialization.data(withJSONObject: json)))
    }

    // MARK: Requests as each platform sends them

    func rest(_ message: String, sender: String = "resident-1", messageID: String? = nil,
              token: String = TestSecrets.restToken) async throws -> HTTPTestResponse {
        var metadata: [String: Any] = [:]
        if let messageID { metadata["message_id"] = messageID }
        return try await postJSON(path: "/webhooks/rest/webhook",
                                           json: ["sender": sender, "message": message, "metadata": metadata],
                                           headers: [("Authorization", "Bearer \(token)")])
    }

    func telegram(updateID: Int, chatID: Int64 = 7001, text: String?, caption: String? = nil, chatType: String = "private",
                  secret: String = TestSecrets.telegramSecret) async throws -> HTTPTestResponse {
        var message: [String: Any] = [
            "message_id": updateID * 10, "date": 1_790_000_000,
            "from": ["id": chatID, "is_bot": false, "first_name": "Mei", "language_code": "en"],
            "chat": ["id": chatID, "type": chatType],
        ]
        if let text { message["text"] = text }
        if let caption {
            message["caption"] = caption
            message["photo"] = [["file_id": "AgAD-small", "file_unique_id": "s", "width": 90, "height": 67, "file_size": 1_200]]
        }
        return try await postJSON(path: "/webhooks/telegram",
                                           json: ["update_id": updateID, "message": message],
                                           headers: [("X-Telegram-Bot-Api-Secret-Token", secret)])
    }

    /// An SMS form as Twilio posts it, signed over `signedURL` (the public URL unless given).
    /// `media` are the MMS's (`MediaUrlN`, `MediaContentTypeN`).
    func sms(_ body: String, from: String = "+16045550100", sid: String, signedURL: String? = nil,
             authToken: String = TestSecrets.twilioToken, media: [(url: String, type: String)] = []) async throws -> HTTPTestResponse {
        let parameters: [(name: String, value: String)] = [
            ("AccountSid", "AC0000"), ("Body", body), ("From", from), ("MessageSid", sid), ("NumMedia", "\(media.count)"),
            ("SmsSid", sid), ("To", "+16045550199"),
        ] + media.enumerated().flatMap { index, item in [("MediaContentType\(index)", item.type), ("MediaUrl\(index)", item.url)] }
        let form = parameters.map { "\(Self.formEncode($0.name))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        let signature = TwilioSignature(authToken: authToken)
            .signature(url: signedURL ?? TestSecrets.publicURL + "/webhooks/twilio", parameters: parameters)
        return try await send(path: "/webhooks/twilio",
                                       headers: [("Content-Type", "application/x-www-form-urlencoded"),
                                                 ("X-Twilio-Signature", signature)],
                                       body: Array(form.utf8))
    }

    /// A Slack event envelope, signed now (or at `timestamp`).
    func slack(_ envelope: [String: Any], timestamp: Date = Date(), secret: String = TestSecrets.slackSecret,
               extraHeaders: [(String, String)] = []) async throws -> HTTPTestResponse {
        let body = Array(try JSONSerialization.data(withJSONObject: envelope))
        return try await slackRaw(body, timestamp: timestamp, secret: secret, extraHeaders: extraHeaders)
    }

    func slackRaw(_ body: [UInt8], contentType: String = "application/json", timestamp: Date = Date(),
                  secret: String = TestSecrets.slackSecret, extraHeaders: [(String, String)] = []) async throws -> HTTPTestResponse {
        let stamp = String(Int(timestamp.timeIntervalSince1970))
        let signature = SlackSignature(signingSecret: secret).signature(timestamp: stamp, body: body)
        return try await send(path: "/webhooks/slack/events",
                                       headers: [("Content-Type", contentType), ("X-Slack-Request-Timestamp", stamp),
                                                 ("X-Slack-Signature", signature)] + extraHeaders,
                                       body: body)
    }

    static func slackMessage(eventID: String, user: String = "U123", text: String, botID: String? = nil,
                             subtype: String? = nil) -> [String: Any] {
        var event: [String: Any] = ["type": "message", "channel": "D123", "channel_type": "im", "user": user,
                                    "text": text, "ts": "1790000000.000100"]
        if let botID { event["bot_id"] = botID }
        if let subtype { event["subtype"] = subtype }
        return ["type": "event_callback", "token": "legacy", "team_id": "T1", "api_app_id": "A1",
                "event_id": eventID, "event_time": 1_790_000_000, "event": event]
    }

    /// `application/x-www-form-urlencoded` encoding of one name or value.
    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")
        return text.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: "%20", with: "+")
    }
}

extension RunningServer {
    /// Runs `body` against a fresh server and always stops it.
    static func with<T: Sendable>(configuration: ServerConfiguration = RunningServer.configuration(), loaded: Bool = true,
                                  secrets: ChannelSecrets = TestSecrets.all, outbox: Bool = false,
                                  transport: Transport = .socket, triager: (any Triaging)? = nil,
                                  now: @escaping @Sendable () -> Date = { Date() },
                                  _ body: @escaping (RunningServer) async throws -> T) async throws -> T {
        let server = try await RunningServer(configuration: configuration, loaded: loaded, secrets: secrets, outbox: outbox,
                                             transport: transport, triager: triager, now: now)
        do {
            let result: T
            if transport == .inProcess {
                let application = Application(router: server.server.router())
                nonisolated(unsafe) let body = body
                result = try await application.test(.router) { client in
                    server.client = client
                    return try await body(server)
                }
            } else {
                result = try await body(server)
            }
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}


/// A thread-safe count.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
