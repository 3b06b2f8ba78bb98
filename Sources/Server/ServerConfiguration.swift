import DataPack
import Foundation
import Yams

/// How `concierge serve` runs: where it listens, what it accepts, which
/// channels are on. Read from a YAML file (`--config`), then command-line
/// overrides; secrets never come from the file, only from the environment
/// (see `ChannelSecrets`). `examples/serve.yaml` is a complete, commented
/// example (loaded by `ExampleConfigurationTests`).
///
/// ```yaml
/// listen: { host: 127.0.0.1, port: 8080 }
/// public_url: https://concierge.example.org   # as the platforms call us (Twilio signs it)
/// max_body_bytes: 65536
/// rate_limit: { messages_per_minute: 20, burst: 10 }
/// outbox: { poll_seconds: 1 }
/// connections: { max_open: 512, request_head_timeout: 10, request_body_timeout: 30, idle_timeout: 30 }
/// trusted_proxies: [127.0.0.1]                # whose X-Forwarded-For names the client (staff sign-in throttle)
/// channels:                                   # a channel listed here is on
///   rest: { callback_url: https://app.example.org/concierge }   # optional: staff replies pushed
///   telegram: { reply: inline }               # or `api` (sendMessage through the outbox)
///   twilio: { account_sid: AC…, from_number: "+15550001111" }
///   slack: { bot_user_id: U0BOT }
/// ```
public struct ServerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests, the load script); the server prints it.
    public var port = 8080
    /// The server's address as the platforms see it, without a trailing
    /// slash (a proxy in front changes it). Twilio signs this URL plus the
    /// path; required when the Twilio channel is on.
    public var publicURL: String?
    /// Larger request bodies get 413.
    public var maxBodyBytes = 65_536
    /// Messages one sender may send: a token bucket of `burst` tokens,
    /// refilled at `messagesPerMinute`.
    public var rateLimit = RateLimitSettings(messagesPerMinute: 20, burst: 10)
    /// Conversation turns processed at once; more wait in arrival order
    /// (default: 16 per processor).
    public var turnsInFlight = 16 * ProcessInfo.processInfo.activeProcessorCount
    /// How often the outbox worker looks for replies to send when nothing woke it.
    public var outboxPollSeconds = 1.0
    /// Days a resolved ticket waits for the resident's "is it fixed?" before
    /// it is closed automatically.
    public var confirmDays = 7.0
    /// The largest photo a resident may send (`photos.max_bytes`).
    public var photoMaxBytes = 10 * 1_048_576
    /// Timeouts for slow or silent clients, and the cap on open connections.
    public var connections = ConnectionLimits()
    /// Addresses of reverse proxies in front of the server: for a request
    /// from one of them, the client is the last address in
    /// `X-Forwarded-For` that is not a trusted proxy. Empty: the peer address.
    public var trustedProxies: [String] = []
    public var rest: RESTSettings?
    public var telegram: TelegramSettings?
    public var twilio: TwilioSettings?
    public var slack: SlackSettings?

    public init() {}

    public struct RateLimitSettings: Sendable, Equatable {
        public var messagesPerMinute: Double
        public var burst: Int
        public init(messagesPerMinute: Double, burst: Int) {
            self.messagesPerMinute = messagesPerMinute
            self.burst = burst
        }
    }

    /// The REST channel (`POST /webhooks/rest/webhook`), protected by a bearer token.
    public struct RESTSettings: Sendable, Equatable {
        /// Where staff's public replies to REST residents are pushed (Rasa's
        /// callback convention); without it they wait in the resident's status lookup.
        public var callbackURL: String?
        public init() {}
    }

    /// The Telegram bot webhook.
    public struct TelegramSettings: Sendable, Equatable {
        /// `inline`: the reply is the webhook response (a `sendMessage`
        /// method body). `api`: the reply goes through the outbox and the
        /// Bot API (needs the bot token); the webhook answers an empty 200.
        public var replyThroughAPI = false
        public var apiBase = "https://api.telegram.org"
        public init() {}
    }

    /// Twilio Programmable Messaging (SMS).
    public struct TwilioSettings: Sendable, Equatable {
        /// Needed to send staff replies by SMS (the Messages API); inbound works without.
        public var accountSID: String?
        /// The community's Twilio number, the sender of staff replies.
        public var fromNumber: String?
        public var apiBase = "https://api.twilio.com"
        public init() {}
    }

    /// The Slack Events API.
    public struct SlackSettings: Sendable, Equatable {
        /// The bot's own user id, so it never answers itself (messages with a
        /// `bot_id` are ignored in any case).
        public var botUserID: String?
        public var apiBase = "https://slack.com/api"
        /// Where Slack keeps the files residents share (`url_private`); only
        /// files there are fetched.
        public var filesBase = "https://files.slack.com"
        public init() {}
    }

    /// The channels that are on, by their name in URLs, metrics and the store.
    public var enabledChannels: [String] {
        [rest.map { _ in "rest" }, telegram.map { _ in "telegram" }, twilio.map { _ in "sms" }, slack.map { _ in "slack" }]
            .compactMap { $0 }
    }

    /// Reads a configuration file. Problems are reported together, each with
    /// the file, line and column (`ServerConfigurationError.invalidFile`).
    public static func load(file: URL) throws -> ServerConfiguration {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw ServerConfigurationError.unreadable(path: file.path, detail: error.localizedDescription)
        }
        return try parse(text, file: file.path)
    }

    /// Parses configuration YAML; `file` names it in diagnostics.
    public static func parse(_ text: String, file: String) throws -> ServerConfiguration {
        let reader = YAMLReader(file: file)
        var configuration = ServerConfiguration()
        if let root = reader.parse(text),
           let top = reader.mapping(root, what: "the configuration",
                                    allowed: ["listen", "public_url", "max_body_bytes", "rate_limit", "outbox", "confirm_days", "photos", "connections",
                                              "trusted_proxies", "channels"]) {
            if let listen = reader.mapping(top["listen"], what: "listen", allowed: ["host", "port"]) {
                if let host = reader.string(listen["host"], what: "listen.host") { configuration.host = host }
                if let port = reader.integer(listen["port"], what: "listen.port", in: 0...65_535) { configuration.port = port }
            }
            if let url = reader.string(top["public_url"], what: "public_url") {
                if URL(string: url)?.scheme.map({ ["http", "https"].contains($0) }) != true {
                    reader.error(top["public_url"], "public_url must be an http(s) URL, not \"\(url)\"")
                } else {
                    configuration.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                }
            }
            if let bytes = reader.integer(top["max_body_bytes"], what: "max_body_bytes", in: 1_024...16_777_216) {
                configuration.maxBodyBytes = bytes
            }
            if let limit = reader.mapping(top["rate_limit"], what: "rate_limit", allowed: ["messages_per_minute", "burst"]) {
                if let rate = reader.number(limit["messages_per_minute"], what: "rate_limit.messages_per_minute",
                                            in: 0.001...1_000_000) {
                    configuration.rateLimit.messagesPerMinute = rate
                }
                if let burst = reader.integer(limit["burst"], what: "rate_limit.burst", in: 1...1_000_000) {
                    configuration.rateLimit.burst = burst
                }
            }
            if let outbox = reader.mapping(top["outbox"], what: "outbox", allowed: ["poll_seconds"]),
               let seconds = reader.number(outbox["poll_seconds"], what: "outbox.poll_seconds", in: 0.05...3_600) {
                configuration.outboxPollSeconds = seconds
            }
            if let days = reader.number(top["confirm_days"], what: "confirm_days", in: 0.01...365) {
                configuration.confirmDays = days
            }
            if let photos = reader.mapping(top["photos"], what: "photos", allowed: ["max_bytes"]),
               let bytes = reader.integer(photos["max_bytes"], what: "photos.max_bytes", in: 1_024...52_428_800) {
                configuration.photoMaxBytes = bytes
            }
            configuration.readConnections(top["connections"], reader: reader)
            if let proxies = reader.sequence(top["trusted_proxies"], what: "trusted_proxies") {
                configuration.trustedProxies = proxies.compactMap { reader.string($0, what: "trusted_proxies[]") }
            }
            if let channels = reader.mapping(top["channels"], what: "channels", allowed: ["rest", "telegram", "twilio", "slack"]) {
                configuration.readChannels(channels, reader: reader)
            }
        }
        let errors = reader.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw ServerConfigurationError.invalidFile(errors) }
        return configuration
    }

    private mutating func readConnections(_ node: Node?, reader: YAMLReader) {
        guard let values = reader.mapping(node, what: "connections",
                                          allowed: ["max_open", "request_head_timeout", "request_body_timeout", "idle_timeout"])
        else { return }
        if let open = reader.integer(values["max_open"], what: "connections.max_open", in: 1...1_000_000) {
            connections.maxConnections = open
        }
        if let seconds = reader.number(values["request_head_timeout"], what: "connections.request_head_timeout", in: 0.1...3_600) {
            connections.requestHeadTimeout = seconds
        }
        if let seconds = reader.number(values["request_body_timeout"], what: "connections.request_body_timeout", in: 0.1...3_600) {
            connections.requestBodyTimeout = seconds
        }
        if let seconds = reader.number(values["idle_timeout"], what: "connections.idle_timeout", in: 0.1...3_600) {
            connections.idleTimeout = seconds
        }
    }

    /// A channel's settings: an empty value (`rest:`) or a mapping.
    private static func settings(_ node: Node?, _ name: String, allowed: Set<String>, reader: YAMLReader) -> [String: Node]? {
        guard let node else { return nil }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { return [:] }
        return reader.mapping(node, what: "channels.\(name)", allowed: allowed)
    }

    private mutating func readChannels(_ channels: [String: Node], reader: YAMLReader) {
        if let values = Self.settings(channels["rest"], "rest", allowed: ["callback_url"], reader: reader) {
            var rest = RESTSettings()
            rest.callbackURL = reader.string(values["callback_url"], what: "channels.rest.callback_url")
            self.rest = rest
        }
        if let values = Self.settings(channels["telegram"], "telegram", allowed: ["reply", "api_base"], reader: reader) {
            var telegram = TelegramSettings()
            if let reply = reader.string(values["reply"], what: "channels.telegram.reply") {
                switch reply {
                case "inline": telegram.replyThroughAPI = false
                case "api": telegram.replyThroughAPI = true
                default: reader.error(values["reply"], "channels.telegram.reply must be inline or api, not \"\(reply)\"")
                }
            }
            if let base = reader.string(values["api_base"], what: "channels.telegram.api_base") { telegram.apiBase = base }
            self.telegram = telegram
        }
        if let values = Self.settings(channels["twilio"], "twilio", allowed: ["account_sid", "from_number", "api_base"],
                                      reader: reader) {
            var twilio = TwilioSettings()
            twilio.accountSID = reader.string(values["account_sid"], what: "channels.twilio.account_sid")
            twilio.fromNumber = reader.string(values["from_number"], what: "channels.twilio.from_number")
            if let base = reader.string(values["api_base"], what: "channels.twilio.api_base") { twilio.apiBase = base }
            self.twilio = twilio
        }
        if let values = Self.settings(channels["slack"], "slack", allowed: ["bot_user_id", "api_base", "files_base"], reader: reader) {
            var slack = SlackSettings()
            slack.botUserID = reader.string(values["bot_user_id"], what: "channels.slack.bot_user_id")
            if let base = reader.string(values["api_base"], what: "channels.slack.api_base") { slack.apiBase = base }
            if let base = reader.string(values["files_base"], what: "channels.slack.files_base") { slack.filesBase = base }
            self.slack = slack
        }
    }
}

/// The secrets of the enabled channels, from environment variables (never
/// from the configuration file, never logged).
public struct ChannelSecrets: Sendable {
    /// `Authorization: Bearer …` for the REST channel.
    public var restToken: String?
    /// `X-Telegram-Bot-Api-Secret-Token`, set with `setWebhook`.
    public var telegramSecretToken: String?
    /// The bot token, for replies through the Bot API.
    public var telegramBotToken: String?
    /// Signs `X-Twilio-Signature`; also the Messages API password.
    public var twilioAuthToken: String?
    /// Signs `X-Slack-Signature`.
    public var slackSigningSecret: String?
    /// `xoxb-…`, for `chat.postMessage`.
    public var slackBotToken: String?

    public init(restToken: String? = nil, telegramSecretToken: String? = nil, telegramBotToken: String? = nil,
                twilioAuthToken: String? = nil, slackSigningSecret: String? = nil, slackBotToken: String? = nil) {
        self.restToken = restToken
        self.telegramSecretToken = telegramSecretToken
        self.telegramBotToken = telegramBotToken
        self.twilioAuthToken = twilioAuthToken
        self.slackSigningSecret = slackSigningSecret
        self.slackBotToken = slackBotToken
    }

    /// The environment variable behind each secret, for help text and errors.
    public enum Variable: String, CaseIterable, Sendable {
        case restToken = "CONCIERGE_REST_TOKEN"
        case telegramSecretToken = "CONCIERGE_TELEGRAM_SECRET_TOKEN"
        case telegramBotToken = "CONCIERGE_TELEGRAM_BOT_TOKEN"
        case twilioAuthToken = "CONCIERGE_TWILIO_AUTH_TOKEN"
        case slackSigningSecret = "CONCIERGE_SLACK_SIGNING_SECRET"
        case slackBotToken = "CONCIERGE_SLACK_BOT_TOKEN"
    }

    /// Reads the secrets from `environment` (empty values count as missing).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ChannelSecrets {
        func value(_ variable: Variable) -> String? {
            environment[variable.rawValue].flatMap { $0.isEmpty ? nil : $0 }
        }
        return ChannelSecrets(restToken: value(.restToken), telegramSecretToken: value(.telegramSecretToken),
                              telegramBotToken: value(.telegramBotToken), twilioAuthToken: value(.twilioAuthToken),
                              slackSigningSecret: value(.slackSigningSecret), slackBotToken: value(.slackBotToken))
    }

    /// Checks that every enabled channel has what it needs; the error names
    /// every missing variable at once.
    public func validate(for configuration: ServerConfiguration) throws {
        var missing: [(channel: String, variable: Variable)] = []
        if configuration.rest != nil, restToken == nil { missing.append(("rest", .restToken)) }
        if let telegram = configuration.telegram {
            if telegramSecretToken == nil { missing.append(("telegram", .telegramSecretToken)) }
            if telegram.replyThroughAPI, telegramBotToken == nil { missing.append(("telegram (reply: api)", .telegramBotToken)) }
        }
        if configuration.twilio != nil, twilioAuthToken == nil { missing.append(("twilio", .twilioAuthToken)) }
        if configuration.slack != nil {
            if slackSigningSecret == nil { missing.append(("slack", .slackSigningSecret)) }
            if slackBotToken == nil { missing.append(("slack", .slackBotToken)) }
        }
        if !missing.isEmpty {
            throw ServerConfigurationError.missingSecrets(missing.map { "\($0.variable.rawValue) (for \($0.channel))" })
        }
        if configuration.twilio != nil, configuration.publicURL == nil {
            throw ServerConfigurationError.missingPublicURL
        }
    }
}

/// Why the server cannot start.
public enum ServerConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, detail: String)
    case invalidFile([Diagnostic])
    case missingSecrets([String])
    case missingPublicURL
    case noChannels
    case invalidURL(setting: String, value: String)

    public var description: String {
        switch self {
        case let .unreadable(path, detail): "cannot read the configuration file \(path): \(detail)"
        case .invalidFile(let diagnostics): diagnostics.map(\.description).joined(separator: "\n")
        case .missingSecrets(let variables):
            "missing secret\(variables.count == 1 ? "" : "s") for enabled channels: set "
                + variables.joined(separator: ", ") + " in the environment"
        case .missingPublicURL:
            "the twilio channel needs public_url (in the configuration file or --public-url): Twilio signs the URL it calls"
        case let .invalidURL(setting, value):
            "\(setting) must be an http(s) URL, not \"\(value)\""
        case .noChannels:
            "no channel is enabled: list at least one under `channels:` in the configuration file, or pass --channel"
        }
    }
}
