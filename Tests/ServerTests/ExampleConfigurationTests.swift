import Foundation
import Server
import Testing
import TestSupport

/// `examples/serve.yaml`, read by the function `concierge serve --config`
/// reads its file with (`ServerConfiguration.load(file:)`), so the example
/// the documentation points to stays one the server accepts and says what it
/// does.
@Suite struct ExampleConfigurationTests {
    static let file = packageRoot.appendingPathComponent("examples").appendingPathComponent("serve.yaml")

    @Test func theExampleIsTheDefaultsWithTheRESTChannel() throws {
        let configuration = try ServerConfiguration.load(file: Self.file)
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.publicURL == nil)
        #expect(configuration.maxBodyBytes == 65_536)
        #expect(configuration.rateLimit == .init(messagesPerMinute: 20, burst: 10))
        #expect(configuration.outboxPollSeconds == 1)
        #expect(configuration.confirmDays == 7 && configuration.photoMaxBytes == 10_485_760)
        #expect(configuration.connections.maxConnections == 512)
        #expect(configuration.connections.requestHeadTimeout == 10)
        #expect(configuration.connections.requestBodyTimeout == 30)
        #expect(configuration.connections.idleTimeout == 30)
        #expect(configuration.trustedProxies.isEmpty)
        #expect(configuration.enabledChannels == ["rest"])
        #expect(configuration.rest?.callbackURL == nil)

        // As its comments say: every value is the default, so the file is `serve --channel rest`.
        var defaultsWithREST = ServerConfiguration()
        defaultsWithREST.rest = .init()
        #expect(configuration == defaultsWithREST)
        // The REST token is the one secret it needs.
        try ChannelSecrets(restToken: "token").validate(for: configuration)
    }

    @Test func everyCommentedOutSettingIsValidToo() throws {
        let text = try String(contentsOf: Self.file, encoding: .utf8)
        let settings = Self.uncommented(text)
        #expect(settings != text, "the example shows commented-out settings")
        let configuration = try ServerConfiguration.parse(settings, file: "serve.yaml (uncommented)")
        #expect(configuration.enabledChannels == ["rest", "telegram", "sms", "slack"])
        #expect(configuration.publicURL == "https://concierge.example.org")
        #expect(configuration.rest?.callbackURL == "https://app.example.org/concierge")
        #expect(configuration.telegram?.replyThroughAPI == false)
        #expect(configuration.twilio?.accountSID?.hasPrefix("AC") == true)
        #expect(configuration.twilio?.fromNumber == "+15550001111")
        #expect(configuration.slack?.botUserID == "U0BOT")
        // The URLs the outbox senders are built from (checked only when the server assembles them).
        for url in [configuration.rest?.callbackURL, configuration.telegram?.apiBase, configuration.twilio?.apiBase,
                    configuration.slack?.apiBase] {
            let parsed = try #require(url.flatMap { URL(string: $0) }, "\(String(describing: url))")
            #expect(parsed.scheme == "https" && parsed.host != nil, "\(parsed)")
        }
        // With every channel on, each needs its secrets, and Twilio the public URL the file gives.
        try ChannelSecrets(restToken: "t", telegramSecretToken: "t", telegramBotToken: "t", twilioAuthToken: "t",
                           slackSigningSecret: "t", slackBotToken: "t").validate(for: configuration)
    }

    /// `text` with every commented-out setting turned back on: a line of
    /// `# key: value` or `# key:` (at any indentation, the key in lower case)
    /// loses its `# `; every other comment stays as it is.
    static func uncommented(_ text: String) -> String {
        text.components(separatedBy: "\n").map { line -> String in
            let indent = line.prefix(while: { $0 == " " })
            let rest = line.dropFirst(indent.count)
            guard rest.hasPrefix("# ") else { return line }
            let body = rest.dropFirst(2)
            let setting = body.drop(while: { $0 == " " })
            let key = setting.prefix(while: { $0 == "_" || ($0.isASCII && $0.isLowercase) })
            let afterKey = setting.dropFirst(key.count)
            guard !key.isEmpty, afterKey.first == ":", afterKey.dropFirst().first.map({ $0 == " " }) ?? true else { return line }
            return String(indent) + String(body)
        }.joined(separator: "\n")
    }

    @Test func uncommentingLeavesProseAlone() {
        let text = """
            # The server's address: prose.
            # see https://example.org
            # public_url: https://concierge.example.org
            channels:
              rest:
                # callback_url: https://app.example.org/x
              # slack:
              #   bot_user_id: U0BOT
            """
        #expect(Self.uncommented(text) == """
            # The server's address: prose.
            # see https://example.org
            public_url: https://concierge.example.org
            channels:
              rest:
                callback_url: https://app.example.org/x
              slack:
                bot_user_id: U0BOT
            """)
    }
}
