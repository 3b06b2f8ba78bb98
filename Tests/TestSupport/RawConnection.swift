import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a loopback port, for tests of what a slow,
/// silent or old client sees: bytes written one at a time, and whether (and
/// when) the server closes.
public final class RawConnection: @unchecked Sendable {
    private var socket: Int32

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HTTPTestClient.Failure(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(socket)
            throw HTTPTestClient.Failure(description: "connect to port \(port) failed: errno \(errno)")
        }
        setReadTimeout(0.1)
    }

    deinit { close() }

    /// Closes the connection (once).
    public func close() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
    }

    /// Writes `text`; false when the server has closed the connection.
    @discardableResult
    public func send(_ text: String) -> Bool { send(bytes: Array(text.utf8)) }

    /// Writes `bytes`; false when the server has closed the connection.
    @discardableResult
    public func send(bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Writes all of `bytes`, or throws.
    public func write(_ bytes: [UInt8]) throws {
        guard send(bytes: bytes) else {
            throw HTTPTestClient.Failure(description: "the server closed the connection before the write")
        }
    }

    /// Everything the server sends until it closes the connection (at most `seconds`).
    public func readToEnd(seconds: Double = 120) -> [UInt8] {
        read(for: seconds).bytes
    }

    /// What the server sent within `seconds`, and whether it closed the
    /// connection (end of stream or reset) in that time. Returns as soon as
    /// the connection closes, or when `until` is satisfied by the bytes read.
    public func read(for seconds: Double, until done: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], closed: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (received, true) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                return (received, true)
            }
            received.append(contentsOf: buffer[0..<count])
            if done(received) { return (received, false) }
        }
        return (received, false)
    }

    /// Reads one whole response (headers and a `Content-Length` body) within `seconds`.
    public func readResponse(within seconds: Double = 30) throws -> HTTPTestResponse {
        let (bytes, _) = read(for: seconds) { Self.isCompleteResponse($0) }
        return try HTTPTestClient.parse(bytes)
    }

    static func isCompleteResponse(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        let length = head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return text.utf8.count - text[..<end.upperBound].utf8.count >= length
    }

    private func setReadTimeout(_ seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
