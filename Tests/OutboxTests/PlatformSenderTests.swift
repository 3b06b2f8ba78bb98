import Foundation
import Testing
import TestSupport
@testable import Store
@testable import Outbox

/// Each platform's sender against a fake of its API on loopback, through the
/// worker and a real SQLite store.
@Suite("Platform senders")
struct PlatformSenderTests {
    @Test func slackRetriesAServerErrorAndARateLimitThenRecordsTheTimestamp() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let path = "/api/chat.postMessage"
        server.enqueue(.json(500, "{}"), for: path)
        server.enqueue(.json(200, #"{"ok":false,"error":"ratelimited"}"#, headers: ["Retry-After": "30"]), for: path)
        server.enqueue(.json(200, #"{"ok":true,"channel":"D024BE91L","ts":"1790000040.000200"}"#), for: path)
        try await withOutboxFixture { fixture in
            let slack = SlackSender(botToken: "xoxb-test-token", apiBase: server.baseURL.appendingPathComponent("api"))
            let worker = fixture.worker([slack])
            let id = try await fixture.queueReply(channel: "slack", recipient: "D024BE91L", text: "Filed #1 — 水管工明天来")

            // 1: HTTP 500 → retried after the first backoff step (1–2 s).
            #expect(await worker.deliverDue() == DeliveryRound(retried: 1))
            let first = try await fixture.row(id)
            let start = fixture.clock.now
            #expect(first.attempts == 1 && first.lastError == "slack: HTTP 500" && first.sentAt == nil)
            let firstRetry = try #require(first.nextAttemptAt)
            #expect(firstRetry >= start.addingTimeInterval(1) && firstRetry <= start.addingTimeInterval(2))
            #expect(await worker.deliverDue() == DeliveryRound(), "not due before its retry time")
            #expect(server.requests.count == 1)

            // 2: ratelimited with Retry-After: 30 → the next try is not before 30 s.
            fixture.clock.set(firstRetry)
            #expect(await worker.deliverDue() == DeliveryRound(retried: 1))
            let second = try await fixture.row(id)
            #expect(second.attempts == 2 && second.lastError == "slack: ratelimited")
            let secondRetry = try #require(second.nextAttemptAt)
            #expect(secondRetry >= firstRetry.addingTimeInterval(30))
            fixture.clock.set(secondRetry.addingTimeInterval(-0.5))
            #expect(await worker.deliverDue() == DeliveryRound())

            // 3: ok → sent, with Slack's ts as the message's platform id.
            fixture.clock.set(secondRetry)
            #expect(await worker.deliverDue() == DeliveryRound(sent: 1))
            let sent = try await fixture.row(id)
            #expect(sent.attempts == 3 && sent.sentAt == secondRetry && sent.platformMessageID == "1790000040.000200")
            #expect(try await fixture.store.dueOutbox(now: Date.distantFuture).isEmpty)

            let requests = server.requests
            #expect(requests.count == 3)
            for request in requests {
                #expect(request.method == "POST" && request.path == path)
                #expect(request.header("Authorization") == "Bearer xoxb-test-token")
                #expect(request.header("Content-Type") == "application/json; charset=utf-8")
                #expect(request.json?["channel"] as? String == "D024BE91L")
                #expect(request.json?["text"] as? String == "Filed #1 — 水管工明天来")
            }
            #expect(!fixture.log.text.contains("xoxb-test-token"), "the token is never logged")
            #expect(fixture.log.text.contains("outbox: reply sent"))
        }
    }

    @Test func telegramHonoursRetryAfterThenRecordsTheMessageID() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let token = "123456:ABC-def_ghi"
        let path = "/bot\(token)/sendMessage"
        server.enqueue(.json(429, #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 45","parameters":{"retry_after":45}}"#),
                       for: path)
        server.enqueue(.json(200, #"{"ok":true,"result":{"message_id":4711,"chat":{"id":987654321},"text":"ok"}}"#), for: path)
        try await withOutboxFixture { fixture in
            let worker = fixture.worker([TelegramSender(botToken: token, apiBase: server.baseURL)])
            let id = try await fixture.queueReply(channel: "telegram", recipient: "987654321", text: "Your ticket is #4")
            let start = fixture.clock.now

            #expect(await worker.deliverDue() == DeliveryRound(retried: 1))
            let limited = try await fixture.row(id)
            let retryAt = try #require(limited.nextAttemptAt)
            #expect(retryAt >= start.addingTimeInterval(45), "retry_after 45 outweighs the 1–2 s backoff")
            #expect(limited.lastError?.contains("HTTP 429 Too Many Requests") == true)
            fixture.clock.set(start.addingTimeInterval(44))
            #expect(await worker.deliverDue() == DeliveryRound())
            #expect(server.requests.count == 1)

            fixture.clock.set(retryAt)
            #expect(await worker.deliverDue() == DeliveryRound(sent: 1))
            let sent = try await fixture.row(id)
            #expect(sent.attempts == 2 && sent.sentAt != nil && sent.platformMessageID == "4711")

            let request = try #require(server.requests.last)
            #expect(request.path == path && request.header("Content-Type") == "application/json; charset=utf-8")
            #expect((request.json?["chat_id"] as? NSNumber)?.int64Value == 987_654_321, "numeric chat ids go as numbers")
            #expect(request.json?["text"] as? String == "Your ticket is #4")
            #expect(!fixture.log.text.contains(token) && !fixture.log.text.contains("987654321"),
                    "neither the token nor the chat id reaches the log")
        }
    }

    @Test func twilioSendsAPercentEncodedFormWithBasicAuth() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let path = "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
        server.enqueue(.json(201, #"{"sid":"SM9f3c1e0b2a4d","status":"queued","to":"+16045550142"}"#), for: path)
        try await withOutboxFixture { fixture in
            let sms = TwilioSender(accountSID: "AC0123456789abcdef", authToken: "twilio-auth-secret", from: "+15005550006",
                                   apiBase: server.baseURL)
            let worker = fixture.worker([sms])
            let text = "您好，水管工明天9–11点来 & 1+1=2"
            let id = try await fixture.queueReply(channel: "sms", recipient: "+16045550142", text: text)

            #expect(await worker.deliverDue() == DeliveryRound(sent: 1))
            let sent = try await fixture.row(id)
            #expect(sent.attempts == 1 && sent.platformMessageID == "SM9f3c1e0b2a4d")

            let request = try #require(server.requests.first)
            #expect(request.method == "POST" && request.path == path)
            #expect(request.header("Authorization") == "Basic QUMwMTIzNDU2Nzg5YWJjZGVmOnR3aWxpby1hdXRoLXNlY3JldA==")
            #expect(request.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
            // Percent-encoded UTF-8; `+` and `&` inside values are escaped, a space is %20.
            #expect(request.text == "To=%2B16045550142&From=%2B15005550006&Body="
                + "%E6%82%A8%E5%A5%BD%EF%BC%8C%E6%B0%B4%E7%AE%A1%E5%B7%A5%E6%98%8E%E5%A4%A99%E2%80%9311%E7%82%B9%E6%9D%A5%20%26%201%2B1%3D2")
            #expect(request.form == ["To": "+16045550142", "From": "+15005550006", "Body": text])
            let log = fixture.log.text
            #expect(!log.contains("+16045550142") && log.contains("[phone …42]"), "the recipient is masked in the log")
            #expect(!log.contains("twilio-auth-secret"))
        }
    }

    @Test func permanentRefusalsAreAbandonedAndNeverSentAgain() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        server.enqueue(.json(200, #"{"ok":false,"error":"channel_not_found"}"#), for: "/chat.postMessage")
        server.enqueue(.json(403, #"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#),
                       for: "/botT0KEN/sendMessage")
        server.enqueue(.json(400, #"{"code":21211,"message":"The 'To' number +1604555014 is not a valid phone number.","status":400}"#),
                       for: "/2010-04-01/Accounts/ACx/Messages.json")
        try await withOutboxFixture { fixture in
            let worker = fixture.worker([
                SlackSender(botToken: "xoxb-1", apiBase: server.baseURL),
                TelegramSender(botToken: "T0KEN", apiBase: server.baseURL),
                TwilioSender(accountSID: "ACx", authToken: "secret", from: "+15005550006", apiBase: server.baseURL),
            ])
            let slack = try await fixture.queueReply(channel: "slack", recipient: "C999", text: "a")
            let telegram = try await fixture.queueReply(channel: "telegram", recipient: "555", text: "b")
            let sms = try await fixture.queueReply(channel: "sms", recipient: "+1604555014", text: "c")

            #expect(await worker.deliverDue() == DeliveryRound(rejected: 3))
            for id in [slack, telegram, sms] {
                let row = try await fixture.row(id)
                #expect(row.cancelledAt != nil && row.sentAt == nil && row.attempts == 1, "outbox \(id): \(row)")
            }
            let errors = [try await fixture.row(slack).lastError, try await fixture.row(telegram).lastError,
                          try await fixture.row(sms).lastError]
            #expect(errors == ["slack: channel_not_found", "telegram: HTTP 403 Forbidden: bot was blocked by the user",
                               "twilio: HTTP 400, code 21211: The 'To' number [phone …14] is not a valid phone number."])

            fixture.clock.advance(by: 86_400)
            #expect(await worker.deliverDue() == DeliveryRound())
            #expect(server.requests.count == 3, "an abandoned reply is never tried again")
            #expect(try await fixture.store.statistics().outboxPending == 0)
        }
    }

    @Test func networkFailuresAreRetriedWithoutTheTokenInTheError() async throws {
        // A port nobody listens on any more: the connection is refused.
        let server = try LoopbackHTTPServer()
        server.stop()
        let sender = TelegramSender(botToken: "999:SECRET", apiBase: server.baseURL, timeout: 10)
        let item = OutboxItem(id: 1, messageID: 1, conversationID: 1, channel: "telegram", recipient: "5", text: "hi",
                              attempts: 0, nextAttemptAt: Date(), lastError: nil, sentAt: nil)
        let result = await sender.send(item)
        guard case .retry(let error, let after) = result else {
            Issue.record("expected a retry, got \(result)")
            return
        }
        #expect(error.hasPrefix("telegram: network error") && after == nil)
        #expect(!error.contains("SECRET"))
    }

    @Test func backoffDoublesWithJitterUpToTheCapAndYieldsToLongerRetryAfter() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterFailedAttempts: 1, jitter: 0) == 1)
        #expect(policy.delay(afterFailedAttempts: 1, jitter: 1) == 2)
        #expect(policy.delay(afterFailedAttempts: 4, jitter: 0.5) == 12, "nominal 16 s, three quarters of it")
        var random = SeededGenerator(seed: 42)
        for failures in 1...40 {
            let nominal = min(600, 2 * pow(2, Double(failures - 1)))
            let delay = policy.delay(afterFailedAttempts: failures, jitter: Double.random(in: 0..<1, using: &random))
            #expect(delay >= nominal / 2 && delay <= nominal, "after \(failures) failures: \(delay)")
        }
        #expect(policy.delay(afterFailedAttempts: 1, jitter: 0.5, retryAfter: 45) == 45)
        #expect(policy.delay(afterFailedAttempts: 10, jitter: 0.5, retryAfter: 45) == 450, "a shorter Retry-After does not shorten the backoff")
    }
}
