import HTTPTypes
import Hummingbird

/// Open311 GeoReport v2, the API city systems and dashboards already speak,
/// in JSON (`.json`) and XML (`.xml`):
///
/// | Route | What |
/// |---|---|
/// | `GET /open311/v2/services.json` | the data pack's categories as services |
/// | `GET /open311/v2/services/{service_code}.json` | a service definition (no attributes) |
/// | `GET /open311/v2/requests.json` | tickets: `service_request_id`, `service_code`, `start_date`, `end_date`, `status` |
/// | `GET /open311/v2/requests/{service_request_id}.json` | one ticket |
/// | `POST /open311/v2/requests.json` | files a ticket through the triage (needs `api_key`) |
///
/// Reading needs no key and shows the public view; a `full` key (`api_key=`)
/// adds priorities, descriptions, units and residents' contact details (see
/// `Open311RequestView`). `jurisdiction_id` is accepted and ignored: one
/// server serves one community. Errors are GeoReport's
/// `[{"code": 400, "description": "…"}]`, with 400, 403, 404 (and 413, 429, 503).
extension ConciergeServer {
    /// Adds the `/open311/` routes and their error middleware to `router`;
    /// filings triage behind `gate`, the one the webhooks use.
    func addOpen311Routes(to router: Router<ConciergeRequestContext>, gate: TurnGate) {
        let endpoints = Open311Endpoints(store: store, assistant: assistant, configuration: configuration, limiter: limiter,
                                         metrics: metrics, logger: logger, now: now, gate: gate)
        let group = router.group("open311")
        group.add(middleware: Open311ErrorMiddleware(logger: logger))
        group.get("v2/:document") { request, context in
            try await endpoints.topLevel(request, document: context.parameters.require("document"))
        }
        group.post("v2/:document") { request, context in
            try await endpoints.submit(request, document: context.parameters.require("document"))
        }
        group.get("v2/services/:document") { request, context in
            try await endpoints.serviceDefinition(request, document: context.parameters.require("document"))
        }
        group.get("v2/requests/:document") { request, context in
            try await endpoints.singleRequest(request, document: context.parameters.require("document"))
        }
        // Any other method on these paths, and any other path under /open311/, in GeoReport's error form.
        let allowed: [(path: RouterPath, methods: [HTTPRequest.Method])] = [
            ("v2/:document", [.get, .post]), ("v2/services/:document", [.get]), ("v2/requests/:document", [.get]),
        ]
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        for route in allowed {
            for method in methods where !route.methods.contains(method) {
                group.on(route.path, method: method) { request, _ -> Response in
                    let names = route.methods.map(\.rawValue).joined(separator: " and ")
                    throw Open311Error(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path.prefix(200)); use \(names)",
                                       format: Open311Format.of(path: request.uri.path), headers: [.allow: route.methods.map(\.rawValue).joined(separator: ", ")])
                }
            }
        }
        // The trie does not fall back to `**` from a path that ends on a
        // branch of a longer route (`v2/services`), so those get the 404 too.
        for path: RouterPath in ["**", "", "v2", "v2/services", "v2/requests"] {
            for method in methods {
                group.on(path, method: method) { request, _ -> Response in
                    throw Open311Error(.notFound, "no Open311 resource \(request.uri.path.prefix(200)): the API is under /open311/v2/, "
                                       + "as services.json and requests.json", format: Open311Format.of(path: request.uri.path))
                }
            }
        }
    }
}
