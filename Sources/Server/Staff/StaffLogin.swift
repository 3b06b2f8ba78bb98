import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StaffAuth
import Store

/// Signing in and out.
///
/// The login form carries a random token that is also in a short-lived
/// cookie (double submit): a post whose token and cookie differ is refused,
/// so another site cannot sign a browser in to an account of its choosing.
/// Wrong passwords are throttled per client address and account, under a
/// slower ceiling per account (`SignInThrottle`), and at most two password
/// checks (scrypt, 32 MiB each) run at once.
struct StaffLogin: Sendable {
    let gate: StaffGate
    let logger: Logger
    /// Proxies whose `X-Forwarded-For` names the client.
    let trustedProxies: Set<String>
    let throttle = SignInThrottle()
    let hashing = TurnGate(limit: 2)

    /// `GET /staff/login`.
    func form(_ request: Request) async throws -> Response {
        let next = StaffReturnPath.validated(request.staffQuery("next"))
        if try await gate.signedIn(request) != nil { return StaffResponse.redirect(to: next ?? "/staff") }
        let token = StaffCookies.token(named: StaffCookies.login, in: request) ?? SecretToken.generate()
        let notice = request.staffQuery("signedOut") != nil ? "You are signed out." : nil
        var response = gate.pages.render("login", LoginPage(loginToken: token, next: next, notice: notice))
        response.headers.append(HTTPField(name: .setCookie, value: StaffCookies.setLogin(token)))
        return response
    }

    /// `POST /staff/login`.
    func submit(_ request: Request, context: ConciergeRequestContext) async throws -> Response {
        let form = try await StaffForm.read(request)
        let next = StaffReturnPath.validated(form["next"])
        guard let cookie = StaffCookies.token(named: StaffCookies.login, in: request), let sent = form["_login"],
              SecretToken.constantTimeEquals(cookie, sent) else {
            return gate.pages.message(
                "Sign-in form expired",
                "Your browser did not send back the sign-in form's cookie. Reload the sign-in page and try again. "
                    + "The staff page's cookies are Secure: it works over HTTPS, or on localhost / 127.0.0.1.",
                status: .forbidden)
        }
        func retry(_ error: String, status: HTTPResponse.Status) -> Response {
            gate.pages.render("login", LoginPage(loginToken: cookie, next: next, name: form.trimmed("name"), error: error),
                              status: status)
        }
        guard let name = form.trimmed("name"), let password = form["password"], !password.isEmpty else {
            return retry("Enter your name and password.", status: .badRequest)
        }
        let accountKey = StaffName.key(name)
        let client = ClientAddress.of(request, context: context, trusted: trustedProxies)
        if case .limited(let retryAfter) = throttle.check(account: accountKey, client: client, now: gate.now()) {
            var response = retry("Too many sign-in attempts for this name; try again in \(retryAfter) s.", status: .tooManyRequests)
            response.headers[.retryAfter] = String(retryAfter)
            return response
        }
        let account: StaffAccount
        do {
            account = try await hashing.run { try await gate.store.authenticate(name: name, password: password) }
        } catch StoreError.wrongNameOrPassword {
            throttle.failed(account: accountKey, client: client, now: gate.now())
            logger.notice("staff sign-in refused", metadata: ["reason": "wrong name or password", "client": "\(client)"])
            return retry("Wrong name or password.", status: .unauthorized)
        } catch StoreError.staffAccountDisabled {
            logger.notice("staff sign-in refused", metadata: ["reason": "account disabled"])
            return retry("This account is disabled; ask an admin.", status: .forbidden)
        }
        if let old = StaffCookies.token(named: StaffCookies.session, in: request) {
            try await gate.store.revokeSession(token: old)
        }
        throttle.succeeded(account: accountKey, client: client, now: gate.now())
        let issued = try await gate.store.createSession(accountID: account.id, lifetime: StaffCookies.sessionLifetime)
        logger.info("staff signed in", metadata: ["staff": "\(account.name)"])
        return StaffResponse.redirect(to: next ?? "/staff",
                                      cookies: [StaffCookies.setSession(issued.token), StaffCookies.clearLogin])
    }

    /// `POST /staff/logout`: ends the session in the store and clears the cookie.
    func logout(_ request: Request) async throws -> Response {
        try await gate.action(request) { staff, _ in
            if let token = StaffCookies.token(named: StaffCookies.session, in: request) {
                try await gate.store.revokeSession(token: token)
            }
            logger.info("staff signed out", metadata: ["staff": "\(staff.account.name)"])
            return StaffResponse.redirect(to: "/staff/login?signedOut=1", cookies: [StaffCookies.clearSession])
        }
    }
}
