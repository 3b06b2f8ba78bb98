import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store

/// The admin page: staff accounts (admins only). Adding an account sets a
/// starting password (scrypt, as `concierge staff add`); changing a role and
/// disabling keep at least one enabled admin (the store refuses otherwise);
/// disabling ends every session of the account.
struct StaffAdminDesk: Sendable {
    let gate: StaffGate
    let logger: Logger

    static let notices: [String: String] = [
        "added": "Account added.",
        "role": "Role changed.",
        "disabled": "Account disabled and signed out everywhere.",
    ]

    /// `GET /staff/admin`.
    func page(_ request: Request) async throws -> Response {
        try await gate.page(request, adminOnly: true) { staff in
            let done = request.staffQuery("done").flatMap { Self.notices[$0] }
            return try await render(staff, notice: done)
        }
    }

    private func render(_ staff: AuthenticatedStaff, error: String? = nil, notice: String? = nil,
                        status: HTTPResponse.Status = .ok) async throws -> Response {
        let accounts = try await gate.store.staffAccounts()
        return gate.pages.render("admin", AdminPage(staff: StaffHeader(staff), accounts: accounts,
                                                    format: gate.formatting(gate.catalog), error: error, notice: notice),
                                 status: status)
    }

    /// An admin change; a refusal by the store shows the page again with the reason.
    private func change(_ request: Request,
                        _ body: (AuthenticatedStaff, StaffForm) async throws -> Response) async throws -> Response {
        try await gate.action(request, adminOnly: true) { staff, form in
            do {
                return try await body(staff, form)
            } catch let error as StoreError {
                let status: HTTPResponse.Status
                switch error {
                case .staffAccountNotFound: status = .notFound
                case .staffNameTaken, .lastAdmin: status = .conflict
                case .invalidInput, .passwordTooShort: status = .unprocessableContent
                default: throw error
                }
                return try await render(staff, error: StaffTicketDesk.sentence(error), status: status)
            }
        }
    }

    /// `POST /staff/admin/accounts`: name, password, role.
    func add(_ request: Request) async throws -> Response {
        try await change(request) { staff, form in
            let role = StaffRole(rawValue: form.trimmed("role") ?? "staff") ?? .staff
            let account = try await gate.store.addStaffAccount(name: form.trimmed("name") ?? "", role: role,
                                                               password: form["password"] ?? "")
            logger.info("staff account added", metadata: ["staff": "\(account.name)", "by": "\(staff.account.name)"])
            return StaffResponse.redirect(to: "/staff/admin?done=added")
        }
    }

    /// `POST /staff/admin/role`: name, role.
    func role(_ request: Request) async throws -> Response {
        try await change(request) { staff, form in
            guard let role = form.trimmed("role").flatMap(StaffRole.init(rawValue:)) else {
                return try await render(staff, error: "Choose staff or admin.", status: .unprocessableContent)
            }
            let account = try await gate.store.setStaffRole(name: try form.required("name"), to: role)
            logger.info("staff role changed", metadata: ["staff": "\(account.name)", "role": "\(role.rawValue)",
                                                         "by": "\(staff.account.name)"])
            // An admin who made themselves staff can no longer see this page.
            let demotedSelf = account.id == staff.account.id && role != .admin
            return StaffResponse.redirect(to: demotedSelf ? "/staff" : "/staff/admin?done=role")
        }
    }

    /// `POST /staff/admin/disable`: name.
    func disable(_ request: Request) async throws -> Response {
        try await change(request) { staff, form in
            let name = try form.required("name")
            let account = try await gate.store.staffAccount(name: name)
            try await gate.store.disableStaffAccount(name: account.name)
            logger.info("staff account disabled", metadata: ["staff": "\(account.name)", "by": "\(staff.account.name)"])
            return StaffResponse.redirect(to: account.id == staff.account.id ? "/staff/login" : "/staff/admin?done=disabled")
        }
    }
}
