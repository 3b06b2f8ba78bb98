import AssistantTestSupport
import Foundation
import Server
import Store
import Testing
import TestSupport

/// What a channel decides at its edge, before the store: whose message an id
/// names, and ids that are no ids.
@Suite(.serialized) struct ChannelEdgeTests {
    @Test func anotherSendersMessageIDIsAnotherMessage() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let alice = try await server.rest("I smell gas in unit 1234", sender: "alice", messageID: "coll-1")
            let aliceReply = try #require((alice.json as? [[String: Any]])?.first)
            let aliceTickets = (aliceReply["custom"] as? [String: Any])?["tickets"] as? [Int] ?? []
            #expect(!aliceTickets.isEmpty, "alice's emergency is filed")

            let bob = try await server.rest("hello", sender: "bob", messageID: "coll-1")
            #expect(bob.status == 200)
            let bobReply = try #require((bob.json as? [[String: Any]])?.first)
            #expect(bobReply["recipient_id"] as? String == "bob")
            #expect(bobReply["text"] as? String != aliceReply["text"] as? String, "bob never sees alice's reply")
            #expect((bobReply["custom"] as? [String: Any])?["redelivered"] as? Bool != true)
            #expect(!((bobReply["custom"] as? [String: Any])?["tickets"] as? [Int] ?? []).contains { aliceTickets.contains($0) })
            #expect(try await server.store.conversation(channel: "rest", externalID: "bob") != nil, "bob's message was handled")

            // Each one's redelivery is still recognised.
            let again = try #require((try await server.rest("I smell gas in unit 1234", sender: "alice", messageID: "coll-1").json
                                        as? [[String: Any]])?.first)
            #expect((again["custom"] as? [String: Any])?["redelivered"] as? Bool == true && again["text"] as? String == aliceReply["text"] as? String)
        }
    }

    @Test func emptyIDsAreRefusedAtTheEdgeNotByTheStore() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let emptyMessageID = try await server.rest("my sink leaks", sender: "ana", messageID: "")
            #expect(emptyMessageID.status == 400 && emptyMessageID.errorCode == "malformed_request", "\(emptyMessageID.text)")
            let emptyHeader = try await server.postJSON(
                path: "/webhooks/rest/webhook", json: ["sender": "ana", "message": "my sink leaks"],
                headers: [("Authorization", "Bearer \(TestSecrets.restToken)"), ("Idempotency-Key", "")])
            #expect(emptyHeader.status == 400, "\(emptyHeader.text)")

            // Slack: acknowledged (a 5xx would be retried), nothing filed.
            for (index, user) in ["", "U1\nFORGED-LINE", "<script>"].enumerated() {
                let message = RunningServer.slackMessage(eventID: "Ev-empty-\(index)", user: user, text: "my sink leaks")
                let mention = ["type": "event_callback", "event_id": "Ev-mention-\(index)",
                               "event": ["type": "app_mention", "user": user, "text": "<@UBOT> my sink leaks", "channel": "C1"]] as [String: Any]
                #expect(try await server.slack(message).status == 200)
                #expect(try await server.slack(mention).status == 200)
            }
            #expect(try await server.store.statistics().messages == 0, "nothing was stored")
            #expect(try await server.store.dueOutbox(now: .distantFuture).isEmpty)
        }
    }
}
