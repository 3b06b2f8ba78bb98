import Foundation
import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics, plus the peer
/// address of the connection (the client, or the reverse proxy in front).
public struct ConciergeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's peer; nil for requests that did not come over a socket (in-process tests).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Who sent a request, as far as the server can tell.
enum ClientAddress {
    /// The client's address: the peer's IP; or, when the peer is one of the
    /// `trusted` proxies, the right-most address in `X-Forwarded-For` that is
    /// not itself a trusted proxy (each proxy appends the address it saw, so
    /// addresses to the left of the last untrusted one may be forged by the
    /// client). `"unknown"` without a peer.
    static func resolve(peer: String?, forwardedFor: String?, trusted: Set<String>) -> String {
        guard let peer else { return "unknown" }
        guard trusted.contains(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.last { !trusted.contains($0) } ?? hops.first ?? peer
    }

    /// The client of `request` arriving with `context`.
    static func of(_ request: Request, context: ConciergeRequestContext, trusted: Set<String>) -> String {
        resolve(peer: context.remoteAddress?.ipAddress, forwardedFor: request.header("X-Forwarded-For"), trusted: trusted)
    }
}
