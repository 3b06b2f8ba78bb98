import AssistantTestSupport
import Foundation
import Server
import Store
import Testing
import TestSupport

/// What a hostile or broken client sends: each refusal has its status and a
/// JSON error, nothing is stored, and the server keeps answering.
@Suite(.serialized) struct HostileInputTests {
    static let bearer = ("Authorization", "Bearer \(TestSecrets.restToken)")

    @Test func everyRefusalHasItsStatusAndAJSONError() async throws {
        var configuration = RunningServer.configuration(rateLimit: .init(messagesPerMinute: 1, burst: 2))
        configuration.maxBodyBytes = 4_096
        try await RunningServer.with(configuration: configuration) { server in
            let port = server.port
            let path = "/webhooks/rest/webhook"
            // 413: declared too long, and actually too long.
            let declared = try await HTTPTestClient.send(port: port, path: path, headers: [("Content-Type", "application/json"), Self.bearer],
                                                   body: Array("{}".utf8), declaredLength: 10_000_000)
            #expect(declared.status == 413 && declared.errorCode == "payload_too_large")
            let big = try await HTTPTestClient.send(port: port, path: path, headers: [("Content-Type", "application/json"), Self.bearer],
                                              body: Array(("{\"sender\":\"a\",\"message\":\"" + String(repeating: "x", count: 5_000) + "\"}").utf8))
            #expect(big.status == 413 && big.errorCode == "payload_too_large")
            // 415: wrong or missing content type.
            let plain = try await HTTPTestClient.send(port: port, path: path, headers: [("Content-Type", "text/plain"), Self.bearer],
                                                body: Array("my sink leaks".utf8))
            #expect(plain.status == 415 && plain.errorCode == "unsupported_media_type")
            let none = try await HTTPTestClient.send(port: port, path: path, headers: [Self.bearer], body: Array("{}".utf8))
            #expect(none.status == 415)
            let jsonToTwilio = try await HTTPTestClient.send(port: port, path: "/webhooks/twilio",
                                                       headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            #expect(jsonToTwilio.status == 415)
            // 400: not JSON, wrong shape, empty message.
            for body in ["{\"sender\": \"a\", \"message\": ", "[1,2,3]", "{\"sender\": 5, \"message\": \"hi\"}",
                         "{\"message\": \"hi\"}", "{\"sender\": \"a\", \"message\": \"   \"}", "{\"sender\": \"\", \"message\": \"hi\"}",
                         "{\"sender\": \"a\", \"message\": \"hi\", \"metadata\": {\"language\": \"fr\"}}"] {
                let response = try await HTTPTestClient.send(port: port, path: path, headers: [("Content-Type", "application/json"), Self.bearer],
                                                       body: Array(body.utf8))
                #expect(response.status == 400, "\(body) → \(response.status) \(response.text)")
                #expect(response.errorCode == "malformed_request", "\(body)")
            }
            let brokenForm = try await HTTPTestClient.send(port: port, path: "/webhooks/twilio",
                                                     headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                     body: Array("Body=%G1".utf8))
            #expect(brokenForm.status == 400)
            // 404 and 405.
            let unknown = try await HTTPTestClient.get(port: port, path: "/wp-admin/setup.php")
            #expect(unknown.status == 404 && unknown.errorCode == "not_found")
            let wrongMethod = try await HTTPTestClient.send(port: port, method: "DELETE", path: "/webhooks/telegram")
            #expect([404, 405].contains(wrongMethod.status) && wrongMethod.errorCode != nil)
            #expect(try await server.store.statistics().messages == 0, "no refused request stored anything")

            // 429 with Retry-After after the burst of 2.
            #expect(try await server.rest("hello", sender: "flood").status == 200)
            #expect(try await server.rest("hello again", sender: "flood").status == 200)
            let limited = try await server.rest("and again", sender: "flood")
            #expect(limited.status == 429 && limited.errorCode == "rate_limited")
            #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
            #expect(try await server.rest("hello", sender: "someone-else").status == 200, "other senders are not limited")
        }
    }

    @Test func deeplyNestedAndHugeValuesAreRefusedNotCrashed() async throws {
        try await RunningServer.with { server in
            let nested = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
            let response = try await HTTPTestClient.send(port: server.port, path: "/webhooks/rest/webhook",
                                                   headers: [("Content-Type", "application/json"), Self.bearer],
                                                   body: Array(nested.prefix(65_000).utf8))
            #expect(response.status == 400)
            let numbers = try await HTTPTestClient.send(port: server.port, path: "/webhooks/telegram",
                                                  headers: [("Content-Type", "application/json"),
                                                            ("X-Telegram-Bot-Api-Secret-Token", TestSecrets.telegramSecret)],
                                                  body: Array("{\"update_id\": 1e999, \"message\": null}".utf8))
            #expect(numbers.status == 400)
            #expect(try await HTTPTestClient.get(port: server.port, path: "/healthz").status == 200)
        }
    }

    /// Random bodies at every endpoint, authenticated where a secret is
    /// needed (so they reach the parsers): never a 5xx, never a crash, and
    /// a 200 only for what the channel accepts; the server answers
    /// `/healthz` afterwards.
    @Test func fuzzedBodiesNeverCrashTheServer() async throws {
        try await RunningServer.with { server in
            var random = SeededGenerator(seed: 0xC0FFEE)
            let fragments = ["{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e309", "-0", "\"update_id\"", "\"message\"",
                             "\"sender\"", "\"text\"", "\"event\"", "\"type\"", "\"event_callback\"", "\"url_verification\"",
                             "\"chat\"", "\"id\"", "\\u0000", "\\ud800", "漏水", "%", "&", "=", "Body", "From", "MessageSid", "+"]
            var statuses: [Int: Int] = [:]
            for round in 0..<240 {
                let body: [UInt8]
                switch round % 3 {
                case 0: body = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                case 1: body = Array((0..<Int.random(in: 1...40, using: &random))
                        .map { _ in fragments.randomElement(using: &random)! }.joined().utf8)
                default:
                    var object: [String: Any] = ["update_id": Int.random(in: 0...1_000, using: &random), "type": "event_callback",
                                                 "event_id": "Ev\(round)", "sender": "fuzz", "message": "hi"]
                    if Bool.random(using: &random) { object["event"] = ["type": "message", "user": 5, "text": ["nested"]] }
                    if Bool.random(using: &random) { object["message"] = ["chat": ["id": "x"], "text": 42] }
                    body = Array(try JSONSerialization.data(withJSONObject: object))
                }
                let responses = [
                    try await HTTPTestClient.send(port: server.port, path: "/webhooks/rest/webhook",
                                            headers: [("Content-Type", "application/json"), Self.bearer], body: body),
                    try await HTTPTestClient.send(port: server.port, path: "/webhooks/telegram",
                                            headers: [("Content-Type", "application/json"),
                                                      ("X-Telegram-Bot-Api-Secret-Token", TestSecrets.telegramSecret)], body: body),
                    try await server.slackRaw(body),
                    try await HTTPTestClient.send(port: server.port, path: "/webhooks/twilio",
                                            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body),
                ]
                for response in responses {
                    statuses[response.status, default: 0] += 1
                    #expect(response.status < 500, "round \(round): \(response.status) \(response.text)")
                    if response.status != 200 {
                        #expect(response.errorCode != nil, "round \(round): a refusal without a JSON error: \(response.text)")
                    }
                }
            }
            #expect(statuses.values.reduce(0, +) == 960)
            #expect(statuses[400, default: 0] > 0)
            #expect(try await HTTPTestClient.get(port: server.port, path: "/healthz").status == 200)
            #expect(try await server.rest("my sink leaks", sender: "after-fuzz").status == 200, "still answering residents")
        }
    }
}
