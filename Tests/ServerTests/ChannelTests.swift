import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport

/// Each channel end to end: the platform's request through the real routes in
/// process (Hummingbird's router test framework), the real engine and model
/// (scripted decisions where nothing reaches the triage), a real SQLite file.
@Suite(.serialized) struct ChannelTests {
    // MARK: REST

    @Test func restAnswersAndARepeatedMessageIdChangesNothing() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let first = try await server.rest("my kitchen sink is leaking", sender: "ana", messageID: "m-1")
            #expect(first.status == 200)
            let messages = try #require(first.json as? [[String: Any]])
            #expect(messages.count == 1)
            #expect(messages[0]["recipient_id"] as? String == "ana")
            let text = try #require(messages[0]["text"] as? String)
            #expect(text.lowercased().contains("plumbing"), "\(text)")
            let before = try await server.store.statistics()

            let again = try await server.rest("my kitchen sink is leaking", sender: "ana", messageID: "m-1")
            #expect(again.status == 200)
            let repeated = try #require(again.json as? [[String: Any]])
            #expect(repeated[0]["text"] as? String == text, "the redelivery gets the first reply")
            #expect((repeated[0]["custom"] as? [String: Any])?["redelivered"] as? Bool == true)
            let after = try await server.store.statistics()
            #expect(after.messages == before.messages, "nothing new was stored")

            let health = try await server.get(path: "/webhooks/rest/")
            #expect(health.status == 200 && (health.json as? [String: String])?["status"] == "ok")
        }
    }

    @Test func restTakesARequestToATicketWithButtonsForTheConfirmation() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            var response = try await server.rest("the hallway light outside 3C is broken", sender: "bo")
            var sawYesNoButtons = false
            var tickets: [Int] = []
            for _ in 0..<8 {
                let message = try #require((response.json as? [[String: Any]])?.first)
                if let custom = message["custom"] as? [String: Any], let filed = custom["tickets"] as? [Int], !filed.isEmpty {
                    tickets = filed
                    break
                }
                let buttons = message["buttons"] as? [[String: String]] ?? []
                let answer: String
                if buttons.map({ $0["payload"] ?? "" }) == ["yes", "no"] {
                    sawYesNoButtons = true
                    answer = "yes"
                } else if let first = buttons.first?["payload"] {
                    answer = first
                } else {
                    answer = "weekday evenings"
                }
                response = try await server.rest(answer, sender: "bo")
                #expect(response.status == 200)
            }
            #expect(sawYesNoButtons, "the summary offered yes/no buttons")
            #expect(tickets.count == 1)
            let ticket = try await server.store.ticket(number: try #require(tickets.first))
            #expect(ticket.category == "electrical" || ticket.category == "lighting", "\(ticket.category)")
        }
    }

    @Test func restRefusesMissingAndWrongTokens() async throws {
        // Nothing here reaches the triage: scripted decisions, no model.
        try await RunningServer.with(transport: .inProcess, triager: ScriptedTriager([])) { server in
            let missing = try await server.postJSON(path: "/webhooks/rest/webhook",
                                                      json: ["sender": "x", "message": "hi"])
            #expect(missing.status == 401)
            #expect(missing.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            #expect(missing.errorCode == "unauthorized")
            let wrong = try await server.rest("hi", token: "rest-token-0123456788")
            #expect(wrong.status == 401)
            #expect(try await server.store.statistics().messages == 0)
        }
    }

    // MARK: Telegram

    @Test func telegramRepliesInlineAndDeduplicatesUpdates() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let first = try await server.telegram(updateID: 500, text: "when is the pool open?")
            #expect(first.status == 200)
            let body = try #require(first.json as? [String: Any])
            #expect(body["method"] as? String == "sendMessage")
            #expect(body["chat_id"] as? Int == 7001)
            let text = try #require(body["text"] as? String)
            #expect(!text.isEmpty)
            let stored = try await server.store.statistics().messages

            let again = try await server.telegram(updateID: 500, text: "when is the pool open?")
            #expect(again.status == 200)
            #expect((again.json as? [String: Any])?["text"] as? String == text)
            #expect(try await server.store.statistics().messages == stored, "the same update_id stores nothing new")

            let next = try await server.telegram(updateID: 501, text: "thanks!")
            #expect(next.status == 200)
            #expect(try await server.store.statistics().messages > stored)
        }
    }

    @Test func telegramChecksTheSecretAndIgnoresGroupsAndNonText() async throws {
        // Nothing here reaches the triage: scripted decisions, no model.
        try await RunningServer.with(transport: .inProcess, triager: ScriptedTriager([])) { server in
            let forged = try await server.telegram(updateID: 1, text: "hello", secret: "telegram-secret-abd")
            #expect(forged.status == 403 && forged.errorCode == "forbidden")
            let missing = try await server.postJSON(path: "/webhooks/telegram",
                                                      json: ["update_id": 2, "message": ["message_id": 1, "chat": ["id": 1, "type": "private"], "text": "hi"]])
            #expect(missing.status == 403)

            let group = try await server.telegram(updateID: 3, chatID: -100_200, text: "my sink leaks", chatType: "supergroup")
            #expect(group.status == 200 && group.body.isEmpty, "acknowledged, not answered in a group")
            let photo = try await server.telegram(updateID: 4, text: nil)
            #expect(photo.status == 200)
            #expect(((photo.json as? [String: Any])?["text"] as? String)?.contains("text") == true)
            #expect(try await server.store.statistics().messages == 0, "neither was taken as a message")
            // A photo with a caption: the caption is the message.
            let captioned = try await server.telegram(updateID: 5, text: nil, caption: "water is dripping from my kitchen ceiling")
            #expect(captioned.status == 200)
            #expect(((captioned.json as? [String: Any])?["text"] as? String)?.contains("only read text") == false)
            #expect(try await server.store.statistics().messages > 0, "the caption was taken as a message")
        }
    }

    // MARK: Twilio

    @Test func twilioAnswersWithTwiMLSignedOverThePublicURL() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let reply = try await server.sms("厨房水龙头漏水了", sid: "SM0001")
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/xml") == true)
            #expect(reply.text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>"), "\(reply.text)")
            #expect(reply.text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }, "answered in Chinese: \(reply.text)")

            let again = try await server.sms("厨房水龙头漏水了", sid: "SM0001")
            #expect(again.text == reply.text, "Twilio's retry gets the same TwiML")

            // Signed over the address the server sees rather than the public one: refused.
            let local = try await server.sms("hello", sid: "SM0002", signedURL: "http://127.0.0.1:\(server.port)/webhooks/twilio")
            #expect(local.status == 403 && local.errorCode == "forbidden")
            let forged = try await server.sms("hello", sid: "SM0003", authToken: "not-the-token")
            #expect(forged.status == 403)
            let conversation = try await server.store.conversation(channel: "sms", externalID: "+16045550100")
            #expect(conversation != nil)
            #expect(try await server.store.statistics().messages == 2, "one message in, one reply out")
        }
    }

    @Test func twiMLEscapesTheReply() {
        #expect(XMLText.escaped("<b>Tom & \"Jerry\"</b>\u{0007}") == "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;")
    }

    // MARK: Slack

    @Test func slackVerifiesAcknowledgesQueuesAndDeduplicatesRetries() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let challenge = try await server.slack(["type": "url_verification", "token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"])
            #expect(challenge.status == 200)
            #expect((challenge.json as? [String: String])?["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

            let event = RunningServer.slackMessage(eventID: "Ev0001", text: "the elevator in building 2 is stuck")
            let ack = try await server.slack(event)
            #expect(ack.status == 200 && ack.body.isEmpty)
            var due = try await server.store.dueOutbox(now: Date().addingTimeInterval(60), channel: "slack")
            #expect(due.count == 1)
            #expect(due.first?.recipient == "U123")
            #expect(server.bell.value == 1, "the outbox worker was woken")

            let retry = try await server.slack(event, extraHeaders: [("X-Slack-Retry-Num", "1"), ("X-Slack-Retry-Reason", "http_timeout")])
            #expect(retry.status == 200)
            due = try await server.store.dueOutbox(now: Date().addingTimeInterval(60), channel: "slack")
            #expect(due.count == 1, "a retry queues no second reply")
            #expect(server.bell.value == 1)
        }
    }

    @Test func slackIgnoresBotsAndRefusesBadSignatures() async throws {
        // Nothing here reaches the triage: scripted decisions, no model.
        try await RunningServer.with(transport: .inProcess, triager: ScriptedTriager([])) { server in
            for event in [RunningServer.slackMessage(eventID: "Ev1", text: "I am a bot", botID: "B1"),
                          RunningServer.slackMessage(eventID: "Ev2", user: "UBOT", text: "our own echo"),
                          RunningServer.slackMessage(eventID: "Ev3", text: "edited", subtype: "message_changed")] {
                let response = try await server.slack(event)
                #expect(response.status == 200)
            }
            #expect(try await server.store.statistics().messages == 0)

            let stale = try await server.slack(RunningServer.slackMessage(eventID: "Ev4", text: "old"), timestamp: Date().addingTimeInterval(-600))
            #expect(stale.status == 401 && stale.errorCode == "unauthorized")
            let forged = try await server.slack(RunningServer.slackMessage(eventID: "Ev5", text: "forged"), secret: "wrong")
            #expect(forged.status == 401)
            let unsigned = try await server.postJSON(path: "/webhooks/slack/events",
                                                       json: RunningServer.slackMessage(eventID: "Ev6", text: "unsigned"))
            #expect(unsigned.status == 401)
            #expect(try await server.store.statistics().messages == 0)
        }
    }

    @Test func slackMentionsLoseTheMention() {
        #expect(SlackChannel.withoutMentions("<@U0BOT> the lobby door is broken") == "the lobby door is broken")
        #expect(SlackChannel.withoutMentions("hi <@U0BOT|concierge>!") == "hi !")
    }

    // MARK: Privacy

    /// A ticket filed by one resident is never shown to another, whatever
    /// channel either of them uses (and the owner sees it from their own).
    @Test func noResidentReadsAnothersTicketThroughAnyChannel() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let filed = try await server.sms("I smell gas in the kitchen of unit 7C", sid: "SMgas1")
            #expect(filed.status == 200)
            let ticket = try #require(try await server.store.queue().first)
            let number = ticket.number
            let secret = "7C"
            // The owner sees it.
            let own = try await server.sms("status of #\(number)", sid: "SMgas2")
            #expect(own.text.contains("#\(number)"), "\(own.text)")
            // Nobody else does, on any channel.
            let rest = try await server.rest("status of #\(number)", sender: "nosy-neighbour")
            let telegram = try await server.telegram(updateID: 77, chatID: 8_888, text: "status of #\(number)")
            let slack = try await server.slack(RunningServer.slackMessage(eventID: "EvNosy", user: "UNOSY", text: "status of #\(number)"))
            #expect(slack.status == 200)
            let slackReply = try #require(try await server.store.dueOutbox(now: Date().addingTimeInterval(60), channel: "slack").first)
            for (channel, text) in [("rest", rest.text), ("telegram", telegram.text), ("slack", slackReply.text)] {
                #expect(!text.contains(secret) && !text.lowercased().contains("gas"), "\(channel) leaked the ticket: \(text)")
            }
        }
    }

    // MARK: Operations

    @Test func readinessWaitsForTheModel() async throws {
        try await RunningServer.with(loaded: false, transport: .inProcess) { server in
            #expect(try await server.get(path: "/healthz").status == 200)
            let ready = try await server.get(path: "/readyz")
            #expect(ready.status == 503)
            #expect(((ready.json as? [String: Any])?["checks"] as? [String: String])?["model"] == "loading")
            let early = try await server.rest("hello")
            #expect(early.status == 503 && early.headers["retry-after"] != nil && early.errorCode == "starting")

            server.server.assistant.load(makeEngine(server.store))
            #expect(try await server.get(path: "/readyz").status == 200)
            #expect(try await server.rest("hello").status == 200)
        }
    }

    @Test func metricsCountRequestsDecisionsAndTheQueue() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            _ = try await server.rest("water is pouring through my ceiling, unit 1203", sender: "cy")
            _ = try await server.rest("hi", token: "wrong")
            _ = try await server.slack(RunningServer.slackMessage(eventID: "EvM", text: "the gym treadmill makes a weird noise"))
            let metrics = try await server.get(path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"concierge_http_requests_total{channel="rest",status="200"} 1"#), "\(text)")
            #expect(text.contains(#"concierge_http_requests_total{channel="rest",status="401"} 1"#))
            #expect(text.contains(#"concierge_http_request_duration_seconds_bucket{channel="slack""#))
            #expect(text.contains("concierge_triage_decisions_total{kind=\"service_request\""))
            #expect(text.contains("concierge_outbox_pending 1"), "the Slack reply waits in the outbox")
            let open = try await server.store.statistics().openTickets
            #expect(text.contains("concierge_open_tickets \(Double(open))"))
        }
    }
}
