import AssistantTestSupport
import Foundation
import Server
import Store
import Testing
import TestSupport

/// Replies that go out through a platform API, end to end: the webhook
/// commits the turn with its outbox entry, the server's outbox worker sends it
/// to a fake platform on loopback (which fails first), and the store records it sent.
@Suite(.serialized) struct OutboxDeliveryTests {
    @Test func aSlackMessageIsAnsweredThroughChatPostMessageAfterAFailure() async throws {
        let slack = try LoopbackHTTPServer()
        defer { slack.stop() }
        slack.enqueue(.json(500, #"{"ok":false,"error":"internal_error"}"#), for: "/api/chat.postMessage")
        slack.enqueue(.json(200, #"{"ok":true,"channel":"D123","ts":"1790000001.000200"}"#), for: "/api/chat.postMessage")
        var configuration = RunningServer.configuration()
        configuration.slack?.apiBase = slack.baseURL.absoluteString + "/api"
        try await RunningServer.with(configuration: configuration, outbox: true) { server in
            let ack = try await server.slack(RunningServer.slackMessage(eventID: "EvOut1", text: "the lobby door won't lock"))
            #expect(ack.status == 200)
            #expect(await slack.waitForRequests(2), "a failed attempt, then the delivery")
            let requests = slack.requests
            #expect(requests.allSatisfy { $0.header("Authorization") == "Bearer \(TestSecrets.slackBotToken)" })
            let posted = try #require(requests.last?.json)
            #expect(posted["channel"] as? String == "U123")
            let text = try #require(posted["text"] as? String)
            #expect(!text.isEmpty)
            var pending = 1
            for _ in 0..<200 where pending > 0 {
                pending = try await server.store.statistics().outboxPending
                if pending > 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(pending == 0, "the reply is recorded as sent")
            #expect(slack.requests.count == 2, "sent once, not again")
        }
    }

    @Test func telegramWithReplyThroughTheAPIAcknowledgesEmptyAndSendsMessage() async throws {
        let telegram = try LoopbackHTTPServer()
        defer { telegram.stop() }
        telegram.enqueue(.json(200, #"{"ok":true,"result":{"message_id":77}}"#), for: "/bot123:ABC/sendMessage")
        var configuration = RunningServer.configuration()
        configuration.telegram?.replyThroughAPI = true
        configuration.telegram?.apiBase = telegram.baseURL.absoluteString
        var secrets = TestSecrets.all
        secrets.telegramBotToken = "123:ABC"
        try await RunningServer.with(configuration: configuration, secrets: secrets, outbox: true) { server in
            let ack = try await server.telegram(updateID: 900, text: "when is the pool open?")
            #expect(ack.status == 200 && ack.body.isEmpty, "the reply does not ride on the webhook response")
            #expect(await telegram.waitForRequests(1))
            let sent = try #require(telegram.requests.first?.json)
            #expect(sent["chat_id"] as? Int == 7001 || sent["chat_id"] as? String == "7001")
            #expect((sent["text"] as? String)?.isEmpty == false)
        }
    }

    /// REST residents have no push channel of their own: a staff reply on
    /// their ticket goes to the integrator's callback URL (Rasa's convention),
    /// with the REST token, and is recorded as sent.
    @Test func aStaffReplyToARESTResidentIsPushedToTheCallback() async throws {
        let integrator = try LoopbackHTTPServer()
        defer { integrator.stop() }
        integrator.enqueue(.json(503, "{}"), for: "/concierge/push")
        integrator.enqueue(.json(200, "{}"), for: "/concierge/push")
        var configuration = RunningServer.configuration()
        configuration.rest?.callbackURL = integrator.baseURL.absoluteString + "/concierge/push"
        configuration.outboxPollSeconds = 0.05
        try await RunningServer.with(configuration: configuration, outbox: true) { server in
            let filed = try await server.rest("I smell gas in the hallway outside 3A", sender: "dora")
            #expect(filed.status == 200)
            let ticket = try #require(try await server.store.queue().first)
            try await server.store.addNote(number: ticket.number, text: "The gas company is on its way.", visibility: .public,
                                           actor: "ivy")
            #expect(await integrator.waitForRequests(2), "a failed push, then the delivery")
            let pushed = try #require(integrator.requests.last)
            #expect(pushed.header("Authorization") == "Bearer \(TestSecrets.restToken)")
            #expect(pushed.json?["recipient_id"] as? String == "dora")
            #expect((pushed.json?["text"] as? String)?.contains("gas company") == true)
            var pending = 1
            for _ in 0..<200 where pending > 0 {
                pending = try await server.store.statistics().outboxPending
                if pending > 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(pending == 0)
        }
    }
}
