import Foundation
import StaffAuth

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

extension TicketStore {
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
        let tokenHash = SecretToken.digest(token)
        let session = try await run(StoreOperation(.write) { session, context in
            let now = Date(millisecondsSince1970: context.now.millisecondsSince1970)
            guard let row = try session.queryOne("SELECT \(StaffAccount.columns) FROM staff_accounts WHERE id = ?{forUpdate}",
                                                 [.integer(accountID)]) else {
                throw StoreError.staffAccountNotFound("#\(accountID)")
            }
            let account = try StaffAccount(row: row)
            if account.isDisabled { throw StoreError.staffAccountDisabled(account.name) }
            let expires = Date(millisecondsSince1970: now.addingTimeInterval(lifetime).millisecondsSince1970)
            guard let inserted = try session.queryOne("""
                INSERT INTO staff_sessions (token_hash, account_id, csrf_token, created_at, expires_at, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?) RETURNING id
                """, [.text(tokenHash), .integer(accountID), .text(csrf), .date(now), .date(expires), .date(now)]),
                let id = inserted.int64("id") else {
                throw StoreError.database("inserting a staff session returned no id")
            }
            return StaffSession(id: id, accountID: accountID, csrfToken: csrf, createdAt: now, expiresAt: expires, lastSeenAt: now)
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
            try session.queryOne("""
                SELECT s.id AS session_id, s.account_id, s.csrf_token, s.created_at AS session_created_at, s.expires_at,
                    s.last_seen_at, a.id, a.name, a.role, a.created_at, a.disabled_at, a.last_login_at
                FROM staff_sessions s JOIN staff_accounts a ON a.id = s.account_id
                WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND a.disabled_at IS NULL
                """, [.text(digest), .date(context.now)]).map { row in
                (AuthenticatedStaff(session: try StaffSession(row: row), account: try StaffAccount(row: row)), context.now)
            }
        })
        guard let found else { return nil }
        var current = found.0
        let now = found.1
        if now.timeIntervalSince(current.session.lastSeenAt) >= StaffSession.lastSeenResolution {
            let id = current.session.id
            // Sets `last_seen_at` only if the session was not revoked meanwhile.
            let seen = Date(millisecondsSince1970: now.millisecondsSince1970)
            let changed = try await run(StoreOperation(.write) { session, _ in
                try session.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL",
                                    [.date(seen), .integer(id)])
            })
            guard changed == 1 else { return nil } // revoked meanwhile
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
            try session.revokeStaffSessions(accountID: accountID, now: context.now)
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

extension StaffSession {
    /// A session row read with the aliases of `session(token:)` (`session_id`, `session_created_at`).
    fileprivate init(row: SQLRow) throws {
        self.init(id: try row.required(row.int64("session_id"), "session_id"),
                  accountID: try row.required(row.int64("account_id"), "account_id"),
                  csrfToken: try row.required(row.string("csrf_token"), "csrf_token"),
                  createdAt: try row.required(row.date("session_created_at"), "session_created_at"),
                  expiresAt: try row.required(row.date("expires_at"), "expires_at"),
                  lastSeenAt: try row.required(row.date("last_seen_at"), "last_seen_at"))
    }
}

extension SQLSession {
    /// Ends every live session of an account; returns how many. Also part of
    /// a password change and of disabling an account.
    func revokeStaffSessions(accountID: Int64, now: Date) throws -> Int {
        try execute("UPDATE staff_sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
                    [.date(now), .integer(accountID)])
    }
}
