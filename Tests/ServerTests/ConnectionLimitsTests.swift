import AssistantTestSupport
import Foundation
import Server
import Testing
import TestSupport

/// Slow, silent and old clients, and too many of them, over real sockets:
/// each connection is closed once it stops making progress, HTTP/1.0 is
/// closed after its response, and the server never holds more connections
/// than its cap. (Timeouts here are short; the bounds each check waits are
/// many times longer, so a slow machine cannot fail them.)
@Suite(.serialized) struct ConnectionLimitsTests {
    static func configuration(head: Double = 0.5, body: Double = 0.5, idle: Double = 1, maximum: Int = 64) -> ServerConfiguration {
        var configuration = RunningServer.configuration()
        configuration.connections.requestHeadTimeout = head
        configuration.connections.requestBodyTimeout = body
        configuration.connections.idleTimeout = idle
        configuration.connections.maxConnections = maximum
        return configuration
    }

    static let healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test func aConnectionThatSendsNothingIsClosed() async throws {
        try await RunningServer.with(configuration: Self.configuration()) { server in
            let connection = try RawConnection(port: server.port)
            let (bytes, closed) = try await onOwnThread { connection.read(for: 15) }
            #expect(closed && bytes.isEmpty)
        }
    }

    @Test func aHeadSentOneByteAtATimeIsCutOff() async throws {
        try await RunningServer.with(configuration: Self.configuration()) { server in
            let connection = try RawConnection(port: server.port)
            // One byte every 0.1 s, each one "progress": 300 bytes would take 30 s.
            let head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + String(repeating: "a", count: 260) + "\r\n\r\n"
            let sentBeforeClose: Int = try await onOwnThread {
                for (index, character) in head.enumerated() {
                    if !connection.send(String(character)) { return index }
                    if connection.read(for: 0.1).closed { return index + 1 }
                }
                return head.count
            }
            #expect(sentBeforeClose < head.count, "the server waited for the whole dribbled head")
        }
    }

    @Test func aSlowBodyIsCutOff() async throws {
        try await RunningServer.with(configuration: Self.configuration()) { server in
            let connection = try RawConnection(port: server.port)
            connection.send("POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{")
            let closed = try await onOwnThread {
                for _ in 0..<300 {
                    if !connection.send(" ") || connection.read(for: 0.1).closed { return true }
                }
                return false
            }
            #expect(closed)
        }
    }

    @Test func keepAliveWorksThenAnIdleConnectionIsClosed() async throws {
        try await RunningServer.with(configuration: Self.configuration(idle: 1)) { server in
            let connection = try RawConnection(port: server.port)
            for _ in 0..<3 {
                #expect(connection.send(Self.healthz))
                let response = try await onOwnThread { try connection.readResponse() }
                #expect(response.status == 200, "a keep-alive connection answers request after request")
            }
            let (bytes, closed) = try await onOwnThread { connection.read(for: 15) }
            #expect(closed && bytes.isEmpty, "idle past the keep-alive timeout: closed")
        }
    }

    @Test(arguments: ["GET /healthz HTTP/1.0\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])
    func aConnectionNotKeptAliveIsClosedAfterItsResponse(request: String) async throws {
        // Long idle timeout: the close must come from the request, not from idling.
        try await RunningServer.with(configuration: Self.configuration(head: 60, idle: 60)) { server in
            let connection = try RawConnection(port: server.port)
            connection.send(request)
            let (bytes, closed) = try await onOwnThread { connection.read(for: 15) }
            let response = try HTTPTestClient.parse(bytes)
            #expect(response.status == 200 && response.headers["connection"] == "close")
            #expect(closed)
        }
        // HTTP/1.0 asking for keep-alive is kept.
        try await RunningServer.with(configuration: Self.configuration(head: 60, idle: 60)) { server in
            let connection = try RawConnection(port: server.port)
            connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await onOwnThread { try connection.readResponse() }.status == 200)
            connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await onOwnThread { try connection.readResponse() }.status == 200)
        }
    }

    @Test func neverMoreConnectionsThanTheCap() async throws {
        try await RunningServer.with(configuration: Self.configuration(head: 60, idle: 60, maximum: 3)) { server in
            let open = server.server.metrics.openConnections
            let idle = try (0..<3).map { _ in try RawConnection(port: server.port) }
            try await waitUntil { open.value == 3 }
            // Two more connect (the kernel queues them) but are not taken on.
            let waiting = try (0..<2).map { _ in try RawConnection(port: server.port) }
            waiting[0].send(Self.healthz)
            let early = try await onOwnThread { waiting[0].read(for: 1) }
            #expect(early.bytes.isEmpty && !early.closed, "not answered while the server is full")
            #expect(open.value == 3)
            // One idle connection goes: the waiting one is taken on and answered.
            idle[0].close()
            let response = try await onOwnThread { try waiting[0].readResponse() }
            #expect(response.status == 200)
            #expect(open.value <= 3)
            withExtendedLifetime((idle, waiting)) {}
        }
    }

    /// Polls `condition` for up to 15 s.
    func waitUntil(_ condition: @escaping () -> Bool) async throws {
        for _ in 0..<150 where !condition() { try await Task.sleep(for: .milliseconds(100)) }
        #expect(condition())
    }
}
