import Foundation
import Store
import TestSupport

/// A browser's side of the staff page for tests: the session cookie and the
/// CSRF token of the pages it was served, through the test server (in
/// process or over its socket).
struct StaffClient: Sendable {
    static let password = "correct horse battery staple"
    static let sessionCookie = "__Host-concierge_staff"
    static let loginCookie = "__Host-concierge_login"

    let server: RunningServer
    /// The session token (nil: signed out).
    var session: String?
    /// The CSRF token the session's pages carry.
    var csrf: String?

    var cookieHeader: [(String, String)] { session.map { [("Cookie", "\(Self.sessionCookie)=\($0)")] } ?? [] }

    func get(_ path: String) async throws -> HTTPTestResponse {
        try await server.get(path: path, headers: cookieHeader)
    }

    /// Which CSRF token a test form carries.
    enum CSRFField: Sendable {
        /// This session's.
        case session
        /// None at all.
        case missing
        /// This one.
        case token(String)
    }

    /// Posts a form, with this session's CSRF token unless `csrf` says otherwise.
    func post(_ path: String, _ fields: [(String, String)], csrf: CSRFField = .session) async throws -> HTTPTestResponse {
        let token: String? = switch csrf {
        case .session: self.csrf
        case .missing: nil
        case .token(let chosen): chosen
        }
        let all = (token.map { [("_csrf", $0)] } ?? []) + fields
        return try await server.send(path: path,
                                             headers: [("Content-Type", "application/x-www-form-urlencoded")] + cookieHeader,
                                             body: Array(StaffClient.form(all).utf8))
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(RunningServer.formEncode($0.0))=\(RunningServer.formEncode($0.1))" }.joined(separator: "&")
    }

    /// A client for a session made directly in the store (no password work).
    static func session(for account: StaffAccount, store: any TicketStore, server: RunningServer) async throws -> StaffClient {
        let issued = try await store.createSession(accountID: account.id, lifetime: 3600)
        return StaffClient(server: server, session: issued.token, csrf: issued.csrfToken)
    }

    /// Signs in through the login form, as a browser does: fetch the form
    /// (its token and cookie), post name and password, keep the session cookie.
    static func signIn(server: RunningServer, name: String, password: String = StaffClient.password) async throws -> StaffClient {
        let form = try await server.get(path: "/staff/login")
        guard let loginToken = hiddenField("_login", in: form.text) else {
            throw HTTPTestClient.Failure(description: "the login page has no _login field: \(form.text.prefix(300))")
        }
        let response = try await server.send(
            path: "/staff/login",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "\(loginCookie)=\(loginToken)")],
            body: Array(StaffClient.form([("_login", loginToken), ("name", name), ("password", password)]).utf8))
        guard response.status == 303, let session = cookie(sessionCookie, in: response), !session.isEmpty else {
            throw HTTPTestClient.Failure(description: "signing in failed: \(response.status) \(response.text.prefix(300))")
        }
        var client = StaffClient(server: server, session: session, csrf: nil)
        client.csrf = hiddenField("_csrf", in: try await client.get("/staff").text)
        return client
    }

    /// The value a `Set-Cookie` of the response gives cookie `name`.
    static func cookie(_ name: String, in response: HTTPTestResponse) -> String? {
        for header in response.setCookies where header.hasPrefix(name + "=") {
            return String(header.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    /// The value of the first hidden input named `name` in an HTML page.
    static func hiddenField(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}

extension RunningServer {
    /// An account made in the server's store with `StaffClient.password`.
    func staffAccount(_ name: String, role: StaffRole) async throws -> StaffAccount {
        try await store.addStaffAccount(name: name, role: role, password: StaffClient.password)
    }
}
