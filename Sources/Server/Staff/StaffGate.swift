import Foundation
import Hummingbird
import StaffAuth
import Store

/// Who may see and do what on the staff page.
///
/// - Pages (`page`): without a live session, a 303 to the login page (which
///   comes back here afterwards); an admin page seen by a staff account is a 403 page.
/// - Fragments the page's script fetches (`fragment`): 401 JSON without a session.
/// - Form posts (`action`): 401 JSON without a session, 403 JSON when the
///   form's `_csrf` field is not this session's CSRF token (checked in
///   constant time, before anything is read or changed), 403 JSON for an
///   admin action by a staff account.
///
/// A session is live when its cookie's token is one the store issued, not
/// expired, not revoked, and its account is not disabled
/// (`TicketStore.session(token:)`).
struct StaffGate: Sendable {
    let store: any TicketStore
    let pages: StaffPages
    let assistant: AssistantSlot
    let now: @Sendable () -> Date

    /// The categories and time zone of the loaded data pack (empty while loading).
    var catalog: StaffCatalog { StaffCatalog(pack: assistant.current?.pack) }

    /// Formatting for a page rendered now.
    func formatting(_ catalog: StaffCatalog) -> StaffFormatting {
        StaffFormatting(now: now(), timeZoneIdentifier: catalog.timeZone)
    }

    /// The signed-in staff member, or nil.
    func signedIn(_ request: Request) async throws -> AuthenticatedStaff? {
        guard let token = StaffCookies.token(named: StaffCookies.session, in: request) else { return nil }
        return try await store.session(token: token)
    }

    /// A page for signed-in staff (admins only when `adminOnly`).
    func page(_ request: Request, adminOnly: Bool = false,
              _ body: (AuthenticatedStaff) async throws -> Response) async throws -> Response {
        guard let staff = try await signedIn(request) else {
            return StaffResponse.redirect(to: StaffReturnPath.login(returningTo: StaffReturnPath.of(request)))
        }
        if adminOnly, staff.account.role != .admin {
            return pages.message("Admins only", "Only admin accounts manage staff accounts.", staff: StaffHeader(staff),
                                 status: .forbidden)
        }
        return try await body(staff)
    }

    /// Something the page's script fetches: 401 JSON without a session.
    func fragment(_ request: Request, _ body: (AuthenticatedStaff) async throws -> Response) async throws -> Response {
        guard let staff = try await signedIn(request) else { throw StaffRefusal.signedOut }
        return try await body(staff)
    }

    /// A form post: session, then CSRF token, then role, then `body`.
    func action(_ request: Request, adminOnly: Bool = false,
                _ body: (AuthenticatedStaff, StaffForm) async throws -> Response) async throws -> Response {
        guard let staff = try await signedIn(request) else { throw StaffRefusal.signedOut }
        let form = try await StaffForm.read(request)
        guard let sent = form[StaffForm.csrfField], SecretToken.constantTimeEquals(sent, staff.session.csrfToken) else {
            throw StaffRefusal.badCSRFToken
        }
        if adminOnly, staff.account.role != .admin { throw StaffRefusal.adminsOnly }
        return try await body(staff, form)
    }
}

/// The JSON refusals of the staff page's posts and fragments.
enum StaffRefusal {
    static let signedOut = WebhookError(.unauthorized, code: "signed_out",
                                        message: "no valid staff session: sign in at /staff/login")
    static let badCSRFToken = WebhookError(.forbidden, code: "csrf",
                                           message: "the form's CSRF token is missing or is not this session's; reload the page and try again")
    static let adminsOnly = WebhookError(.forbidden, code: "admins_only", message: "only admin accounts manage staff accounts")
}
