import Foundation
import Store

/// The admin page: every staff account, with forms to add one, change a
/// role and disable one.
struct AdminPage: Sendable {
    struct AccountRow: Sendable {
        var name: String
        var role: String
        var isAdmin: Bool
        var created: String
        var lastLogin: String
        var disabled: String?
        var isSelf: Bool
    }

    var title = "Staff accounts"
    var staff: StaffHeader
    var accounts: [AccountRow]
    var minimumPasswordLength = StaffPassword.minimumLength
    var error: String?
    var notice: String?

    init(staff: StaffHeader, accounts: [StaffAccount], format: StaffFormatting, error: String? = nil, notice: String? = nil) {
        self.staff = staff
        self.accounts = accounts.map { account in
            AccountRow(name: account.name, role: account.role.rawValue, isAdmin: account.role == .admin,
                       created: format.time(account.createdAt), lastLogin: account.lastLoginAt.map(format.time) ?? "never",
                       disabled: account.disabledAt.map(format.time), isSelf: account.name == staff.name)
        }
        self.error = error
        self.notice = notice
    }
}

/// The sign-in page.
struct LoginPage: Sendable {
    var title = "Sign in"
    /// The login form's double-submit token (also in its cookie).
    var loginToken: String
    /// Where to go after signing in (a validated staff path).
    var next: String?
    var name: String?
    var error: String?
    var notice: String?
}

/// A page that only says something (forbidden, not found, sign-in trouble).
struct MessagePage: Sendable {
    var title: String
    var message: String
    var staff: StaffHeader?
}
