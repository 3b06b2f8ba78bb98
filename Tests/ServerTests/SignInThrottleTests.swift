import Foundation
import Testing
import TestSupport
@testable import Server

/// Password guessing is held back per client address and account, under a
/// slower ceiling per account, and guessing never locks the owner out.
@Suite struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func oneAttackerIsHeldBackAndTheOwnerIsNot() {
        let throttle = SignInThrottle()
        for second in 0..<10 { throttle.failed(account: "ivy", client: "203.0.113.9", now: start + Double(second)) }
        #expect(throttle.check(account: "ivy", client: "203.0.113.9", now: start + 10) != .allowed)
        #expect(throttle.check(account: "ivy", client: "198.51.100.7", now: start + 10) == .allowed, "ivy at her desk")
        #expect(throttle.check(account: "ana", client: "203.0.113.9", now: start + 10) == .allowed, "another account")
        // The attacker's bucket refills slowly: one guess every 10 s.
        #expect(throttle.check(account: "ivy", client: "203.0.113.9", now: start + 21) == .allowed)
    }

    @Test func manyAddressesHitTheAccountCeilingButNotTheOwnersKnownAddress() {
        let throttle = SignInThrottle()
        throttle.succeeded(account: "ivy", client: "198.51.100.7", now: start)
        // A botnet: 60 wrong guesses from 60 addresses in a minute (the ceiling: 50, then 2 a minute).
        for index in 0..<60 { throttle.failed(account: "ivy", client: "192.0.2.\(index)", now: start + Double(index)) }
        let now = start + 60
        #expect(throttle.check(account: "ivy", client: "192.0.2.200", now: now) != .allowed, "a new address is held back")
        #expect(throttle.check(account: "ivy", client: "198.51.100.7", now: now) == .allowed, "the owner's address is not")
        // Thirty days later the owner's address is no longer known.
        let later = now + SignInThrottle.trustedFor + 1
        for index in 0..<50 { throttle.failed(account: "ivy", client: "192.0.2.\(index)", now: later) }
        #expect(throttle.check(account: "ivy", client: "198.51.100.7", now: later) != .allowed)
    }

    @Test func theClientIsThePeerUnlessAProxyIsTrusted() {
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: "1.2.3.4", trusted: []) == "203.0.113.9",
                "a client cannot pick its own address")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: "1.2.3.4, 198.51.100.7", trusted: ["127.0.0.1"])
                == "198.51.100.7", "the address the proxy saw, not what the client wrote before it")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: "198.51.100.7, 10.0.0.1", trusted: ["10.0.0.1", "10.0.0.2"])
                == "198.51.100.7", "through two proxies")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: nil, trusted: ["127.0.0.1"]) == "127.0.0.1")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: nil, trusted: []) == "unknown")
    }
}

/// The same over HTTP: ten wrong passwords from one address leave the owner,
/// from another, able to sign in. (The server's clock stands still, so the
/// buckets do not refill however long the password checks take.)
@Suite(.serialized) struct SignInLockoutTests {
    static let frozen: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_790_000_000) }

    func attempt(port: Int, name: String, password: String, forwardedFor: String) async throws -> HTTPTestResponse {
        let form = try await HTTPTestClient.get(port: port, path: "/staff/login")
        let token = try #require(StaffClient.hiddenField("_login", in: form.text))
        return try await HTTPTestClient.send(
            port: port, path: "/staff/login",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "\(StaffClient.loginCookie)=\(token)"),
                      ("X-Forwarded-For", forwardedFor)],
            body: Array(StaffClient.form([("_login", token), ("name", name), ("password", password)]).utf8))
    }

    @Test func guessingFromOneAddressDoesNotLockTheOwnerOut() async throws {
        var configuration = RunningServer.configuration()
        configuration.trustedProxies = ["127.0.0.1"]
        try await RunningServer.with(configuration: configuration, now: Self.frozen) { server in
            _ = try await server.staffAccount("ivy", role: .admin)
            for _ in 0..<10 {
                let wrong = try await attempt(port: server.port, name: "ivy", password: "not the password!", forwardedFor: "203.0.113.9")
                #expect(wrong.status == 401)
            }
            let limited = try await attempt(port: server.port, name: "ivy", password: StaffClient.password, forwardedFor: "203.0.113.9")
            #expect(limited.status == 429, "the guesser's address is held back, even with the right password")
            let owner = try await attempt(port: server.port, name: "ivy", password: StaffClient.password, forwardedFor: "198.51.100.7")
            #expect(owner.status == 303, "the owner, elsewhere, signs in: \(owner.status)")
        }
    }

    @Test func withoutATrustedProxyAForgedForwardedForChangesNothing() async throws {
        try await RunningServer.with(now: Self.frozen) { server in
            _ = try await server.staffAccount("ivy", role: .admin)
            for index in 0..<10 {
                _ = try await attempt(port: server.port, name: "ivy", password: "not the password!", forwardedFor: "192.0.2.\(index)")
            }
            let limited = try await attempt(port: server.port, name: "ivy", password: "not the password!", forwardedFor: "192.0.2.99")
            #expect(limited.status == 429, "every attempt came from 127.0.0.1")
        }
    }
}
