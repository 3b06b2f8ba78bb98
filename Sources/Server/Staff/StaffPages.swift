import HTTPTypes
import Hummingbird
import Mustache

/// Renders the staff page's templates into responses.
struct StaffPages: Sendable {
    let library: MustacheLibrary

    /// Parses the compiled-in templates.
    init() throws { library = try StaffTemplates.library() }

    /// `template` rendered with `view` as an HTML response.
    func render(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            return StaffResponse.html("<!doctype html><title>Error</title><p>The page template \(template) is missing.</p>",
                                      status: .internalServerError)
        }
        return StaffResponse.html(html, status: status)
    }

    /// A page that only says something, with `status`.
    func message(_ title: String, _ text: String, staff: StaffHeader? = nil, status: HTTPResponse.Status) -> Response {
        render("message", MessagePage(title: title, message: text, staff: staff), status: status)
    }
}

/// Headers on every staff page response, errors included:
///
/// - a Content-Security-Policy allowing scripts, styles, images and fetches
///   from this server only, no inline script or style, no framing
///   (`frame-ancestors 'none'`), forms posting only here;
/// - `X-Frame-Options: DENY` for browsers without `frame-ancestors`;
/// - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`;
/// - `Cache-Control: no-store` (the pages hold residents' data), except for
///   the static stylesheet and script, which say `no-cache` themselves.
struct StaffSecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.staffFrameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.staffReferrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    /// `X-Frame-Options` (not among swift-http-types' names).
    static let staffFrameOptions = HTTPField.Name("X-Frame-Options")!
    /// `Referrer-Policy`.
    static let staffReferrerPolicy = HTTPField.Name("Referrer-Policy")!
}
