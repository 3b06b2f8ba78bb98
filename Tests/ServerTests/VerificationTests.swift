import Foundation
@testable import Server
import StaffAuth
import Logging
import Store
import Testing

/// The signature checks against the vectors the platforms publish, and the
/// small pure pieces (constant-time compare, form decoding, rate limit, configuration).
struct SignatureTests {
    /// Slack's worked example in "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-slack).
    static let slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

    @Test func slackPublishedVector() {
        let slack = SlackSignature(signingSecret: "8f742231b10e8888abcd99yyyzzz85a5")
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        #expect(slack.signature(timestamp: "1531420618", body: Array(Self.slackBody.utf8)) == expected)
        let then = Date(timeIntervalSince1970: 1_531_420_618 + 60)
        #expect(slack.verify(signature: expected, timestamp: "1531420618", body: Array(Self.slackBody.utf8), now: then) == .valid)
    }

    @Test func slackRefusesTamperingStaleAndMissing() {
        let slack = SlackSignature(signingSecret: "8f742231b10e8888abcd99yyyzzz85a5")
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        let body = Array(Self.slackBody.utf8)
        let then = Date(timeIntervalSince1970: 1_531_420_618)
        var tampered = body
        tampered[tampered.count - 1] ^= 1
        #expect(slack.verify(signature: signature, timestamp: "1531420618", body: tampered, now: then) == .mismatch)
        // Six minutes later the same request is a replay.
        #expect(slack.verify(signature: signature, timestamp: "1531420618", body: body, now: then.addingTimeInterval(360))
                == .staleTimestamp)
        #expect(slack.verify(signature: signature, timestamp: "1531420618", body: body, now: then.addingTimeInterval(-360))
                == .staleTimestamp)
        #expect(slack.verify(signature: nil, timestamp: "1531420618", body: body, now: then) == .missingHeaders)
        #expect(slack.verify(signature: signature, timestamp: "not-a-number", body: body, now: then) == .staleTimestamp)
        #expect(SlackSignature(signingSecret: "other").verify(signature: signature, timestamp: "1531420618", body: body, now: then)
                == .mismatch)
    }

    /// Twilio's example in "Webhooks security" (twilio.com/docs/usage/security), and the older one in twilio-php's docs.
    @Test func twilioPublishedVectors() {
        let twilio = TwilioSignature(authToken: "12345")
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        let current: [(name: String, value: String)] = [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
            ("From", "+12349013030"), ("To", "+18005551212"),
        ]
        #expect(twilio.signature(url: url, parameters: current) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        let older: [(name: String, value: String)] = [
            ("To", "+18005551212"), ("From", "+14158675309"), ("Digits", "1234"),
            ("Caller", "+14158675309"), ("CallSid", "CA1234567890ABCDE"),
        ]
        // Given out of order: the signature sorts them.
        #expect(twilio.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: older))
        #expect(!twilio.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: "http://mycompany.com/myapp.php?foo=1&bar=2",
                                parameters: older), "the scheme is part of what is signed")
        #expect(!twilio.isValid(signature: nil, url: url, parameters: older))
        #expect(!TwilioSignature(authToken: "12346").isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: older))
    }

    /// The webhooks compare secrets with the same constant-time check as staff sessions and API keys.
    @Test func constantTimeEquality() {
        #expect(SecretToken.constantTimeEquals("secret-token", "secret-token"))
        #expect(!SecretToken.constantTimeEquals("secret-token", "secret-tokeN"))
        #expect(!SecretToken.constantTimeEquals("secret-token", "secret-token-longer"))
        #expect(!SecretToken.constantTimeEquals("", "x"))
        #expect(SecretToken.constantTimeEquals("", ""))
        #expect(!SecretToken.constantTimeEquals("\0\0\0", "\0\0\0\0"))
    }
}

struct FormBodyTests {
    @Test func decodesPlusPercentAndUTF8() throws {
        let pairs = try FormBody.parse(Array("Body=%E6%BC%8F%E6%B0%B4+now&From=%2B16045550100&Empty=&Flag".utf8))
        #expect(pairs.map(\.name) == ["Body", "From", "Empty", "Flag"])
        #expect(pairs.map(\.value) == ["漏水 now", "+16045550100", "", ""])
    }

    @Test func refusesBrokenEscapesAndInvalidUTF8() {
        #expect(throws: WebhookError.self) { try FormBody.parse(Array("Body=%E6%BC".utf8) + Array("%".utf8)) }
        #expect(throws: WebhookError.self) { try FormBody.parse(Array("Body=%ZZ".utf8)) }
        #expect(throws: WebhookError.self) { try FormBody.parse(Array("Body=%FF%FE".utf8)) }
    }
}

struct RateLimiterTests {
    @Test func burstThenRefillAtTheConfiguredRate() {
        let limiter = SenderRateLimiter(messagesPerMinute: 6, burst: 3)  // one token per 10 s
        let start = Date(timeIntervalSince1970: 1_000_000)
        for _ in 0..<3 { #expect(limiter.admit("sms:+1604", now: start) == .allowed) }
        #expect(limiter.admit("sms:+1604", now: start) == .limited(retryAfter: 10))
        #expect(limiter.admit("sms:+1604", now: start.addingTimeInterval(4)) == .limited(retryAfter: 6))
        // Another sender has a bucket of their own.
        #expect(limiter.admit("sms:+1778", now: start) == .allowed)
        #expect(limiter.admit("sms:+1604", now: start.addingTimeInterval(10)) == .allowed)
        #expect(limiter.admit("sms:+1604", now: start.addingTimeInterval(10)) != .allowed)
        // A long pause refills up to the burst, not beyond.
        let later = start.addingTimeInterval(3_600)
        for _ in 0..<3 { #expect(limiter.admit("sms:+1604", now: later) == .allowed) }
        #expect(limiter.admit("sms:+1604", now: later) != .allowed)
    }

    @Test func forgetsIdleSenders() {
        let limiter = SenderRateLimiter(messagesPerMinute: 60, burst: 2)
        let start = Date(timeIntervalSince1970: 2_000_000)
        for index in 0..<5_000 { _ = limiter.admit("rest:\(index)", now: start) }
        #expect(limiter.trackedSenders == 5_000)
        for index in 0..<4_096 { _ = limiter.admit("rest:late-\(index)", now: start.addingTimeInterval(600)) }
        #expect(limiter.trackedSenders < 5_000, "the sweep dropped buckets idle long enough to be full again")
    }
}

struct ServerConfigurationTests {
    @Test func readsAFullFile() throws {
        let configuration = try ServerConfiguration.parse("""
            listen: { host: 0.0.0.0, port: 9090 }
            public_url: https://concierge.example.org/
            max_body_bytes: 32768
            rate_limit: { messages_per_minute: 30, burst: 5 }
            outbox: { poll_seconds: 2.5 }
            channels:
              rest: { callback_url: "https://app.example.org/concierge" }
              telegram: { reply: api }
              twilio: { account_sid: AC1, from_number: "+15550001111" }
              slack: { bot_user_id: UBOT }
            """, file: "serve.yaml")
        #expect(configuration.host == "0.0.0.0" && configuration.port == 9090)
        #expect(configuration.publicURL == "https://concierge.example.org")
        #expect(configuration.maxBodyBytes == 32_768)
        #expect(configuration.rateLimit == .init(messagesPerMinute: 30, burst: 5))
        #expect(configuration.outboxPollSeconds == 2.5)
        #expect(configuration.enabledChannels == ["rest", "telegram", "sms", "slack"])
        #expect(configuration.telegram?.replyThroughAPI == true)
        #expect(configuration.rest?.callbackURL == "https://app.example.org/concierge")
        #expect(configuration.twilio?.fromNumber == "+15550001111")
        #expect(configuration.slack?.botUserID == "UBOT")
    }

    @Test func mistakesNameTheFileAndLine() {
        do {
            _ = try ServerConfiguration.parse("""
                listen: { port: 99999 }
                chanels:
                  rest: {}
                photos: { max_bytes: 10 }
                confirm_days: 0
                """, file: "serve.yaml")
            Issue.record("a bad file was accepted")
        } catch let error as ServerConfigurationError {
            let text = error.description
            #expect(text.contains("serve.yaml:1:"), "\(text)")
            #expect(text.contains("listen.port"), "\(text)")
            #expect(text.contains("serve.yaml:2:") && text.contains("unknown key \"chanels\""), "\(text)")
            #expect(text.contains("serve.yaml:4:") && text.contains("photos.max_bytes"), "\(text)")
            #expect(text.contains("serve.yaml:5:") && text.contains("confirm_days"), "\(text)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func missingSecretsAreNamedTogether() {
        var configuration = ServerConfiguration()
        configuration.slack = .init()
        configuration.rest = .init()
        let secrets = ChannelSecrets.fromEnvironment(["CONCIERGE_SLACK_BOT_TOKEN": "xoxb-1", "CONCIERGE_REST_TOKEN": ""])
        #expect(throws: ServerConfigurationError.missingSecrets([
            "CONCIERGE_REST_TOKEN (for rest)", "CONCIERGE_SLACK_SIGNING_SECRET (for slack)",
        ])) { try secrets.validate(for: configuration) }
        var twilio = ServerConfiguration()
        twilio.twilio = .init()
        #expect(throws: ServerConfigurationError.missingPublicURL) {
            try ChannelSecrets(twilioAuthToken: "t").validate(for: twilio)
        }
    }
}

struct JSONLogTests {
    /// One JSON object per line, with the handler's and the call's metadata,
    /// phone numbers and emails masked (the server logs through exactly this pair).
    @Test func linesAreJSONAndMasked() throws {
        let lines = LockedLines()
        var handler = MaskingLogHandler(wrapping: LineLogHandler(label: "test", format: .json, output: LogOutput { lines.append($0) }))
        handler.logLevel = .info
        handler[metadataKey: "request"] = "r-1"
        var logger = Logger(label: "test") { _ in handler }
        logger.logLevel = .info
        logger.info("reply to +1 604 555 0100 failed", metadata: ["to": "ana@example.org", "attempt": "2"])
        logger.debug("not written")
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "test")
        let message = try #require(object["message"] as? String)
        #expect(!message.contains("555 0100") && message.contains("[phone"), "\(message)")
        let metadata = try #require(object["metadata"] as? [String: String])
        #expect(metadata == ["to": "[email]", "attempt": "2", "request": "r-1"])
    }
}

/// Lines collected from a log output, thread-safely.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [Data] = []
    func append(_ line: Data) { lock.withLock { lines.append(line) } }
    var all: [Data] { lock.withLock { lines } }
}
