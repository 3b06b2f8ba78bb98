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

/// A signed-in browser, as the store keeps it (without its token).
public struct StaffSession: Sendable, Equatable {
    public var id: Int64
    public var accountID: Int64
    /// The session's CSRF token, for every form the staff page serves;
    /// compare with `SecretToken.constantTimeEquals`.
    public var csrfToken: String
    public var createdAt: Date
    /// After this the session is no longer valid.
    public var expiresAt: Date
    /// When the session was last used, to within `lastSeenResolution`.
    public var lastSeenAt: Date

    /// `session(token:)` writes `lastSeenAt` only when it is at least this old
    /// (60 s), so browsing does not turn every page view into a write.
    public static let lastSeenResolution: TimeInterval = 60
}

/// A session just made: the token for the cookie and the stored session.
public struct IssuedStaffSession: Sendable, Equatable {
    /// The secret that goes in the session cookie (Secure, HttpOnly,
    /// SameSite). The store keeps only its SHA-256: it cannot be recovered later.
    public var token: String
    public var session: StaffSession

    /// The session's CSRF token.
    public var csrfToken: String { session.csrfToken }
}

/// A valid session and the account it belongs to.
public struct AuthenticatedStaff: Sendable, Equatable {
    public var session: StaffSession
    public var account: StaffAccount
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
            try StoreEngine.insertStaffAccount(session, name: name, role: role, passwordHash: hash, now: context.now)
        })
    }

    /// Every staff account, disabled ones too, by name.
    public func staffAccounts() async throws -> [StaffAccount] {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.staffAccounts(session) })
    }

    /// The account named `name` (ignoring case); throws `StoreError.staffAccountNotFound`.
    public func staffAccount(name: String) async throws -> StaffAccount {
        try await run(StoreOperation(.read) { session, _ in try StoreEngine.findStaffAccount(session, name: name) })
    }

    /// Changes an account's role. Throws `StoreError.lastAdmin` rather than
    /// leave no enabled admin.
    @discardableResult
    public func setStaffRole(name: String, to role: StaffRole) async throws -> StaffAccount {
        try await run(StoreOperation(.write) { session, _ in try StoreEngine.setStaffRole(session, name: name, role: role) })
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
            try StoreEngine.setStaffPasswordHash(session, name: name, hash: hash, now: context.now)
        })
    }

    /// Disables an account and ends all its sessions, in one transaction.
    /// Disabling a disabled account changes nothing but still ends any
    /// session. Throws `StoreError.lastAdmin` for the only enabled admin.
    /// Returns how many sessions it ended.
    @discardableResult
    public func disableStaffAccount(name: String) async throws -> Int {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.disableStaffAccount(session, name: name, now: context.now)
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
        let stored = try await run(StoreOperation(.read) { session, _ in try StoreEngine.storedCredentials(session, nameKey: key) })
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
            try StoreEngine.recordLogin(session, account: stored.account, verifiedHash: stored.passwordHash, newHash: newHash,
                                        now: context.now)
        })
    }

    // MARK: Staff sessions

    /// Starts a session for an enabled account, valid for `lifetime` seconds:
    /// a new random token (returned once, stored only as its SHA-256) and a
    /// new random CSRF token.
    public func createSession(accountID: Int64, lifetime: TimeInterval) async throws -> IssuedStaffSession {
        guard lifetime > 0, lifetime.isFinite else {
            throw StoreError.invalidInput("a session lifetime must be a positive number of seconds, got \(lifetime)")
        }
        let token = SecretToken.generate()
        let csrf = SecretToken.generate()
        let session = try await run(StoreOperation(.write) { session, context in
            try StoreEngine.insertStaffSession(session, accountID: accountID, tokenHash: SecretToken.digest(token), csrfToken: csrf,
                                               lifetime: lifetime, now: context.now)
        })
        return IssuedStaffSession(token: token, session: session)
    }

    /// The session whose cookie holds `token`, with its account, or nil when
    /// there is none or it expired, was revoked, or its account is disabled.
    /// Marks the session seen (see `StaffSession.lastSeenResolution`).
    public func session(token: String) async throws -> AuthenticatedStaff? {
        guard SecretToken.isWellFormed(token) else { return nil }
        let digest = SecretToken.digest(token)
        let found = try await run(StoreOperation(.read) { session, context in
            try StoreEngine.liveStaffSession(session, tokenHash: digest, now: context.now).map { ($0, context.now) }
        })
        guard let found else { return nil }
        var current = found.0
        let now = found.1
        if now.timeIntervalSince(current.session.lastSeenAt) >= StaffSession.lastSeenResolution {
            let id = current.session.id
            let seen = try await run(StoreOperation(.write) { session, _ in
                try StoreEngine.touchStaffSession(session, id: id, now: now)
            })
            guard let seen else { return nil } // revoked meanwhile
            current.session.lastSeenAt = seen
        }
        return current
    }

    /// Ends the session whose cookie holds `token` (logging out). Returns
    /// false when no session with this token was still unrevoked.
    @discardableResult
    public func revokeSession(token: String) async throws -> Bool {
        guard SecretToken.isWellFormed(token) else { return false }
        let digest = SecretToken.digest(token)
        return try await run(StoreOperation(.write) { session, context in
            try session.execute("UPDATE staff_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                                [.date(context.now), .text(digest)]) > 0
        })
    }

    /// Ends every live session of an account (signing it out everywhere).
    /// Returns how many it ended.
    @discardableResult
    public func revokeSessions(accountID: Int64) async throws -> Int {
        try await run(StoreOperation(.write) { session, context in
            try StoreEngine.revokeStaffSessions(session, accountID: accountID, now: context.now)
        })
    }

    /// Deletes the rows of sessions that expired or were revoked; returns how many.
    @discardableResult
    public func deleteEndedSessions() async throws -> Int {
        try await run(StoreOperation(.write) { session, context in
            try session.execute("DELETE FROM staff_sessions WHERE revoked_at IS NOT NULL OR expires_at <= ?", [.date(context.now)])
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

extension StoreEngine {
    static let staffAccountColumns = "id, name, role, created_at, disabled_at, last_login_at"

    static func staffAccount(from row: SQLRow) throws -> StaffAccount {
        let roleName = try row.required(row.string("role"), "role")
        guard let role = StaffRole(rawValue: roleName) else { throw StoreError.database("a staff account has an unknown role \(roleName)") }
        return StaffAccount(id: try row.required(row.int64("id"), "id"), name: try row.required(row.string("name"), "name"), role: role,
                            createdAt: try row.required(row.date("created_at"), "created_at"),
                            disabledAt: row.date("disabled_at"), lastLoginAt: row.date("last_login_at"))
    }

    /// The account named `name` ignoring case (locked on PostgreSQL when `forUpdate`).
    static func findStaffAccount(_ session: SQLSession, name: String, forUpdate: Bool = false) throws -> StaffAccount {
        guard let row = try session.queryOne("SELECT \(staffAccountColumns) FROM staff_accounts WHERE name_key = ?\(forUpdate ? "{forUpdate}" : "")",
                                             [.text(StaffName.key(name))]) else {
            throw StoreError.staffAccountNotFound(name.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return try staffAccount(from: row)
    }

    static func insertStaffAccount(_ session: SQLSession, name: String, role: StaffRole, passwordHash: String,
                                   now: Date) throws -> StaffAccount {
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        // ON CONFLICT: a concurrent insert of the same name waits, then finds it taken.
        guard let row = try session.queryOne("""
            INSERT INTO staff_accounts (name, name_key, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (name_key) DO NOTHING RETURNING id
            """, [.text(name), .text(StaffName.key(name)), .text(role.rawValue), .text(passwordHash), .date(now)]) else {
            throw StoreError.staffNameTaken(name)
        }
        return StaffAccount(id: try row.required(row.int64("id"), "id"), name: name, role: role, createdAt: now,
                            disabledAt: nil, lastLoginAt: nil)
    }

    static func staffAccounts(_ session: SQLSession) throws -> [StaffAccount] {
        try session.query("SELECT \(staffAccountColumns) FROM staff_accounts ORDER BY name_key", []).map(staffAccount(from:))
    }

    /// Locks the enabled admin accounts (PostgreSQL; SQLite's write
    /// transaction is already exclusive) and returns their ids. Every change
    /// that can remove an admin takes this lock first, in id order, so two
    /// admins demoting each other at once cannot both succeed.
    static func lockEnabledAdmins(_ session: SQLSession) throws -> [Int64] {
        try session.query("SELECT id FROM staff_accounts WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id{forUpdate}", [])
            .compactMap { $0.int64("id") }
    }

    static func setStaffRole(_ session: SQLSession, name: String, role: StaffRole) throws -> StaffAccount {
        let admins = try lockEnabledAdmins(session)
        var account = try findStaffAccount(session, name: name, forUpdate: true)
        if account.role == role { return account }
        if account.role == .admin, !account.isDisabled, admins.allSatisfy({ $0 == account.id }) {
            throw StoreError.lastAdmin(account.name)
        }
        try session.execute("UPDATE staff_accounts SET role = ? WHERE id = ?", [.text(role.rawValue), .integer(account.id)])
        account.role = role
        return account
    }

    static func setStaffPasswordHash(_ session: SQLSession, name: String, hash: String, now: Date) throws -> Int {
        let account = try findStaffAccount(session, name: name, forUpdate: true)
        try session.execute("UPDATE staff_accounts SET password_hash = ? WHERE id = ?", [.text(hash), .integer(account.id)])
        return try revokeStaffSessions(session, accountID: account.id, now: now)
    }

    static func disableStaffAccount(_ session: SQLSession, name: String, now: Date) throws -> Int {
        let admins = try lockEnabledAdmins(session)
        let account = try findStaffAccount(session, name: name, forUpdate: true)
        if !account.isDisabled {
            if account.role == .admin, admins.allSatisfy({ $0 == account.id }) { throw StoreError.lastAdmin(account.name) }
            try session.execute("UPDATE staff_accounts SET disabled_at = ? WHERE id = ?", [.date(now), .integer(account.id)])
        }
        return try revokeStaffSessions(session, accountID: account.id, now: now)
    }

    static func revokeStaffSessions(_ session: SQLSession, accountID: Int64, now: Date) throws -> Int {
        try session.execute("UPDATE staff_sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
                            [.date(now), .integer(accountID)])
    }

    static func storedCredentials(_ session: SQLSession, nameKey: String) throws -> StoredCredentials? {
        guard let row = try session.queryOne("SELECT \(staffAccountColumns), password_hash FROM staff_accounts WHERE name_key = ?",
                                             [.text(nameKey)]) else { return nil }
        return StoredCredentials(account: try staffAccount(from: row), passwordHash: try row.required(row.string("password_hash"), "password_hash"))
    }

    /// Records a sign-in whose password was checked against `verifiedHash`,
    /// storing `newHash` when given. If the password changed or the account
    /// was disabled since the check, the sign-in is refused.
    static func recordLogin(_ session: SQLSession, account: StaffAccount, verifiedHash: String, newHash: String?,
                            now: Date) throws -> StaffAccount {
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        let changed = try session.execute("""
            UPDATE staff_accounts SET last_login_at = ?, password_hash = ?
            WHERE id = ? AND password_hash = ? AND disabled_at IS NULL
            """, [.date(now), .text(newHash ?? verifiedHash), .integer(account.id), .text(verifiedHash)])
        guard changed == 1 else {
            let current = try findStaffAccount(session, name: account.name)
            if current.isDisabled { throw StoreError.staffAccountDisabled(current.name) }
            throw StoreError.wrongNameOrPassword
        }
        var account = account
        account.lastLoginAt = now
        return account
    }

    static func staffSession(from row: SQLRow) throws -> StaffSession {
        StaffSession(id: try row.required(row.int64("session_id"), "session_id"),
                     accountID: try row.required(row.int64("account_id"), "account_id"),
                     csrfToken: try row.required(row.string("csrf_token"), "csrf_token"),
                     createdAt: try row.required(row.date("session_created_at"), "session_created_at"),
                     expiresAt: try row.required(row.date("expires_at"), "expires_at"),
                     lastSeenAt: try row.required(row.date("last_seen_at"), "last_seen_at"))
    }

    static func insertStaffSession(_ session: SQLSession, accountID: Int64, tokenHash: String, csrfToken: String,
                                   lifetime: TimeInterval, now: Date) throws -> StaffSession {
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        guard let row = try session.queryOne("SELECT \(staffAccountColumns) FROM staff_accounts WHERE id = ?{forUpdate}",
                                             [.integer(accountID)]) else {
            throw StoreError.staffAccountNotFound("#\(accountID)")
        }
        let account = try staffAccount(from: row)
        if account.isDisabled { throw StoreError.staffAccountDisabled(account.name) }
        let expires = Date(millisecondsSince1970: now.addingTimeInterval(lifetime).millisecondsSince1970)
        guard let inserted = try session.queryOne("""
            INSERT INTO staff_sessions (token_hash, account_id, csrf_token, created_at, expires_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, [.text(tokenHash), .integer(accountID), .text(csrfToken), .date(now), .date(expires), .date(now)]),
            let id = inserted.int64("id") else {
            throw StoreError.database("inserting a staff session returned no id")
        }
        return StaffSession(id: id, accountID: accountID, csrfToken: csrfToken, createdAt: now, expiresAt: expires, lastSeenAt: now)
    }

    /// The session with this token digest if it is live: not revoked, not
    /// expired, its account not disabled.
    static func liveStaffSession(_ session: SQLSession, tokenHash: String, now: Date) throws -> AuthenticatedStaff? {
        guard let row = try session.queryOne("""
            SELECT s.id AS session_id, s.account_id, s.csrf_token, s.created_at AS session_created_at, s.expires_at,
                s.last_seen_at, a.id, a.name, a.role, a.created_at, a.disabled_at, a.last_login_at
            FROM staff_sessions s JOIN staff_accounts a ON a.id = s.account_id
            WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND a.disabled_at IS NULL
            """, [.text(tokenHash), .date(now)]) else { return nil }
        return AuthenticatedStaff(session: try staffSession(from: row), account: try staffAccount(from: row))
    }

    /// Sets `last_seen_at` of a session not revoked; returns the time set, or nil when it was revoked.
    static func touchStaffSession(_ session: SQLSession, id: Int64, now: Date) throws -> Date? {
        let now = Date(millisecondsSince1970: now.millisecondsSince1970)
        let changed = try session.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL",
                                          [.date(now), .integer(id)])
        return changed == 1 ? now : nil
    }
}
