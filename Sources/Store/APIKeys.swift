import Foundation
import StaffAuth

/// What an API key lets its holder see and do on the Open311 API.
public enum APIKeyScope: String, CaseIterable, Codable, Sendable {
    /// Files service requests and reads the public view (no priorities, no
    /// residents' names, contact details or units, no residents' own words).
    case `public`
    /// Also reads priorities, residents' contact details and units, and the
    /// requests' descriptions.
    case full
}

/// A key a city system or dashboard presents to the Open311 API. The secret
/// itself never leaves `addAPIKey`'s answer: the store keeps its SHA-256.
public struct APIKey: Sendable, Equatable, Codable {
    public var id: Int64
    /// Who the key is for (`city-dashboard`); unique among keys not revoked.
    public var name: String
    public var scope: APIKeyScope
    public var createdAt: Date
    /// When it was revoked; a revoked key is refused.
    public var revokedAt: Date?

    public var isRevoked: Bool { revokedAt != nil }
}

/// A key just made: the secret to hand over (shown once) and the stored key.
public struct IssuedAPIKey: Sendable, Equatable {
    /// The secret the caller sends as `api_key`. Only its SHA-256 is stored.
    public var secret: String
    public var key: APIKey
}

/// The rules for API key names: the same characters as staff account names
/// (letters, digits, `.`, `_`, `-`, `@`; 1 to 64 of them), compared ignoring case.
public enum APIKeyName {
    public static let maximumLength = 64

    /// The name to store (trimmed, NFC), or `StoreError.invalidInput` saying what is wrong.
    public static func validated(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
        if trimmed.isEmpty { throw StoreError.invalidInput("an API key needs a name (who it is for)") }
        if trimmed.count > maximumLength {
            throw StoreError.invalidInput("an API key name has at most \(maximumLength) characters, \"\(trimmed.prefix(20))…\" has \(trimmed.count)")
        }
        if let bad = trimmed.unicodeScalars.first(where: { !StaffName.isAllowed($0) }) {
            let shown = bad.properties.isWhitespace ? "a space" : "\"\(bad)\""
            throw StoreError.invalidInput("an API key name may hold letters, digits, \".\", \"_\", \"-\" and \"@\", not \(shown): \"\(trimmed)\"")
        }
        return trimmed
    }

    /// The name case-folded, for lookups and uniqueness.
    public static func key(_ name: String) -> String { StaffName.key(name) }
}

extension TicketStore {
    // MARK: API keys

    /// Makes a key named `name` with a new random secret (32 bytes from the
    /// system CSPRNG, base64url), returned once; the store keeps only its
    /// SHA-256. Throws `StoreError.apiKeyNameTaken` when a key of this name
    /// (ignoring case) is not revoked.
    public func addAPIKey(name: String, scope: APIKeyScope) async throws -> IssuedAPIKey {
        let name = try APIKeyName.validated(name)
        let secret = SecretToken.generate()
        let digest = SecretToken.digest(secret)
        let key = try await run(StoreOperation(.write) { session, context in
            let now = Date(millisecondsSince1970: context.now.millisecondsSince1970)
            // ON CONFLICT: a live key of the same name (or, never in practice, the same hash) makes it a no-op.
            guard let row = try session.queryOne("""
                INSERT INTO api_keys (name, name_key, key_hash, scope, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING RETURNING id
                """, [.text(name), .text(APIKeyName.key(name)), .text(digest), .text(scope.rawValue), .date(now)]) else {
                throw StoreError.apiKeyNameTaken(name)
            }
            return APIKey(id: try row.required(row.int64("id"), "id"), name: name, scope: scope, createdAt: now, revokedAt: nil)
        })
        return IssuedAPIKey(secret: secret, key: key)
    }

    /// Every key, revoked ones too, by name, then newest first.
    public func apiKeys() async throws -> [APIKey] {
        try await run(StoreOperation(.read) { session, _ in
            try session.query("SELECT \(APIKey.columns) FROM api_keys ORDER BY name_key, created_at DESC, id DESC", [])
                .map(APIKey.init(row:))
        })
    }

    /// Revokes the key named `name` (ignoring case) that is not yet revoked,
    /// and returns it. Throws `StoreError.apiKeyNotFound` when there is none.
    @discardableResult
    public func revokeAPIKey(name: String) async throws -> APIKey {
        try await run(StoreOperation(.write) { session, context in
            let now = Date(millisecondsSince1970: context.now.millisecondsSince1970)
            guard let row = try session.queryOne("""
                UPDATE api_keys SET revoked_at = ? WHERE name_key = ? AND revoked_at IS NULL RETURNING \(APIKey.columns)
                """, [.date(now), .text(APIKeyName.key(name))]) else {
                throw StoreError.apiKeyNotFound(name.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return try APIKey(row: row)
        })
    }

    /// The live key whose secret is `secret`, or nil when it is malformed,
    /// unknown or revoked. Found by the secret's SHA-256, which is then
    /// compared with the stored one in constant time.
    public func apiKey(secret: String) async throws -> APIKey? {
        guard SecretToken.isWellFormed(secret) else { return nil }
        let digest = SecretToken.digest(secret)
        let found = try await run(StoreOperation(.read) { session, _ in
            try session.queryOne("SELECT \(APIKey.columns), key_hash FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                                 [.text(digest)]).map { row in
                (try APIKey(row: row), try row.required(row.string("key_hash"), "key_hash"))
            }
        })
        guard let found, SecretToken.constantTimeEquals(found.1, digest) else { return nil }
        return found.0
    }
}

extension APIKey {
    /// The columns `APIKey(row:)` reads (never the key's hash).
    fileprivate static let columns = "id, name, scope, created_at, revoked_at"

    fileprivate init(row: SQLRow) throws {
        let scopeName = try row.required(row.string("scope"), "scope")
        guard let scope = APIKeyScope(rawValue: scopeName) else { throw StoreError.database("an API key has an unknown scope \(scopeName)") }
        self.init(id: try row.required(row.int64("id"), "id"), name: try row.required(row.string("name"), "name"), scope: scope,
                  createdAt: try row.required(row.date("created_at"), "created_at"), revokedAt: row.date("revoked_at"))
    }
}
