import Dialogue
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Store

/// `concierge serve`: the HTTP server the messaging platforms call.
///
/// | Route | What |
/// |---|---|
/// | `POST /webhooks/rest/webhook`, `GET /webhooks/rest/` | REST channel (`RESTChannel`) |
/// | `POST /webhooks/telegram` | Telegram bot webhook (`TelegramChannel`) |
/// | `POST /webhooks/twilio` | Twilio SMS (`TwilioChannel`) |
/// | `POST /webhooks/slack/events` | Slack Events API (`SlackChannel`) |
/// | `GET /healthz` | liveness: the process answers |
/// | `GET /readyz` | readiness: the model is loaded and the store answers |
/// | `GET /metrics` | Prometheus text format (`ServerMetrics`) |
/// | `/open311/v2/…` | Open311 GeoReport v2 (`addOpen311Routes`) |
///
/// Only the enabled channels have routes; anything else is a JSON 404.
public struct ConciergeServer: Sendable {
    public let configuration: ServerConfiguration
    public let secrets: ChannelSecrets
    public let assistant: AssistantSlot
    public let store: any TicketStore
    public let metrics: ServerMetrics
    public let limiter: SenderRateLimiter
    public let logger: Logger
    /// Rung after a turn queued a reply (wakes the outbox worker).
    public var replyQueued: @Sendable () -> Void
    /// Rung after a turn recorded a platform's file (wakes the media worker).
    public var mediaQueued: @Sendable () -> Void = {}
    /// The clock for signatures' replay window and the rate limit.
    public var now: @Sendable () -> Date

    /// Checks the secrets against the enabled channels (a missing one is a
    /// `ServerConfigurationError`) and assembles the server.
    public init(configuration: ServerConfiguration, secrets: ChannelSecrets, assistant: AssistantSlot, store: any TicketStore,
                metrics: ServerMetrics = ServerMetrics(), logger: Logger = Logger(label: "concierge.server"),
                replyQueued: @escaping @Sendable () -> Void = {}, now: @escaping @Sendable () -> Date = { Date() }) throws {
        guard !configuration.enabledChannels.isEmpty else { throw ServerConfigurationError.noChannels }
        try secrets.validate(for: configuration)
        self.configuration = configuration
        self.secrets = secrets
        self.assistant = assistant
        self.store = store
        self.metrics = metrics
        self.limiter = SenderRateLimiter(messagesPerMinute: configuration.rateLimit.messagesPerMinute,
                                         burst: configuration.rateLimit.burst)
        self.logger = logger
        self.replyQueued = replyQueued
        self.now = now
    }

    /// The routes, testable without a socket.
    public func router() -> Router<ConciergeRequestContext> {
        let router = Router(context: ConciergeRequestContext.self)
        router.add(middleware: ObservationMiddleware(metrics: metrics, logger: logger))
        // One admission gate for every route that triages: webhooks and Open311 filings share the processors.
        let triageGate = TurnGate(limit: configuration.turnsInFlight)
        let services = ChannelServices(assistant: assistant, limiter: limiter, metrics: metrics, configuration: configuration,
                                       secrets: secrets, logger: logger, replyQueued: replyQueued, mediaQueued: mediaQueued, now: now,
                                       gate: triageGate)
        let store = store
        let assistant = assistant
        let metrics = metrics

        router.get("/healthz") { _, _ in JSONBody.ok(["status": "ok"]) }
        router.get("/readyz") { _, _ in await Self.readiness(assistant: assistant, store: store) }
        router.get("/metrics") { _, _ in
            let text = await metrics.exposition(store: store)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        addOpen311Routes(to: router, gate: triageGate)
        if configuration.rest != nil, let token = secrets.restToken {
            let rest = RESTChannel(services: services, token: token)
            // Also answers `/webhooks/rest/` (the router ignores the trailing slash).
            router.get("/webhooks/rest") { _, _ in JSONBody.ok(["status": "ok"]) }
            router.post("/webhooks/rest/webhook") { request, _ in try await rest.handle(request) }
        }
        if let settings = configuration.telegram, let secret = secrets.telegramSecretToken {
            let telegram = TelegramChannel(services: services, secretToken: secret, replyThroughAPI: settings.replyThroughAPI)
            router.post("/webhooks/telegram") { request, _ in try await telegram.handle(request) }
        }
        if configuration.twilio != nil, let token = secrets.twilioAuthToken, let publicURL = configuration.publicURL {
            let twilio = TwilioChannel(services: services, signature: TwilioSignature(authToken: token), publicURL: publicURL)
            router.post("/webhooks/twilio") { request, _ in try await twilio.handle(request) }
        }
        if let settings = configuration.slack, let secret = secrets.slackSigningSecret {
            let slack = SlackChannel(services: services, signature: SlackSignature(signingSecret: secret),
                                     botUserID: settings.botUserID)
            router.post("/webhooks/slack/events") { request, _ in try await slack.handle(request) }
        }
        addStaffRoutes(to: router)
        return router
    }

    /// `/readyz`: 200 when the model is loaded and the store answers, else 503 naming what is not ready.
    static func readiness(assistant: AssistantSlot, store: any TicketStore) async -> Response {
        let model = assistant.current != nil
        let storeReachable = (try? await store.schemaVersion()) != nil
        let checks = ["model": model ? "ok" : "loading", "store": storeReachable ? "ok" : "unreachable"]
        struct Readiness: Encodable { var status: String; var checks: [String: String] }
        let ready = model && storeReachable
        return JSONBody.response(ready ? .ok : .serviceUnavailable, Readiness(status: ready ? "ready" : "not_ready", checks: checks))
    }

    /// The HTTP application: listens on the configured host and port
    /// (`onListening` gets the bound port, useful with port 0), runs
    /// `services` beside it, and shuts down gracefully on SIGTERM/SIGINT when
    /// run with `runService()`: stops accepting, finishes requests in flight,
    /// then stops the services.
    public func application(services: [any Service] = [], onListening: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let limits = configuration.connections
        return Application(
            router: router(),
            server: .guardedHTTP1(limits),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "concierge",
                availableConnectionsDelegate: ConnectionCap(maximum: limits.maxConnections, open: metrics.openConnections)),
            services: services,
            onServerRunning: { channel in
                // One accept per read, so the connection cap is exact (several
                // accepts per read would each pass the check before the first counts).
                try? await channel.setOption(ChannelOptions.maxMessagesPerRead, value: 1).get()
                await onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger)
    }
}
