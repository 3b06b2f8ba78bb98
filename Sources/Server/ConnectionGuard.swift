import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// How long a client may hold a connection without making progress, and how
/// many connections the server keeps open at once.
///
/// A slow or silent client (one header byte every few seconds, or nothing at
/// all after connecting) would otherwise hold a file descriptor for as long
/// as it likes; a thousand of them exhaust the process's descriptors.
public struct ConnectionLimits: Sendable, Equatable {
    /// Seconds from a connection opening, or from the first byte of a
    /// following request, to the end of the request head; then it is closed.
    public var requestHeadTimeout: Double = 10
    /// Seconds from the end of the request head to the end of its body.
    public var requestBodyTimeout: Double = 30
    /// Seconds a keep-alive connection may wait, idle, for its next request
    /// after a response.
    public var idleTimeout: Double = 30
    /// Connections open at once. Beyond it the server stops accepting: new
    /// connections wait in the kernel's listen queue (holding no descriptor
    /// of the server's) until one closes.
    public var maxConnections = 512

    public init() {}
}

/// Hummingbird's HTTP/1.1 child channel with ``ConnectionLimits`` enforced:
/// the request-head, request-body and idle timeouts, and `Connection: close`
/// honoured (HTTP/1.0 without keep-alive, or a client that asks) by closing
/// the connection once the response is written.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let watch = ConnectionWatch(limits: limits)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteArrivalHandler(watch: watch), position: .first)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(RequestProgressHandler(watch: watch), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with ``ConnectionLimits``.
    static func guardedHTTP1(_ limits: ConnectionLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(http1: HTTP1Channel(responder: responder), limits: limits)
        }
    }
}

/// The phase of one connection and its single deadline. Lives on the
/// connection's event loop: both handlers below call it from there only.
final class ConnectionWatch {
    enum Phase {
        /// Waiting for the first byte of the next request (after a response).
        case idle
        /// Reading a request head (from the connection opening or its first byte).
        case readingHead
        /// The head is in; reading the body.
        case readingBody
        /// The request is in; the server is answering (no deadline).
        case answering
    }

    let limits: ConnectionLimits
    private(set) var phase = Phase.readingHead
    /// Whether the connection is kept open after the response being written.
    var keepAlive = true
    private var deadline: Scheduled<Void>?

    init(limits: ConnectionLimits) { self.limits = limits }

    /// Enters `phase`, replacing the deadline with the phase's own.
    func enter(_ phase: Phase, context: ChannelHandlerContext) {
        self.phase = phase
        deadline?.cancel()
        deadline = nil
        let seconds: Double? = switch phase {
        case .idle: limits.idleTimeout
        case .readingHead: limits.requestHeadTimeout
        case .readingBody: limits.requestBodyTimeout
        case .answering: nil
        }
        guard let seconds else { return }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            channel.close(promise: nil)
        }
    }

    func stop() {
        deadline?.cancel()
        deadline = nil
    }
}

/// First in the pipeline: the first byte of a request after an idle wait
/// starts the request-head deadline.
final class ByteArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let watch: ConnectionWatch

    init(watch: ConnectionWatch) { self.watch = watch }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { watch.enter(.readingHead, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        watch.enter(.readingHead, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if watch.phase == .idle { watch.enter(.readingHead, context: context) }
        context.fireChannelRead(data)
    }
}

/// After the HTTP/1 decoder: moves the deadline along as the request head,
/// body and response go by, and closes the connection after a response
/// when the request did not ask to keep it alive (HTTP/1.0 without
/// `Connection: keep-alive`, or `Connection: close`).
final class RequestProgressHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let watch: ConnectionWatch

    init(watch: ConnectionWatch) { self.watch = watch }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            watch.keepAlive = head.isKeepAlive
            watch.enter(.readingBody, context: context)
        case .body:
            break
        case .end:
            watch.enter(.answering, context: context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where !watch.keepAlive:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where !watch.keepAlive:
            let written = context.eventLoop.makePromise(of: Void.self)
            let channel = context.channel
            context.writeAndFlush(data, promise: written)
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            promise.map { written.futureResult.cascade(to: $0) }
        case .end:
            context.write(data, promise: promise)
            // A response before the body was read (a refusal) leaves the body's deadline running.
            if watch.phase == .answering { watch.enter(.idle, context: context) }
        default:
            context.write(data, promise: promise)
        }
    }
}

/// Counts open connections for the accept loop (``ConnectionLimits/maxConnections``)
/// and for `/metrics`.
struct ConnectionCap: AvailableConnectionsDelegate {
    let maximum: Int
    let open: OpenConnections

    mutating func connectionOpened() { open.count.add(1, ordering: .relaxed) }
    mutating func connectionClosed() { open.count.subtract(1, ordering: .relaxed) }
    func isAcceptingNewConnections() -> Bool { open.count.load(ordering: .relaxed) < maximum }
}

/// The number of connections open now.
public final class OpenConnections: Sendable {
    let count = Atomic<Int>(0)

    public init() {}

    public var value: Int { count.load(ordering: .relaxed) }
}
