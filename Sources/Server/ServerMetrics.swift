import Foundation
import Prometheus
import Synchronization
import Store
import Triage

/// What `/metrics` shows, in the Prometheus text format:
///
/// - `concierge_http_requests_total{channel,status}`: every request answered;
/// - `concierge_http_request_duration_seconds{channel}`: a latency histogram;
/// - `concierge_triage_decisions_total{kind,category,priority}`: what residents' messages were judged to be;
/// - `concierge_redeliveries_total{channel}`: platform retries answered from the store;
/// - `concierge_open_tickets` and `concierge_outbox_pending`: the queue depth
///   and the replies not yet sent, read from the store at each scrape;
/// - `concierge_open_connections`: HTTP connections open now (capped by
///   `connections.max_open`).
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let openTickets: Gauge
    private let outboxPending: Gauge
    private let storeUp: Gauge
    private let openConnectionsGauge: Gauge
    /// Connections open now, counted by the server's accept loop.
    public let openConnections = OpenConnections()

    /// Latency buckets from 0.5 ms to 2.5 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        openTickets = registry.makeGauge(descriptor: .init(namespace: "concierge", metricName: "open_tickets", unitName: "",
                                                           helpText: "Tickets not yet resolved, closed or merged."))
        outboxPending = registry.makeGauge(descriptor: .init(namespace: "concierge", metricName: "outbox_pending", unitName: "",
                                                             helpText: "Replies waiting to be sent through a platform API."))
        storeUp = registry.makeGauge(descriptor: .init(namespace: "concierge", metricName: "store_up", unitName: "",
                                                       helpText: "1 when the last scrape could read the store."))
        openConnectionsGauge = registry.makeGauge(descriptor: .init(namespace: "concierge", metricName: "open_connections",
                                                                    unitName: "", helpText: "HTTP connections open now."))
    }

    /// The label for a request path: the channel it belongs to.
    static func channel(ofPath path: String) -> String {
        if path.hasPrefix("/webhooks/rest") { return "rest" }
        if path.hasPrefix("/webhooks/telegram") { return "telegram" }
        if path.hasPrefix("/webhooks/twilio") { return "sms" }
        if path.hasPrefix("/webhooks/slack") { return "slack" }
        if path.hasPrefix("/open311/") { return "open311" }
        if path == "/staff" || path.hasPrefix("/staff/") { return "staff" }
        if path == "/metrics" { return "metrics" }
        if path == "/healthz" || path == "/readyz" { return "health" }
        return "other"
    }

    /// The request counter and latency histogram per (channel, status), made
    /// once: the registry's lookup by name and labels is slower than the count.
    private let requestSeries = Mutex<[RequestSeriesKey: (Counter, DurationHistogram)]>([:])

    private struct RequestSeriesKey: Hashable {
        var channel: String
        var status: Int
    }

    func recordRequest(channel: String, status: Int, duration: Duration) {
        let key = RequestSeriesKey(channel: channel, status: status)
        let series = requestSeries.withLock { cache in
            if let series = cache[key] { return series }
            let counter = registry.makeCounter(
                descriptor: .init(namespace: "concierge", subsystem: "http", metricName: "requests", unitName: "total",
                                  helpText: "HTTP requests answered, by channel and status."),
                labels: [("channel", channel), ("status", String(status))])
            let histogram = registry.makeDurationHistogram(
                descriptor: .init(namespace: "concierge", subsystem: "http", metricName: "request_duration",
                                  unitName: "seconds", helpText: "Time from request to response."),
                labels: [("channel", channel)], buckets: Self.latencyBuckets)
            cache[key] = (counter, histogram)
            return (counter, histogram)
        }
        series.0.increment()
        series.1.record(duration)
    }

    func recordDecision(_ decision: TriageDecision) {
        registry.makeCounter(descriptor: .init(namespace: "concierge", subsystem: "triage", metricName: "decisions", unitName: "total",
                                               helpText: "Messages triaged, by kind, category (or FAQ) and priority."),
                             labels: [("kind", decision.kind.rawValue),
                                      ("category", decision.category ?? decision.faq.map { "faq.\($0)" } ?? "none"),
                                      ("priority", decision.priority?.rawValue ?? "none")]).increment()
    }

    func recordRedelivery(channel: String) {
        registry.makeCounter(descriptor: .init(namespace: "concierge", metricName: "redeliveries", unitName: "total",
                                               helpText: "Messages delivered again by a platform, answered from the store."),
                             labels: [("channel", channel)]).increment()
    }

    /// Reads the queue depth and the outbox backlog, then renders everything.
    func exposition(store: (any TicketStore)?) async -> String {
        openConnectionsGauge.set(to: Double(openConnections.value))
        if let store, let statistics = try? await store.statistics() {
            openTickets.set(to: Double(statistics.openTickets))
            outboxPending.set(to: Double(statistics.outboxPending))
            storeUp.set(to: 1.0)
        } else {
            storeUp.set(to: 0.0)
        }
        return registry.emitToString()
    }
}
