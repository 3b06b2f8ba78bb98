import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests that talk to a platform's
/// API (Slack, Telegram, Twilio) without the network.
///
/// It binds port 0 (the system picks a free port; see `port` and `baseURL`),
/// accepts connections on its own thread and serves each on another thread:
/// one request per connection (request line, headers, a `Content-Length`
/// body), one answer, `Connection: close`. Answers come from a scripted
/// queue per path (`enqueue`), else from the handler closure, else 404.
/// Every request is recorded (`requests`). A handler may block — to hold an
/// answer back until the test releases it — without stopping other connections.
/// Call `stop()` when done (the accepting thread keeps the server alive until then).
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// One request as it arrived.
    public struct Request: Sendable, CustomStringConvertible {
        public var method: String
        /// The request target: path and query, as sent (`/api/chat.postMessage`).
        public var path: String
        /// Header names are lower-cased; a repeated header keeps its last value.
        public var headers: [String: String]
        public var body: Data

        /// The header's value (any case of `name`).
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as a JSON object, or nil.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        /// The body parsed as `application/x-www-form-urlencoded` fields (decoded), or nil when a field is malformed.
        public var form: [String: String]? {
            var fields: [String: String] = [:]
            for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2,
                      let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                      let value = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
                else { return nil }
                fields[name] = value
            }
            return fields
        }
        public var description: String { "\(method) \(path) (\(body.count) bytes)" }
    }

    /// An answer to send.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// A JSON answer (`Content-Type: application/json`).
        public static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> Response {
            var headers = headers
            headers["Content-Type"] = "application/json; charset=utf-8"
            return Response(status: status, headers: headers, body: Data(text.utf8))
        }
    }

    /// Thrown when the socket cannot be set up.
    public struct SetupError: Error, CustomStringConvertible {
        public var step: String
        public var code: Int32
        public var description: String { "loopback HTTP server: \(step) failed: \(String(cString: strerror(code)))" }
    }

    /// The port the server listens on (127.0.0.1).
    public let port: UInt16
    /// `http://127.0.0.1:PORT`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private let listener: Int32
    private let handler: (@Sendable (Request) -> Response)?
    private let lock = NSCondition()
    private var scripted: [String: [Response]] = [:]
    private var recorded: [Request] = []
    private var stopped = false

    /// Starts listening. `handler` answers requests no scripted answer is queued for.
    public init(handler: (@Sendable (Request) -> Response)? = nil) throws {
        self.handler = handler
        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, socketType, 0)
        guard fd >= 0 else { throw SetupError(step: "socket", code: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let code = errno; close(fd); throw SetupError(step: "bind", code: code) }
        guard listen(fd, 64) == 0 else { let code = errno; close(fd); throw SetupError(step: "listen", code: code) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { let code = errno; close(fd); throw SetupError(step: "getsockname", code: code) }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "loopback-http-\(port)"
        thread.start()
    }

    /// Queues `response` as the answer to the next request for `path` (answers are used in order).
    public func enqueue(_ response: Response, for path: String) {
        lock.withLock { scripted[path, default: []].append(response) }
    }

    /// Every request received so far, in the order they arrived.
    public var requests: [Request] { lock.withLock { recorded } }

    /// Waits until at least `count` requests have arrived; false if they have
    /// not after `timeout` seconds (a safety net against a hanging test, not a timing check).
    public func waitForRequests(_ count: Int, timeout: TimeInterval = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if lock.withLock({ recorded.count >= count }) { return true }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return lock.withLock { recorded.count >= count }
    }

    /// Stops accepting connections. Connections being served finish.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        #if canImport(Glibc)
        shutdown(listener, Int32(SHUT_RDWR))
        #else
        shutdown(listener, SHUT_RDWR)
        #endif
        close(listener)
    }

    private func acceptLoop() {
        while !lock.withLock({ stopped }) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            if lock.withLock({ stopped }) { close(connection); return }
            #if canImport(Darwin)
            var yes: Int32 = 1
            setsockopt(connection, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let request = readRequest(connection) else { return }
        let response: Response = lock.withLock {
            recorded.append(request)
            if var queue = scripted[request.path], !queue.isEmpty {
                let next = queue.removeFirst()
                scripted[request.path] = queue
                return next
            }
            return nil
        } ?? handler?(request) ?? Response.json(404, "{\"error\":\"no scripted answer for \(request.path)\"}")
        write(connection, Self.encode(response))
    }

    /// Reads one request: head up to the blank line, then `Content-Length` bytes.
    private func readRequest(_ connection: Int32) -> Request? {
        var buffer = Data()
        let separator = Data("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headEnd: Range<Data.Index>?
        while headEnd == nil {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            headEnd = buffer.range(of: separator)
            if buffer.count > 1 << 20 { return nil }
        }
        guard let headEnd else { return nil }
        let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Data(buffer[headEnd.upperBound...])
        if body.count < length, headers["expect"]?.lowercased() == "100-continue" {
            write(connection, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while body.count < length {
            let count = recv(connection, &chunk, min(chunk.count, length - body.count), 0)
            guard count > 0 else { return nil }
            body.append(contentsOf: chunk[0..<count])
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body.prefix(length))
    }

    private func write(_ connection: Int32, _ data: Data) {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let sent = send(connection, bytes.baseAddress! + offset, bytes.count - offset, flags)
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    private static func encode(_ response: Response) -> Data {
        var head = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key })
        where name.lowercased() != "content-length" && name.lowercased() != "connection" {
            head += "\(name): \(value)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        return Data(head.utf8) + response.body
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
