import Foundation
import StaffAuth

/// What a staff account may do on the staff web page.
public enum StaffRole: String, CaseIterable, Codable, Sendable {
    /// Works tickets.
    case staff
    /// Works tickets and manages staff accounts.
    case admin
}

/// A person who signs in to the staff web page. The password hash never
/// leaves the store.
public struct StaffAccount: Sendable, Equatable, Codable {
    public var id: Int64
    /// The name as it was given when the account was made (unique ignoring case).
    public var name: String
    public var role: StaffRole
    public var createdAt: Date
    /// When the account was disabled; it cannot sign in afterwards.
    public var disabledAt: Date?
    /// The last successful sign-in.
    public var lastLoginAt: Date?

    /// Whether the account was disabled.
    public var isDisabled: Bool { disabledAt != nil }
}

/// The rules for staff account names.
///
/// A name is 1 to 64 letters (any script), digits, `.`, `_`, `-` or `@`,
/// without spaces; surrounding whitespace is dropped. Names are unique
/// ignoring case (`Ivy` and `ivy` are one account).
public enum StaffName {
    public static let maximumLength = 64

    /// The name to store (trimmed, Unicode NFC), or `StoreError.invalidInput` saying what is wrong.
    public static func validated(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
        if trimmed.isEmpty { throw StoreError.invalidInput("a staff account needs a name") }
        if trimmed.count > maximumLength {
            throw StoreError.invalidInput("a staff account name has at most \(maximumLength) characters, \"\(trimmed.prefix(20))…\" has \(trimmed.count)")
        }
        if let bad = trimmed.unicodeScalars.first(where: { !isAllowed($0) }) {
            let shown = bad.properties.isWhitespace ? "a space" : "\"\(bad)\""
            throw StoreError.invalidInput("a staff account name may hold letters, digits, \".\", \"_\", \"-\" and \"@\", not \(shown): \"\(trimmed)\"")
        }
        return trimmed
    }

    /// The name case-folded, for lookups and uniqueness (the same in both engines).
    public static func key(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCompatibilityMapping.lowercased()
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        if "._-@".unicodeScalars.contains(scalar) { return true }
        if scalar.properties.isAlphabetic { return true }
        return scalar.properties.numericType != nil && scalar.properties.generalCategory == .decimalNumber
    }
}

/// The rules for staff passwords: at least 12 characters (a passphrase of a
/// few words is the intended shape), at most 1,024, and no line breaks or
/// other control characters (which no login form can submit).
public enum StaffPassword {
    public static let minimumLength = 12
    public static let maximumLength = 1024

    /// Throws `StoreError.passwordTooShort` or `.invalidInput` when `password` breaks a rule.
    public static func validate(_ password: String) throws {
        if password.count < minimumLength { throw StoreError.passwordTooShort(minimum: minimumLength) }
        if password.count > maximumLength {
            throw StoreError.invalidInput("the password is too long: at most \(maximumLength) characters")
        }
        if password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw StoreError.invalidInput("the password must not contain line breaks, tabs or other control characters")
        }
    }
}

extension TicketStore {
    // MARK: Staff accounts

    /// Makes a staff account. The password must pass `StaffPassword.validate`
    /// and is stored as a `hasher` hash (scrypt; tests pass cheaper parameters).
    /// Throws `StoreError.staffNameTaken` when the name exists, ignoring case.
    @discardableResult
    public func addStaffAccount(name: String, role: StaffRole = .staff, password: String,
                                hasher: PasswordHasher = PasswordHasher()) async throws -> StaffAccount {
        let name = try StaffName.validated(name)
        try StaffPassword.validate(password)
        let hash = try await StaffWork.offload { try hasher.hash(password) }
        return try await run(StoreOperation(.write) { session, context in
            let now = Date(millisecondsSince1970: context.now.millisecondsSince1970)
            // ON CONFLICT: a concurrent insert of the same name waits, then finds it taken.
            guard let row = try session.queryOne("""
                INSERT INTO staff_accounts (name, name_key, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (name_key) DO NOTHING RETURNING id
                """, [.text(name), .text(StaffName.key(name)), .text(role.rawValue), .text(hash), .date(now)]) else {
                throw StoreError.staffNameTaken(name)
            }
            return StaffAccount(id: try row.required(row.int64("id"), "id"), name: name, role: role, createdAt: now,
                                disabledAt: nil, lastLoginAt: nil)
        })
    }

    /// Every staff account, disabled ones too, by name.
    public func staffAccounts() async throws -> [StaffAccount] {
        try await run(StoreOperation(.read) { session, _ in
            try session.query("SELECT \(StaffAccount.columns) FROM staff_accounts ORDER BY name_key", []).map(StaffAccount.init(row:))
        })
    }

    /// The account named `name` (ignoring case); throws `StoreError.staffAccountNotFound`.
    public func staffAccount(name: String) async throws -> StaffAccount {
        try await run(StoreOperation(.read) { session, _ in try session.findStaffAccount(name: name) })
    }

    /// Changes an account's role. Throws `StoreError.lastAdmin` rather than
    /// leave no enabled admin.
    @discardableResult
    public func setStaffRole(name: String, to role: StaffRole) async throws -> StaffAccount {
        try await run(StoreOperation(.write) { session, _ in
            let admins = try session.lockEnabledAdmins()
            var account = try session.findStaffAccount(name: name, forUpdate: true)
            if account.role == role { return account }
            if account.role == .admin, !account.isDisabled, admins.allSatisfy({ $0 == account.id }) {
                throw StoreError.lastAdmin(account.name)
            }
            try session.execute("UPDATE staff_accounts SET role = ? WHERE id = ?", [.text(role.rawValue), .integer(account.id)])
            account.role = role
            return account
        })
    }

    /// Sets a new password (checked by `StaffPassword.validate`) and ends
    /// every session of the account, so a stolen cookie stops working too.
    /// Returns how many sessions it ended.
    @discardableResult
    public func setStaffPassword(name: String, to password: String, hasher: PasswordHasher = PasswordHasher()) async throws -> Int {
        try StaffPassword.validate(password)
        _ = try await staffAccount(name: name) // a wrong name fails before the hashing work
        let hash = try await StaffWork.offload { try hasher.hash(password) }
        return try await run(StoreOperation(.write) { session, context in
            let account = try session.findStaffAccount(name: name, forUpdate: true)
            try session.execute("UPDATE staff_accounts SET password_hash = ? WHERE id = ?", [.text(hash), .integer(account.id)])
            return try session.revokeStaffSessions(accountID: account.id, now: context.now)
        })
    }

    /// Disables an account and ends all its sessions, in one transaction.
    /// Disabling a disabled account changes nothing but still ends any
    /// session. Throws `StoreError.lastAdmin` for the only enabled admin.
    /// Returns how many sessions it ended.
    @discardableResult
    public func disableStaffAccount(name: String) async throws -> Int {
        try await run(StoreOperation(.write) { session, context in
            let now = context.now
            let admins = try session.lockEnabledAdmins()
            let account = try session.findStaffAccount(name: name, forUpdate: true)
            if !account.isDisabled {
                if account.role == .admin, admins.allSatisfy({ $0 == account.id }) { throw StoreError.lastAdmin(account.name) }
                try session.execute("UPDATE staff_accounts SET disabled_at = ? WHERE id = ?", [.date(now), .integer(account.id)])
            }
            return try session.revokeStaffSessions(accountID: account.id, now: now)
        })
    }

    /// Checks a name and password and records the sign-in. An unknown name
    /// and a wrong password both throw `StoreError.wrongNameOrPassword` after
    /// the same hashing work, so the answer does not tell which names exist;
    /// a right password for a disabled account throws `staffAccountDisabled`.
    /// A hash made with other parameters than `hasher`'s is replaced by a new
    /// one. The hashing runs off the concurrency pool, outside any transaction.
    public func authenticate(name: String, password: String, hasher: PasswordHasher = PasswordHasher()) async throws -> StaffAccount {
        let key = StaffName.key(name)
        let stored = try await run(StoreOperation(.read) { session, _ in
            try session.queryOne("SELECT \(StaffAccount.columns), password_hash FROM staff_accounts WHERE name_key = ?",
                                 [.text(key)]).map { row in
                StoredCredentials(account: try StaffAccount(row: row),
                                  passwordHash: try row.required(row.string("password_hash"), "password_hash"))
            }
        })
        guard let stored else {
            _ = try? await StaffWork.offload { hasher.spendVerificationWork(password) }
            throw StoreError.wrongNameOrPassword
        }
        let check: PasswordCheck
        do {
            check = try await StaffWork.offload { try hasher.verify(password, against: stored.passwordHash) }
        } catch let error as PasswordHashError {
            throw StoreError.database("the password of staff account \"\(stored.account.name)\" is stored unusably (\(error.reason)); "
                                      + "set a new one with `concierge staff passwd \(stored.account.name)`")
        }
        guard case .match(let needsRehash) = check else { throw StoreError.wrongNameOrPassword }
        if stored.account.isDisabled { throw StoreError.staffAccountDisabled(stored.account.name) }
        let newHash: String? = needsRehash ? try await StaffWork.offload { try hasher.hash(password) } : nil
        return try await run(StoreOperation(.write) { session, context in
            try session.recordLogin(account: stored.account, verifiedHash: stored.passwordHash, newHash: newHash, now: context.now)
        })
    }
}

/// Runs CPU-heavy work (scrypt: tens of milliseconds and 32 MiB) on a
/// Dispatch thread, so it does not hold one of the few threads of Swift's
/// concurrency pool.
enum StaffWork {
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// An account row with its password hash, for `authenticate` only.
struct StoredCredentials: Sendable {
    var account: StaffAccount
    var passwordHash: String
}

extension StaffAccount {
    /// The columns `StaffAccount(row:)` reads (never the password hash).
    static let columns = "id, name, role, created_at, disabled_at, last_login_at"

    init(row: SQLRow) throws {
        let roleName = try row.required(row.string("role"), "role")
        guard let role = StaffRole(rawValue: roleName) else { throw StoreError.database("a staff account has an unknown role \(roleName)") }
        self.init(id: try row.required(row.int64("id"), "id"), name: try row.required(row.string("name"), "name"), role: role,
                  createdAt: try row.required(row.date("created_at"), "created_at"),
                  disabledAt: row.date("disabled_at"), lastLoginAt: row.date("last_login_at"))
    }
}

extension SQLSession {
    /// The account named `name` ignoring case (locked on PostgreSQL when `forUpdate`).
    fileprivate func findStaffAccount(name: String, forUpdate: Bool = false) throws -> StaffAccount {
        guard let row = try queryOne("SELECT \(StaffAccount.columns) FROM staff_accounts WHERE name_key = ?\(forUpdate ? "{forUpdate}" : "")",
                                     [.text(StaffName.key(name))]) else {
            throw StoreError.staffAccountNotFound(name.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return try StaffAccount(row: row)
    }

    /// Locks the enabled admin accounts (PostgreSQL; SQLite's write
    /// transaction is already exclusive) and returns their ids. Every change
    /// that can remove an admin takes this lock first, in id order, so two
    /// admins demoting each other at once cannot both succeed.
    fileprivate func lockEnabledAdmins() throws -> [Int64] {
        try query("SELECT id FROM staff_accounts WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id{forUpdate}", [])
            .compactMap { $0.int64("id") }
    }

    /// Records a sign-in whose password was checked against `verifiedHash`,
    /// storing `newHash` when given. If the password changed or the account
    /// was disabled since the check, the sign-in is refused.
    fileprivate func recordLogin(account: StaffAccount, verifiedHash: String, newHash: String?, now: Date) throws -> StaffAccount {
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        let changed = try execute("""
            UPDATE staff_accounts SET last_login_at = ?, password_hash = ?
            WHERE id = ? AND password_hash = ? AND disabled_at IS NULL
            """, [.date(now), .text(newHash ?? verifiedHash), .integer(account.id), .text(verifiedHash)])
        guard changed == 1 else {
            let current = try findStaffAccount(name: account.name)
            if current.isDisabled { throw StoreError.staffAccountDisabled(current.name) }
            throw StoreError.wrongNameOrPassword
        }
        var account = account
        account.lastLoginAt = now
        return account
    }
}
