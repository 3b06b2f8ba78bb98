import AssistantTestSupport
import Dialogue
import Foundation
import Hummingbird
import Logging
import Outbox
import Server
import Store
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

/// A real `ConciergeServer` listening on a free loopback port, with the real
/// engine (the trained community model) on a fresh SQLite file.
final class RunningServer: @unchecked Sendable {
    let port: Int
    let testStore: TestStore
    let server: ConciergeServer
    private let task: Task<Void, any Error>
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
         secrets: ChannelSecrets = TestSecrets.all, outbox: Bool = false,
         now: @escaping @Sendable () -> Date = { Date() }) async throws {
        let triager = await CommunityFixture.preparedTriager()
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
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = server.application(services: worker.map { [$0] } ?? []) { port in continuation.yield(port) }
        task = Task { try await application.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HTTPTestClient.Failure(description: "the server did not start") }
        self.port = port
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        await testStore.close()
    }

    // MARK: Requests as each platform sends them

    func rest(_ message: String, sender: String = "resident-1", messageID: String? = nil,
              token: String = TestSecrets.restToken) async throws -> HTTPTestResponse {
        var metadata: [String: Any] = [:]
        if let messageID { metadata["message_id"] = messageID }
        return try await HTTPTestClient.postJSON(port: port, path: "/webhooks/rest/webhook",
                                           json: ["sender": sender, "message": message, "metadata": metadata],
                                           headers: [("Authorization", "Bearer \(token)")])
    }

    func telegram(updateID: Int, chatID: Int64 = 7001, text: String?, chatType: String = "private",
                  secret: String = TestSecrets.telegramSecret) async throws -> HTTPTestResponse {
        var message: [String: Any] = [
            "message_id": updateID * 10, "date": 1_790_000_000,
            "from": ["id": chatID, "is_bot": false, "first_name": "Mei", "language_code": "en"],
            "chat": ["id": chatID, "type": chatType],
        ]
        if let text { message["text"] = text }
        return try await HTTPTestClient.postJSON(port: port, path: "/webhooks/telegram",
                                           json: ["update_id": updateID, "message": message],
                                           headers: [("X-Telegram-Bot-Api-Secret-Token", secret)])
    }

    /// An SMS form as Twilio posts it, signed over `signedURL` (the public URL unless given).
    func sms(_ body: String, from: String = "+16045550100", sid: String, signedURL: String? = nil,
             authToken: String = TestSecrets.twilioToken) async throws -> HTTPTestResponse {
        let parameters: [(name: String, value: String)] = [
            ("AccountSid", "AC0000"), ("Body", body), ("From", from), ("MessageSid", sid), ("NumMedia", "0"),
            ("SmsSid", sid), ("To", "+16045550199"),
        ]
        let form = parameters.map { "\(Self.formEncode($0.name))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        let signature = TwilioSignature(authToken: authToken)
            .signature(url: signedURL ?? TestSecrets.publicURL + "/webhooks/twilio", parameters: parameters)
        return try await HTTPTestClient.send(port: port, path: "/webhooks/twilio",
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
        return try await HTTPTestClient.send(port: port, path: "/webhooks/slack/events",
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
    static func with<T>(configuration: ServerConfiguration = RunningServer.configuration(), loaded: Bool = true,
                        secrets: ChannelSecrets = TestSecrets.all, outbox: Bool = false,
                        now: @escaping @Sendable () -> Date = { Date() },
                        _ body: (RunningServer) async throws -> T) async throws -> T {
        let server = try await RunningServer(configuration: configuration, loaded: loaded, secrets: secrets, outbox: outbox, now: now)
        do {
            let result = try await body(server)
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
