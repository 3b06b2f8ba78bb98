import Dialogue
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Store

/// A request the server refuses or cannot handle, answered with its status
/// and a JSON body: `{"error": {"code": "rate_limited", "message": "…"}}`.
/// Every refusal goes through here, so no client ever gets a 200 for a
/// request that was not handled, nor an HTML page or an empty 500.
public struct WebhookError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// A stable machine-readable code (`payload_too_large`, `bad_signature`, …).
    public var code: String
    /// One sentence for the person debugging the integration.
    public var message: String
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: [String: [String: String]] = ["error": ["code": code, "message": message]]
        var response = JSONBody.response(status, body)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func tooLarge(limit: Int) -> WebhookError {
        WebhookError(.contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }

    static func unsupportedMediaType(expected: String, got: String?) -> WebhookError {
        WebhookError(.unsupportedMediaType, code: "unsupported_media_type",
                     message: "expected Content-Type \(expected), got \(got.map { "\"\($0)\"" } ?? "none")")
    }

    static func malformed(_ detail: String) -> WebhookError {
        WebhookError(.badRequest, code: "malformed_request", message: detail)
    }

    static func unauthorized(_ detail: String, scheme: String? = nil) -> WebhookError {
        WebhookError(.unauthorized, code: "unauthorized", message: detail,
                     headers: scheme.map { [.wwwAuthenticate: $0] } ?? [:])
    }

    static func forbidden(_ detail: String) -> WebhookError {
        WebhookError(.forbidden, code: "forbidden", message: detail)
    }

    static func rateLimited(retryAfter: Int) -> WebhookError {
        WebhookError(.tooManyRequests, code: "rate_limited",
                     message: "too many messages from this sender; try again in \(retryAfter) s",
                     headers: [.retryAfter: String(retryAfter)])
    }

    static let starting = WebhookError(.serviceUnavailable, code: "starting",
                                       message: "the assistant is still loading its model; try again shortly",
                                       headers: [.retryAfter: "5"])
}

/// JSON response bodies.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `value` encoded as the body of a `status` response.
    static func response(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A 200 with a JSON body.
    static func ok(_ value: some Encodable) -> Response { response(.ok, value) }
}

extension Request {
    /// The media type of the body, lower-cased, without parameters (`application/json`).
    var mediaType: String? {
        headers[.contentType].map {
            $0.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
    }

    /// Throws 415 unless the body is `expected`.
    func requireMediaType(_ expected: String) throws {
        guard mediaType == expected else {
            throw WebhookError.unsupportedMediaType(expected: expected, got: headers[.contentType])
        }
    }

    /// The raw body bytes, at most `limit` (413 beyond: a declared length
    /// over the limit is refused before anything is read).
    func rawBody(limit: Int) async throws -> [UInt8] {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw WebhookError.tooLarge(limit: limit)
        }
        do {
            var buffer = try await body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw WebhookError.tooLarge(limit: limit)
        }
    }

    /// A header by name (case-insensitive), or nil.
    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }
}

/// Turns every error into a JSON response with the right status, and
/// records each request's channel, status and duration (metrics and one log
/// line). Outermost middleware, so nothing escapes it.
struct ObservationMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let channel = ServerMetrics.channel(ofPath: request.uri.path)
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = render(error, request: request, context: context, channel: channel)
        }
        let elapsed = ContinuousClock.now - start
        metrics.recordRequest(channel: channel, status: response.status.code, duration: elapsed)
        let level: Logger.Level = response.status.code >= 500 ? .error : .info
        if channel != "metrics" && channel != "health" && logger.logLevel <= level {
            var metadata: Logger.Metadata = [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "channel": "\(channel)",
                "status": "\(response.status.code)",
                "ms": "\(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3))",
            ]
            if response.status.code >= 500 { metadata["error"] = "internal" }
            logger.log(level: level, "request", metadata: metadata)
        }
        return response
    }

    private func render(_ error: any Error, request: Request, context: Context, channel: String) -> Response {
        let refusal: WebhookError
        switch error {
        case let error as WebhookError:
            refusal = error
        case is NIOTooManyBytesError:
            refusal = .tooLarge(limit: 0)
        case let error as HTTPError where error.status == .notFound:
            refusal = WebhookError(.notFound, code: "not_found", message: "no route for \(request.method.rawValue) \(request.uri.path)")
        case let error as HTTPError where error.status == .methodNotAllowed:
            refusal = WebhookError(.methodNotAllowed, code: "method_not_allowed",
                                   message: "\(request.method.rawValue) is not allowed on \(request.uri.path)", headers: error.headers)
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            refusal = WebhookError(error.status, code: "bad_request", message: error.status.reasonPhrase)
        case DialogueError.emptyMessage:
            refusal = .malformed("the message is empty")
        case StoreError.deliveryIDConflict:
            refusal = WebhookError(.conflict, code: "delivery_id_conflict",
                                   message: "this message id was already used by another sender; send a new id")
        case StoreError.invalidInput(let detail):
            // The channels check their input before the store; this is the backstop.
            refusal = .malformed(detail)
        case let error as StoreError:
            logger.error("store failure", metadata: ["channel": "\(channel)", "error": "\(error)"])
            switch error {
            case .unreachable, .authenticationFailed, .databaseMissing:
                refusal = WebhookError(.serviceUnavailable, code: "store_unavailable",
                                       message: "the ticket store is unavailable; try again later", headers: [.retryAfter: "10"])
            default:
                refusal = WebhookError(.internalServerError, code: "internal", message: "the message could not be handled")
            }
        default:
            logger.error("internal failure", metadata: ["channel": "\(channel)", "error": "\(error)"])
            refusal = WebhookError(.internalServerError, code: "internal", message: "the message could not be handled")
        }
        return (try? refusal.response(from: request, context: context))
            ?? Response(status: .internalServerError)
    }
}

/// `application/x-www-form-urlencoded` bodies (Twilio's webhooks).
enum FormBody {
    /// The name/value pairs in order, decoded (`+` is a space, `%XX` a byte).
    /// Throws 400 for bytes that are not UTF-8 after decoding, or a broken `%` escape.
    static func parse(_ bytes: [UInt8]) throws -> [(name: String, value: String)] {
        guard !bytes.isEmpty else { return [] }
        return try bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0])
            let value = parts.count > 1 ? try decode(parts[1]) : ""
            return (name, value)
        }
    }

    private static func decode(_ component: ArraySlice<UInt8>) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(component.count)
        var index = component.startIndex
        while index < component.endIndex {
            let byte = component[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < component.endIndex,
                      let high = hexValue(component[index + 1]), let low = hexValue(component[index + 2]) else {
                    throw WebhookError.malformed("the form body has a broken %-escape")
                }
                bytes.append(high << 4 | low)
                index += 2
            } else {
                bytes.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw WebhookError.malformed("the form body is not UTF-8")
        }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Decodes a JSON body into `T`, or throws 400 naming what was wrong.
func decodeJSON<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let DecodingError.keyNotFound(key, context) {
        throw WebhookError.malformed("\(what): missing \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\"")
    } catch let DecodingError.typeMismatch(_, context) {
        throw WebhookError.malformed("\(what): wrong type at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\"")
    } catch let DecodingError.valueNotFound(_, context) {
        throw WebhookError.malformed("\(what): null at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\"")
    } catch {
        throw WebhookError.malformed("\(what): the body is not valid JSON")
    }
}

/// Text inside XML (TwiML replies, Open311's XML documents).
enum XMLText {
    /// `text` as XML character data: markup characters escaped, and the
    /// characters XML 1.0 cannot hold (most control characters, U+FFFE, U+FFFF) dropped.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
