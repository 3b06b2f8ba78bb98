import AssistantTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store
import Testing
import TestSupport

/// The real `concierge serve` binary: start-up errors, and a graceful stop
/// on SIGTERM that finishes the request in flight.
@Suite(.serialized) struct ServeCommandTests {
    @Test func aMissingSecretFailsWithOneClearMessage() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let result = try await onOwnThread {
            try runConcierge(["serve", "--home", home.url.path, "--channel", "slack", "--channel", "rest"],
                             environment: ["CONCIERGE_REST_TOKEN": "x", "CONCIERGE_SLACK_SIGNING_SECRET": "",
                                           "CONCIERGE_SLACK_BOT_TOKEN": ""])
        }
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("CONCIERGE_SLACK_SIGNING_SECRET") && result.stderr.contains("CONCIERGE_SLACK_BOT_TOKEN"))
        #expect(!result.stderr.contains("CONCIERGE_REST_TOKEN"), "the secret that is set is not named")
    }

    @Test func aBadConfigurationFileNamesFileAndLine() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = home.url.appendingPathComponent("serve.yaml")
        try "listen:\n  port: 8080\nchannels:\n  rest: {}\n  whatsapp: {}\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try await onOwnThread {
            try runConcierge(["serve", "--home", home.url.path, "--config", file.path], environment: ["CONCIERGE_REST_TOKEN": "x"])
        }
        #expect(result.status != 0)
        #expect(result.stderr.contains("serve.yaml:5:") && result.stderr.contains("whatsapp"), "\(result.stderr)")
    }

    @Test func helpDocumentsEveryOptionAndSecret() async throws {
        let result = try await onOwnThread { try runConcierge(["serve", "--help"]) }
        for text in ["--config", "--host", "--port", "--public-url", "--channel", "--max-body-bytes", "--rate-limit",
                     "--rate-burst", "--log-format", "--store", "CONCIERGE_REST_TOKEN", "CONCIERGE_TELEGRAM_SECRET_TOKEN",
                     "CONCIERGE_TWILIO_AUTH_TOKEN", "CONCIERGE_SLACK_SIGNING_SECRET", "CONCIERGE_SLACK_BOT_TOKEN", "/readyz"] {
            #expect(result.stdout.contains(text), "serve --help lacks \(text)")
        }
    }

    /// SIGTERM while a request is half sent: the server stops accepting,
    /// answers that request in full, and exits 0 with the message stored.
    @Test func sigtermFinishesTheRequestInFlight() async throws {
        _ = await CommunityFixture.preparedTriager()
        let home = try CommunityFixture.homeWithModel()
        defer { home.remove() }
        let server = try ServeProcess(home: home.url, arguments: ["--log-format", "json"],
                                      environment: ["CONCIERGE_LOG_LEVEL": "info"])
        defer { server.terminate() }
        let port = try await server.waitUntilReady()

        // Half a request, then SIGTERM, then the rest of it.
        let body = Array(#"{"sender":"late","message":"my sink leaks","metadata":{"message_id":"late-1"}}"#.utf8)
        let head = "POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer t0ken\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let connection = try RawConnection(port: port)
        try connection.write(Array(head.utf8) + body.prefix(10))
        try await Task.sleep(for: .milliseconds(300))
        server.terminate()
        try await Task.sleep(for: .milliseconds(300))
        try connection.write(Array(body.dropFirst(10)))
        let response = try HTTPTestClient.parse(try await onOwnThread { connection.readToEnd() })
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text.contains("recipient_id"))

        let status = try await server.stop()
        let log = server.log
        #expect(status == 0)
        #expect(log.contains("\"message\":\"stopped\""), "the JSON log records the clean stop: \(log.suffix(600))")
        let store = try await StoreLocation.sqlite(home.url.appendingPathComponent("concierge.sqlite")).open()
        #expect(try await store.conversation(channel: "rest", externalID: "late") != nil)
        #expect(try await store.statistics().messages == 2, "the message and its reply were committed before the exit")
        await store.close()
    }
}
