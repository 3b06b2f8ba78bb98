import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response read off the wire by `HTTPTestClient`.
public struct HTTPTestResponse: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// Every `Set-Cookie` header, in order (`headers` keeps only the last of a repeated header).
    public var setCookies: [String] = []

    public init(status: Int, headers: [String: String], body: [UInt8], setCookies: [String] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.setCookies = setCookies
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON (nil when it is not JSON).
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }

    /// The `{"error": {"code": …}}` code of a JSON error body.
    public var errorCode: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
}

/// A deliberately plain HTTP/1.1 client over a POSIX socket: it sends
/// exactly the bytes a test asks for (no default Content-Type, no retries,
/// no redirects), so tests can send what a hostile client would.
///
/// The socket calls block, so each exchange runs on a thread of its own:
/// blocking one of the machine's few concurrency threads would starve the
/// server under test, which answers on those same threads.
public enum HTTPTestClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Sends one request to 127.0.0.1:`port` with `Connection: close` and reads the whole response.
    public static func send(port: Int, method: String = "POST", path: String, headers: [(String, String)] = [],
                            body: [UInt8] = [], declaredLength: Int? = nil) async throws -> HTTPTestResponse {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || declaredLength != nil {
            request += "Content-Length: \(declaredLength ?? body.count)\r\n"
        }
        request += "\r\n"
        let bytes = Array(request.utf8) + body
        return try await onOwnThread { try exchangeBlocking(port: port, bytes: bytes) }
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    public static func postJSON(port: Int, path: String, json: Any, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try await send(port: port, path: path, headers: [("Content-Type", "application/json")] + headers, body: Array(body))
    }

    /// A GET.
    public static func get(port: Int, path: String, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await send(port: port, method: "GET", path: path, headers: headers)
    }

    /// Writes raw bytes and parses what comes back (for malformed requests).
    public static func exchange(port: Int, bytes: [UInt8]) async throws -> HTTPTestResponse {
        try await onOwnThread { try exchangeBlocking(port: port, bytes: bytes) }
    }

    static func exchangeBlocking(port: Int, bytes: [UInt8]) throws -> HTTPTestResponse {
        let connection = try RawConnection(port: port)
        // The server may answer (413) and close before reading everything: read what it said.
        connection.send(bytes: bytes)
        return try parse(connection.readToEnd(seconds: 120))
    }

    /// Parses a whole response as read off a socket.
    public static func parse(_ bytes: [UInt8]) throws -> HTTPTestResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw Failure(description: "no complete HTTP response (\(bytes.count) bytes): \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(head[0])") }
        var headers: [String: String] = [:]
        var setCookies: [String] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = value
            if name == "set-cookie" { setCookies.append(value) }
        }
        var body = Array(bytes[(headerEnd + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        else if let length = headers["content-length"].flatMap(Int.init), body.count > length { body = Array(body[0..<length]) }
        return HTTPTestResponse(status: status, headers: headers, body: body, setCookies: setCookies)
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16)
            else { throw Failure(description: "bad chunked body") }
            if size == 0 { break }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { throw Failure(description: "truncated chunk") }
            result.append(contentsOf: bytes[start..<start + size])
            index = start + size + 2
        }
        return result
    }
}

/// Runs blocking `body` on a new thread and waits for it without holding a
/// concurrency thread.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
