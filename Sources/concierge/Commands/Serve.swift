import ArgumentParser
import DataPack
import Dialogue
import Foundation
import Logging
import Outbox
import Server
import ServiceLifecycle
import Store
import Triage

/// `concierge serve`: the webhook server messaging platforms call.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server that messaging platforms (REST, Telegram, Twilio SMS, Slack) call.",
        discussion: """
        Settings come from a YAML file (--config), then these options; secrets only \
        from the environment, never from the file:

          CONCIERGE_REST_TOKEN             the REST channel's bearer token
          CONCIERGE_TELEGRAM_SECRET_TOKEN  setWebhook's secret_token
          CONCIERGE_TELEGRAM_BOT_TOKEN     the bot token (telegram reply: api)
          CONCIERGE_TWILIO_AUTH_TOKEN      checks X-Twilio-Signature, sends SMS
          CONCIERGE_SLACK_SIGNING_SECRET   checks X-Slack-Signature
          CONCIERGE_SLACK_BOT_TOKEN        xoxb-… token for chat.postMessage

        Starting with an enabled channel's secret missing fails at once, naming it.

        Routes: POST /webhooks/rest/webhook, POST /webhooks/telegram, \
        POST /webhooks/twilio, POST /webhooks/slack/events (enabled channels only), \
        GET /healthz, GET /readyz, GET /metrics (Prometheus), and Open311 \
        GeoReport v2 under /open311/v2/ (services.json, requests.json; filing \
        needs a key from `concierge apikey add`).

        The staff web page is at /staff: sign in with an account made by \
        `concierge staff add NAME --admin`. Its cookies are Secure, so browsers \
        keep them only over HTTPS (a TLS proxy in front) or on localhost / \
        127.0.0.1; see SECURITY.md. /metrics and /readyz need no credentials: \
        keep the port on loopback or firewalled.

        The server listens at once; on first run it trains the community model \
        in the background, and until the model is loaded /readyz and the \
        webhooks answer 503 with Retry-After. SIGTERM or Ctrl-C stops accepting \
        connections, finishes the requests in flight, records the replies being \
        sent, and exits.

        Example configuration file:

          listen: { host: 0.0.0.0, port: 8080 }
          public_url: https://concierge.example.org
          rate_limit: { messages_per_minute: 20, burst: 10 }
          connections: { max_open: 512, request_head_timeout: 10, request_body_timeout: 30, idle_timeout: 30 }
          trusted_proxies: [127.0.0.1]
          channels:
            rest: {}
            telegram: { reply: inline }
            twilio: { account_sid: AC0123, from_number: "+15550001111" }
            slack: { bot_user_id: U0BOT }
        """)

    enum ChannelName: String, ExpressibleByArgument, CaseIterable {
        case rest, telegram, twilio, slack
    }

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var packOptions: PackOptions

    @Option(help: ArgumentHelp("The server's YAML configuration file.", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(help: ArgumentHelp("Port to listen on (default 8080; 0 picks a free one and prints it).", valueName: "port"))
    var port: Int?

    @Option(name: .customLong("public-url"), help: ArgumentHelp(
        "The server's URL as the platforms call it, e.g. https://concierge.example.org (Twilio signs it).", valueName: "url"))
    var publicURL: String?

    @Option(name: .customLong("channel"), help: ArgumentHelp(
        "Turn a channel on with its default settings (repeatable): rest, telegram, twilio, slack.", valueName: "name"))
    var channels: [ChannelName] = []

    @Option(name: .customLong("max-body-bytes"), help: ArgumentHelp(
        "Larger request bodies get 413 (default 65536).", valueName: "bytes"))
    var maxBodyBytes: Int?

    @Option(name: .customLong("rate-limit"), help: ArgumentHelp(
        "Messages per minute one sender may send, after the burst (default 20).", valueName: "n"))
    var rateLimit: Double?

    @Option(name: .customLong("rate-burst"), help: ArgumentHelp(
        "Messages one sender may send at once (default 10).", valueName: "n"))
    var rateBurst: Int?

    @Option(name: .customLong("turns-in-flight"), help: ArgumentHelp(
        "Messages processed at once; more wait their turn in arrival order (default: 16 per processor).", valueName: "n"))
    var turnsInFlight: Int?

    @Option(name: .customLong("max-connections"), help: ArgumentHelp(
        "Connections open at once; past it new ones wait in the listen queue (default 512).", valueName: "n"))
    var maxConnections: Int?

    @Option(name: .customLong("request-head-timeout"), help: ArgumentHelp(
        "Seconds a client has, from connecting or from a request's first byte, to send the whole request head; "
            + "then the connection is closed (default 10).", valueName: "seconds"))
    var requestHeadTimeout: Double?

    @Option(name: .customLong("request-body-timeout"), help: ArgumentHelp(
        "Seconds from the end of a request head to the end of its body (default 30).", valueName: "seconds"))
    var requestBodyTimeout: Double?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "Seconds a keep-alive connection may wait idle for its next request (default 30). "
            + "HTTP/1.0 connections without keep-alive, and requests with Connection: close, are closed after the response.",
        valueName: "seconds"))
    var idleTimeout: Double?

    @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp(
        "The address of a reverse proxy in front of the server (repeatable): its X-Forwarded-For names the client "
            + "for the staff sign-in throttle. Without one, the peer address is the client.", valueName: "address"))
    var trustedProxies: [String] = []

    @Option(name: .customLong("log-format"), help: ArgumentHelp(
        "text, or json (one object per line). Phone numbers and emails are masked either way.", valueName: "format"))
    var logFormat: LogFormat = .text

    func validate() throws {
        if let port, !(0...65_535).contains(port) { throw ValidationError("--port must be 0…65535, not \(port)") }
        if let maxBodyBytes, maxBodyBytes < 1_024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let rateLimit, rateLimit <= 0 { throw ValidationError("--rate-limit must be positive") }
        if let rateBurst, rateBurst < 1 { throw ValidationError("--rate-burst must be at least 1") }
        if let turnsInFlight, turnsInFlight < 1 { throw ValidationError("--turns-in-flight must be at least 1") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        for (name, value) in [("--request-head-timeout", requestHeadTimeout), ("--request-body-timeout", requestBodyTimeout),
                              ("--idle-timeout", idleTimeout)] {
            if let value, !(0.1...3_600).contains(value) { throw ValidationError("\(name) must be 0.1…3600 seconds, not \(value)") }
        }
    }

    /// The configuration file with the command-line options applied.
    func serverConfiguration() throws -> ServerConfiguration {
        var configuration = try config.map { try ServerConfiguration.load(file: URL(fileURLWithPath: $0)) } ?? ServerConfiguration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let publicURL { configuration.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
        if let rateLimit { configuration.rateLimit.messagesPerMinute = rateLimit }
        if let rateBurst { configuration.rateLimit.burst = rateBurst }
        if let turnsInFlight { configuration.turnsInFlight = turnsInFlight }
        if let maxConnections { configuration.connections.maxConnections = maxConnections }
        if let requestHeadTimeout { configuration.connections.requestHeadTimeout = requestHeadTimeout }
        if let requestBodyTimeout { configuration.connections.requestBodyTimeout = requestBodyTimeout }
        if let idleTimeout { configuration.connections.idleTimeout = idleTimeout }
        if !trustedProxies.isEmpty { configuration.trustedProxies = trustedProxies }
        for channel in channels {
            switch channel {
            case .rest: configuration.rest = configuration.rest ?? .init()
            case .telegram: configuration.telegram = configuration.telegram ?? .init()
            case .twilio: configuration.twilio = configuration.twilio ?? .init()
            case .slack: configuration.slack = configuration.slack ?? .init()
            }
        }
        return configuration
    }

    func run() async throws {
        let configuration: ServerConfiguration
        let secrets = ChannelSecrets.fromEnvironment()
        do {
            configuration = try serverConfiguration()
            guard !configuration.enabledChannels.isEmpty else { throw ServerConfigurationError.noChannels }
            try secrets.validate(for: configuration)
        } catch let error as ServerConfigurationError {
            throw CLIError(error.description)
        }
        StoreLogging.bootstrap(json: logFormat == .json, level: StoreLogging.level(default: .info))
        var logger = Logger(label: "concierge.server")
        logger.logLevel = StoreLogging.level(default: .info)

        let files = try ProjectFiles.locate()
        let (pack, _) = try DataPackLoader.load(directory: packOptions.directory(files))
        let store = try await storeOptions.open(targets: PackFacts(pack: pack).targets)
        let assistant = AssistantSlot()
        var server = try ConciergeServer(configuration: configuration, secrets: secrets, assistant: assistant, store: store,
                                         logger: logger)
        let outbox: OutboxWorker?
        let media: MediaFetchWorker?
        let photoWording = PhotoFetchWording(pack: pack, maxBytes: configuration.photoMaxBytes)
        do {
            outbox = try server.outboxWorker()
            media = try server.mediaFetchWorker(notice: { photoWording.text(language: $0, ticket: $1, refused: $2) },
                                                noticeQueued: { outbox?.wake() })
        } catch let error as ServerConfigurationError { throw CLIError(error.description) }
        if let outbox { server.replyQueued = { outbox.wake() } }
        if let media { server.mediaQueued = { media.wake() } }
        // Training is long, synchronous work: a thread of its own, not one of the
        // two threads the requests' tasks run on.
        let photoMaxBytes = configuration.photoMaxBytes
        let loading = Task { [packOptions, storeOptions] in
            do {
                let (pack, model, triager) = try await onOwnThread {
                    try Assistant.triage(packOptions: packOptions, home: storeOptions.home.home)
                }
                assistant.load(ConversationEngine(store: store, triager: triager, pack: pack,
                                                  modelVersion: String(model.card.modelKey.prefix(12)),
                                                  maxPhotoBytes: photoMaxBytes))
                logger.info("model loaded", metadata: ["model": "\(model.card.modelKey.prefix(12))"])
            } catch {
                logger.critical("cannot load the model: \(error)")
            }
        }
        let host = configuration.host
        let channelList = configuration.enabledChannels.joined(separator: ", ")
        let closer = ResolutionCloser(store: store, confirmDays: configuration.confirmDays)
        let services: [any Service] = (outbox.map { [$0] } ?? []) + (media.map { [$0] } ?? []) + [closer]
        let application = server.application(services: services) { port in
            FileHandle.standardOutput.write(Data("Concierge listening on http://\(host):\(port) (channels: \(channelList))\n".utf8))
        }
        do {
            try await application.runService()
        } catch {
            loading.cancel()
            await store.close()
            throw error
        }
        loading.cancel()
        await store.close()
        logger.info("stopped")
    }
}

/// Runs `body` on a new thread and waits for it without holding a concurrency thread.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
