import Dialogue
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Store

/// A refusal on the Open311 API, written as GeoReport v2 writes errors:
/// `[{"code": 400, "description": "…"}]` in JSON,
/// `<errors><error><code>400</code><description>…</description></error></errors>` in XML.
struct Open311Error: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// One sentence for the integrator: what was wrong and how to fix it.
    var message: String
    /// The format to write it in (the one the request asked for).
    var format: Open311Format
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, format: Open311Format, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.format = format
        self.headers = headers
    }

    var description: String { "\(status.code): \(message)" }

    var document: Open311Document {
        Open311Document(root: "errors", body: .list(item: "error", [
            .object([Open311Field("code", .integer(status.code)), Open311Field("description", .string(message))]),
        ]))
    }

    var response: Response { document.response(format, status: status, headers: headers) }

    static func badRequest(_ message: String, format: Open311Format) -> Open311Error { Open311Error(.badRequest, message, format: format) }

    static func starting(format: Open311Format) -> Open311Error {
        Open311Error(.serviceUnavailable, "the assistant is still loading its model; try again shortly", format: format,
                     headers: [.retryAfter: "5"])
    }
}

/// Writes every error under `/open311/` in the GeoReport form, so an Open311
/// client never sees the webhooks' `{"error": {…}}` shape. Unexpected
/// failures are logged and answered 500 (store outages 503) without detail.
struct Open311ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return refusal(for: error, request: request).response
        }
    }

    func refusal(for error: any Error, request: Request) -> Open311Error {
        let format = Open311Format.of(path: request.uri.path)
        switch error {
        case let error as Open311Error:
            return error
        case let error as WebhookError:
            return Open311Error(error.status, error.message, format: format, headers: error.headers)
        case let error as HTTPError where error.status == .notFound:
            return Open311Error(.notFound, "no Open311 resource \(request.method.rawValue) \(request.uri.path.prefix(200))", format: format)
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            return Open311Error(error.status, error.status.reasonPhrase, format: format)
        case let error as StoreError:
            logger.error("store failure", metadata: ["channel": "open311", "error": "\(error)"])
            switch error {
            case .unreachable, .authenticationFailed, .databaseMissing:
                return Open311Error(.serviceUnavailable, "the ticket store is unavailable; try again later", format: format,
                                    headers: [.retryAfter: "10"])
            default:
                return Open311Error(.internalServerError, "the request could not be handled", format: format)
            }
        default:
            logger.error("internal failure", metadata: ["channel": "open311", "error": "\(error)"])
            return Open311Error(.internalServerError, "the request could not be handled", format: format)
        }
    }
}
