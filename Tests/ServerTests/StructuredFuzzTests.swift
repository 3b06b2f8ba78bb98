import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport

/// Structure-aware fuzzing of every route: bodies shaped like what each
/// platform sends, properly signed (so they reach the parsers and the
/// store), with each field drawn from values that broke servers before —
/// empty, blank, control characters, huge, the wrong JSON type, null,
/// missing. No response may be a 5xx, and a refusal is always a JSON error.
///
/// `CONCIERGE_FUZZ_BODIES_PER_ROUTE` (default 300, seven routes) scales the run.
@Suite(.serialized) struct StructuredFuzzTests {
    static let perRoute = ProcessInfo.processInfo.environment["CONCIERGE_FUZZ_BODIES_PER_ROUTE"].flatMap(Int.init) ?? 300

    /// Field values that broke servers before: JSON fragments (inserted as is).
    static let jsonValues = [
        #""""#, #"" ""#, #""\n""#, #""\u0000""#, #""U1\nFORGED-LINE""#, #""\ud800""#, "\"" + String(repeating: "x", count: 250) + "\"",
        #""厨房漏水 💧""#, #""my sink leaks""#, #""ok""#, "0", "-1", "1e309", "9223372036854775808", "3.5", "null", "true",
        "[]", #"["a"]"#, "{}", #"{"a":1}"#,
    ]
    /// Residents' words, as the valid values of message fields.
    static let messages = [
        "my kitchen sink is leaking", "厨房水龙头漏水了", "I smell gas in unit 1234", "hello", "yes", "1", "unit 7777",
        "what time is trash pickup?", "楼道灯坏了", "can I talk to a person", "cancel", "status of #1",
    ]

    /// Form values (encoded when sent).
    static let formValues = [
        "", " ", "\n", "\u{0}", "U1\nFORGED", String(repeating: "x", count: 5_000), "厨房漏水 💧", "my sink leaks",
        "+16045550100", "0", "-1", "1e309", "%", "&", "=", "plumbing", "49.28", "-123.12", "not-an-email@", "a@b.c",
    ]

    @Test func wellShapedHostileBodiesNeverGetA5xx() async throws {
        var configuration = RunningServer.configuration()
        configuration.trustedProxies = []
        try await RunningServer.with(configuration: configuration) { server in
            _ = try await server.staffAccount("ivy", role: .admin)
            let apiKey = try await server.store.addAPIKey(name: "fuzz", scope: .full).secret
            var random = SeededGenerator(seed: 0xF022)
            var tally: [String: [Int: Int]] = [:]
            var failures: [String] = []
            func record(_ route: String, _ response: HTTPTestResponse, _ body: String) {
                tally[route, default: [:]][response.status, default: 0] += 1
                if response.status >= 500 { failures.append("\(route) → \(response.status) \(response.text.prefix(200)) for \(body.prefix(300))") }
                if response.status >= 400, route != "staff login", response.errorCode == nil, !response.text.hasPrefix("[{\"code\"")
                    && !response.text.hasPrefix("<?xml") {
                    failures.append("\(route) → \(response.status) without a JSON error: \(response.text.prefix(200))")
                }
            }
            for round in 0..<Self.perRoute {
                // Each field: usually a value the platform would send (so most bodies reach the
                // engine and the store), else a hostile one, else missing.
                func field(_ name: String, _ valid: String) -> String? {
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0: nil
                    case 1...2: "\"\(name)\":\(Self.jsonValues.randomElement(using: &random)!)"
                    default: "\"\(name)\":\(valid)"
                    }
                }
                func object(_ fields: [String?]) -> String { "{" + fields.compactMap { $0 }.joined(separator: ",") + "}" }
                let message = "\"\(Self.messages[round % Self.messages.count])\""
                let resident = round % 9

                // REST
                let rest = object([field("sender", "\"fuzz-\(resident)\""), field("message", message),
                                   "\"metadata\":" + object([field("message_id", "\"m-\(round % 50)\""), field("unit", "\"4B\""),
                                                              field("name", "\"Ana\""), field("language", "\"zh\"")])])
                record("rest", try await HTTPTestClient.send(
                    port: server.port, path: "/webhooks/rest/webhook",
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(TestSecrets.restToken)")],
                    body: Array(rest.utf8)), rest)

                // Telegram
                let telegram = object([field("update_id", "\(round)"), "\"message\":" + object([
                    field("message_id", "\(round)"),
                    "\"from\":" + object([field("id", "\(7000 + resident)"), field("is_bot", "false"), field("first_name", "\"Mei\""),
                                          field("language_code", "\"en\"")]),
                    "\"chat\":" + object([field("id", "\(7000 + resident)"), field("type", "\"private\"")]), field("text", message),
                    field("caption", message)])])
                record("telegram", try await HTTPTestClient.send(
                    port: server.port, path: "/webhooks/telegram",
                    headers: [("Content-Type", "application/json"), ("X-Telegram-Bot-Api-Secret-Token", TestSecrets.telegramSecret)],
                    body: Array(telegram.utf8)), telegram)

                // Slack, signed
                let slack = object([#""type":"event_callback""#, field("event_id", "\"Ev\(round)\""), "\"event\":" + object([
                    Bool.random(using: &random) ? #""type":"message""# : #""type":"app_mention""#, field("user", "\"U\(resident)\""),
                    field("text", message), field("channel_type", "\"im\""),
                    Int.random(in: 0..<4, using: &random) == 0 ? field("subtype", "\"message_changed\"") : nil,
                    Int.random(in: 0..<4, using: &random) == 0 ? field("bot_id", "\"B1\"") : nil])])
                record("slack", try await server.slackRaw(Array(slack.utf8)), slack)

                // Twilio, signed over the public URL
                let twilioNames = ["From", "Body", "MessageSid", "NumMedia", "MediaUrl0", "AccountSid"]
                let twilioValid = ["From": "+1604555\(String(format: "%04d", resident))", "Body": Self.messages[round % Self.messages.count],
                                   "MessageSid": "SM\(round)", "NumMedia": "0", "MediaUrl0": "https://api.twilio.com/x", "AccountSid": "AC0"]
                let twilio = twilioNames.compactMap { name -> (name: String, value: String)? in
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0: nil
                    case 1...3: (name, Self.formValues.randomElement(using: &random)!)
                    default: (name, twilioValid[name] ?? "")
                    }
                }
                let signature = TwilioSignature(authToken: TestSecrets.twilioToken)
                    .signature(url: TestSecrets.publicURL + "/webhooks/twilio", parameters: twilio)
                let twilioForm = twilio.map { "\(RunningServer.formEncode($0.name))=\(RunningServer.formEncode($0.value))" }
                    .joined(separator: "&")
                record("twilio", try await HTTPTestClient.send(
                    port: server.port, path: "/webhooks/twilio",
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)],
                    body: Array(twilioForm.utf8)), twilioForm)

                // Open311 POST, with a real key most of the time
                let open311Names = ["service_code", "lat", "long", "address_string", "address_id", "description", "email",
                                    "first_name", "phone", "media_url", "attribute[x]"]
                let open311Valid = ["service_code": "plumbing", "lat": "49.28", "long": "-123.12", "address_string": "12 Main St, unit 4B",
                                    "address_id": "A1", "description": Self.messages[round % Self.messages.count], "email": "a@b.c",
                                    "first_name": "Ana", "phone": "+16045550100", "media_url": "https://example.org/a.jpg",
                                    "attribute[x]": "1"]
                var open311 = open311Names.compactMap { name -> (String, String)? in
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0...1: nil
                    case 2...4: (name, Self.formValues.randomElement(using: &random)!)
                    default: (name, open311Valid[name] ?? "")
                    }
                }
                if Int.random(in: 0..<5, using: &random) > 0 { open311.append(("api_key", apiKey)) }
                let open311Form = open311.map { "\(RunningServer.formEncode($0.0))=\(RunningServer.formEncode($0.1))" }
                    .joined(separator: "&")
                let document = ["requests.json", "requests.json", "requests.xml", "services.json", "nothing.txt"].randomElement(using: &random)!
                record("open311 post", try await HTTPTestClient.send(
                    port: server.port, path: "/open311/v2/\(document)",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(open311Form.utf8)), open311Form)

                // Open311 GET, with hostile query values
                let queryNames = ["service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size", "api_key"]
                let query = queryNames.compactMap { name -> String? in
                    Int.random(in: 0..<3, using: &random) == 0 ? nil
                        : "\(name)=\(RunningServer.formEncode(name == "api_key" ? apiKey : Self.formValues.randomElement(using: &random)!))"
                }.joined(separator: "&")
                let path = ["/open311/v2/requests.json", "/open311/v2/requests/\(round).json", "/open311/v2/services.xml",
                            "/open311/v2/services/plumbing.json", "/open311/v2/discovery.json"].randomElement(using: &random)!
                record("open311 get", try await HTTPTestClient.get(port: server.port, path: path + "?" + query), query)

                // Staff sign-in: a hostile form (two account names, so the throttle bounds the password checks)
                var login = [("name", ["ivy", "", String(repeating: "i", count: 5_000)].randomElement(using: &random)!),
                             ("password", Self.formValues.randomElement(using: &random)!)]
                // A token of the form the login page issues (43 URL-safe characters).
                let token = String("login\(round)".padding(toLength: 43, withPad: "x", startingAt: 0))
                let cookie = Bool.random(using: &random) ? [("Cookie", "\(StaffClient.loginCookie)=\(token)")] : []
                if Int.random(in: 0..<4, using: &random) > 0 { login.append(("_login", token)) }
                let loginForm = StaffClient.form(login)
                record("staff login", try await HTTPTestClient.send(
                    port: server.port, path: "/staff/login",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")] + cookie, body: Array(loginForm.utf8)),
                       loginForm)
            }
            let summary = tally.sorted { $0.key < $1.key }
                .map { "\($0.key): " + $0.value.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ") }
            print("structured fuzz, \(Self.perRoute) bodies per route:\n  " + summary.joined(separator: "\n  "))
            #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(20).joined(separator: "\n"))")
            #expect(tally.values.map { $0.values.reduce(0, +) }.reduce(0, +) == 7 * Self.perRoute)
            #expect(tally.values.allSatisfy { ($0[200] ?? 0) + ($0[303] ?? 0) + ($0[201] ?? 0) < Self.perRoute }, "some bodies are refused")
            #expect(try await HTTPTestClient.get(port: server.port, path: "/healthz").status == 200)
        }
    }
}
