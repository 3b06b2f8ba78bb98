import Foundation
import Hummingbird
import StaffAuth

/// The staff page's two cookies.
///
/// Both are `Secure`, `HttpOnly` and `Path=/`, with the `__Host-` prefix (so
/// no subdomain and no plain-http page can set or overwrite them). The
/// `Secure` flag is always on: browsers keep such cookies only over HTTPS,
/// or on `localhost` / `127.0.0.1`, which they treat as secure. A deployment
/// on plain http elsewhere therefore cannot sign in; put a TLS-terminating
/// proxy in front (or reach a loopback-bound server through an SSH tunnel).
/// The login page says so when the browser dropped the cookie.
enum StaffCookies {
    /// The session token (see `TicketStore.createSession`).
    static let session = "__Host-concierge_staff"
    /// A random token the login form echoes back (double-submit), so another
    /// site cannot sign a browser in to an account of its choosing.
    static let login = "__Host-concierge_login"

    /// How long a session lasts: one working day, then staff sign in again.
    static let sessionLifetime: TimeInterval = 12 * 3600
    /// How long a login form stays usable.
    static let loginLifetime: TimeInterval = 3600

    /// The `Set-Cookie` value that stores the session token.
    static func setSession(_ token: String) -> String {
        "\(session)=\(token); Path=/; Max-Age=\(Int(sessionLifetime)); Secure; HttpOnly; SameSite=Lax"
    }

    /// The `Set-Cookie` value that removes the session cookie.
    static let clearSession = "\(session)=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"

    /// The `Set-Cookie` value for the login form's token. `Strict`: it is
    /// only ever needed on a same-site form post.
    static func setLogin(_ token: String) -> String {
        "\(login)=\(token); Path=/; Max-Age=\(Int(loginLifetime)); Secure; HttpOnly; SameSite=Strict"
    }

    static let clearLogin = "\(login)=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"

    /// The value of cookie `name` in the request, if it is well-formed as a
    /// `SecretToken` (anything else is treated as absent, without a lookup).
    static func token(named name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if SecretToken.isWellFormed(value) { return value }
            }
        }
        return nil
    }
}
