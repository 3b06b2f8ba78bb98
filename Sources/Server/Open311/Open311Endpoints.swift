import DataPack
import Dialogue
import Foundation
import Hummingbird
import Logging
import Store
import Triage

/// The handlers behind `/open311/v2/`. Every one needs the loaded engine
/// (the data pack says what the services are): 503 while the model loads.
struct Open311Endpoints: Sendable {
    let store: any TicketStore
    let assistant: AssistantSlot
    let configuration: ServerConfiguration
    let limiter: SenderRateLimiter
    let metrics: ServerMetrics
    let logger: Logger
    let now: @Sendable () -> Date
    /// Triage is CPU work: at most `turnsInFlight` at once, in arrival order.
    let gate: TurnGate

    func engine(_ format: Open311Format) throws -> ConversationEngine {
        guard let engine = assistant.current else { throw Open311Error.starting(format: format) }
        return engine
    }

    /// The key in `api_key`, if one was given: nil without one, 403 for one
    /// that is unknown or revoked (a caller with a wrong key should know,
    /// rather than silently get less).
    func presentedKey(_ parameters: [String: String], format: Open311Format) async throws -> APIKey? {
        guard let secret = parameters["api_key"], !secret.isEmpty else { return nil }
        guard let key = try await store.apiKey(secret: secret) else {
            throw Open311Error(.forbidden, "api_key is not a valid key (unknown or revoked)", format: format)
        }
        return key
    }

    // MARK: GET

    /// `GET services.{format}`, `GET requests.{format}`.
    func topLevel(_ request: Request, document: String) async throws -> Response {
        let (name, format) = try Open311Format.split(document)
        switch name {
        case "services":
            _ = try await presentedKey(request.open311Parameters(), format: format)
            return Open311Services(pack: try engine(format).pack).list.response(format)
        case "requests":
            return try await requests(request, format: format)
        default:
            throw Open311Error(.notFound, "no Open311 resource \"\(name.prefix(80))\": there are services and requests", format: format)
        }
    }

    /// `GET services/{service_code}.{format}`: the service definition (no attributes).
    func serviceDefinition(_ request: Request, document: String) async throws -> Response {
        let (code, format) = try Open311Format.split(document)
        _ = try await presentedKey(request.open311Parameters(), format: format)
        let services = Open311Services(pack: try engine(format).pack)
        guard let category = services.category(code) else {
            throw Open311Error(.notFound, "service_code \"\(code.prefix(80))\" is not a service here (services.json lists them)", format: format)
        }
        return services.definition(category).response(format)
    }

    /// `GET requests.{format}` with its filters (see `Open311Query`).
    func requests(_ request: Request, format: Open311Format) async throws -> Response {
        let parameters = try request.open311Parameters()
        let key = try await presentedKey(parameters, format: format)
        let services = Open311Services(pack: try engine(format).pack)
        let query = try Open311Query(parameters, services: services, clock: Open311Clock(timeZoneIdentifier: services.pack.community.timezone),
                                     now: now(), format: format)
        let view = Open311RequestView(services: services, audience: Open311Audience(key: key), publicURL: configuration.publicURL)
        let tickets = try await store.searchTickets(query.search, withResidents: view.audience == .fullAccess)
        return view.document(tickets).response(format)
    }

    /// `GET requests/{service_request_id}.{format}`: a list of one request, 404 for an unknown id.
    func singleRequest(_ request: Request, document: String) async throws -> Response {
        let (id, format) = try Open311Format.split(document)
        let key = try await presentedKey(request.open311Parameters(), format: format)
        let services = Open311Services(pack: try engine(format).pack)
        let view = Open311RequestView(services: services, audience: Open311Audience(key: key), publicURL: configuration.publicURL)
        var found: [PublishedTicket] = []
        if let number = Int(id) {
            found = try await store.searchTickets(TicketSearch(numbers: [number], limit: 1), withResidents: view.audience == .fullAccess)
        }
        guard !found.isEmpty else {
            throw Open311Error(.notFound, "there is no service request \"\(id.prefix(80))\"", format: format)
        }
        return view.document(found).response(format)
    }

    // MARK: POST

    /// `POST requests.{format}`: files a ticket through the same triage as
    /// residents' messages. Needs a key (403 without a valid one); answers
    /// `[{"service_request_id", "service_notice", "account_id"}]`.
    func submit(_ request: Request, document: String) async throws -> Response {
        let (name, format) = try Open311Format.split(document)
        guard name == "requests" else {
            throw Open311Error(.notFound, "service requests are filed with POST requests.\(format.rawValue)", format: format)
        }
        let body = try await request.rawBody(limit: configuration.maxBodyBytes)
        if !body.isEmpty, request.mediaType != "application/x-www-form-urlencoded" {
            throw Open311Error.badRequest("a service request is sent as application/x-www-form-urlencoded, not \(request.mediaType ?? "an untyped body")",
                                          format: format)
        }
        // Arguments may come in the query string too (some clients put api_key there); the body's win.
        var parameters = try request.open311Parameters()
        for (name, value) in try FormBody.parse(body) { parameters[name] = value }
        guard parameters["api_key"].map({ !$0.isEmpty }) == true else {
            throw Open311Error(.forbidden, "api_key is required to file a service request", format: format)
        }
        guard let key = try await presentedKey(parameters, format: format) else {
            throw Open311Error(.forbidden, "api_key is required to file a service request", format: format)
        }
        if case .limited(let retryAfter) = limiter.admit("open311:\(key.name)", now: now()) {
            throw Open311Error(.tooManyRequests, "too many requests with this key; try again in \(retryAfter) s", format: format,
                               headers: [.retryAfter: String(retryAfter)])
        }
        let engine = try engine(format)
        let services = Open311Services(pack: engine.pack)
        let submission = try Open311Submission(parameters, services: services, format: format)
        let triager = engine.triager
        let ticket = try await gate.run {
            // Every submission becomes a ticket: explained once, now.
            let decision = try triager.triage(submission.description, explaining: .always)
            metrics.recordDecision(decision)
            let draft = try submission.draft(explained: decision, triager: triager, key: key,
                                             modelVersion: engine.modelVersion)
            return try await store.createTicket(draft, actor: "open311:\(key.name)")
        }
        logger.info("open311 request filed", metadata: ["ticket": "\(ticket.number)", "key": "\(key.name)",
                                                        "category": "\(ticket.category)", "priority": "\(ticket.priority.rawValue)"])
        let receipt: Open311Value = .object([
            Open311Field("service_request_id", .string(String(ticket.number))),
            Open311Field("service_notice", .text(serviceNotice(ticket, pack: engine.pack))),
            Open311Field("account_id", .null),
        ])
        return Open311Document(root: "service_requests", body: .list(item: "request", [receipt])).response(format)
    }

    /// What the caller is told right away: the community's emergency
    /// guidance when a safety rule fired, then the response target.
    func serviceNotice(_ ticket: Ticket, pack: DataPack) -> String? {
        var lines: [String] = []
        if let rule = ticket.safetyRule, let finding = pack.safetyRules.first(where: { $0.id == rule }),
           let guidance = pack.community.emergencyGuidance[finding.guidance]?[.en] {
            lines.append(guidance)
        }
        if let target = Open311RequestView(services: Open311Services(pack: pack), audience: .everyone).responseTarget(ticket.priority) {
            lines.append("Response target: \(target).")
        }
        return lines.isEmpty ? nil : lines.joined(separator: " ")
    }
}
