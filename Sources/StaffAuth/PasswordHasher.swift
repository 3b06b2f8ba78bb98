import Crypto
import _CryptoExtras
import Foundation

/// The cost of one scrypt derivation: N = 2^`logN` (CPU and memory),
/// `blockSize` (r) and `parallelism` (p). Memory is 128 · N · r bytes.
///
/// `recommended` (N = 2^15, r = 8, p = 1: 32 MiB) is OWASP's 2023 minimum
/// for scrypt. Tests may pass a cheaper set to a `PasswordHasher` they make
/// themselves; nothing switches the parameters globally.
public struct ScryptParameters: Sendable, Hashable, CustomStringConvertible {
    /// log2 of N, the CPU and memory cost.
    public var logN: Int
    /// r, the block size.
    public var blockSize: Int
    /// p, the parallelism.
    public var parallelism: Int

    /// N = 2^15, r = 8, p = 1 (32 MiB per hash).
    public static let recommended = ScryptParameters(logN: 15, blockSize: 8, parallelism: 1)

    /// The largest memory one derivation may use (256 MiB), so a tampered
    /// hash string cannot make a login allocate without bound.
    public static let memoryLimit = 256 << 20

    public init(logN: Int, blockSize: Int = 8, parallelism: Int = 1) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// The bytes one derivation allocates: 128 · r · (N + p + 1).
    public var memoryBytes: Int { 128 * blockSize * ((1 << logN) + parallelism + 1) }

    /// Why these parameters cannot be used, or nil when they can.
    var problem: String? {
        guard (1...24).contains(logN) else { return "ln must be between 1 and 24, got \(logN)" }
        // swift-crypto sizes BoringSSL's memory limit as 128·N·r·p plus one
        // page, which is too small for p = 1 beyond r = 16.
        guard (1...16).contains(blockSize) else { return "r must be between 1 and 16, got \(blockSize)" }
        guard (1...16).contains(parallelism) else { return "p must be between 1 and 16, got \(parallelism)" }
        guard memoryBytes <= Self.memoryLimit else {
            return "ln=\(logN),r=\(blockSize),p=\(parallelism) needs \(memoryBytes >> 20) MiB, more than the \(Self.memoryLimit >> 20) MiB limit"
        }
        return nil
    }

    /// `ln=15,r=8,p=1`, as in the hash string.
    public var description: String { "ln=\(logN),r=\(blockSize),p=\(parallelism)" }
}

/// A stored password hash that cannot be read, or parameters that cannot be used.
public struct PasswordHashError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in one line.
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "unusable password hash: \(reason)" }
}

/// The outcome of checking a password against a stored hash.
public enum PasswordCheck: Sendable, Equatable {
    /// The password is not the one the hash was made from.
    case mismatch
    /// The password is right. `needsRehash`: the hash was made with other
    /// parameters than the hasher's, so it should be replaced by a new hash
    /// of this password (done at login, when the password is at hand).
    case match(needsRehash: Bool)
}

/// Hashes staff passwords with scrypt and checks them.
///
/// A hash is a self-describing PHC-style string,
/// `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (standard base64 without padding),
/// with a fresh 16-byte salt from the system CSPRNG and a 32-byte output.
/// Verification reads the parameters from the stored string, so they can be
/// raised later without invalidating existing passwords, and compares in
/// constant time.
///
/// Passwords are normalised to Unicode NFC before hashing, so the same
/// password typed on different keyboards (precomposed or combining accents)
/// matches.
public struct PasswordHasher: Sendable {
    /// The parameters new hashes are made with; a stored hash with other ones `needsRehash`.
    public var parameters: ScryptParameters

    static let algorithm = "scrypt"
    static let saltByteCount = 16
    static let hashByteCount = 32

    public init(parameters: ScryptParameters = .recommended) {
        self.parameters = parameters
    }

    /// A new hash string of `password` with a fresh random salt.
    public func hash(_ password: String) throws -> String {
        if let problem = parameters.problem { throw PasswordHashError(problem) }
        let salt = SecretToken.randomBytes(Self.saltByteCount)
        let derived = try Self.derive(password, salt: salt, parameters: parameters, byteCount: Self.hashByteCount)
        return EncodedPasswordHash(parameters: parameters, salt: salt, hash: derived).text
    }

    /// Checks `password` against a stored hash string (from any parameters).
    /// Throws `PasswordHashError` when the stored string is not a hash this
    /// hasher can read.
    public func verify(_ password: String, against stored: String) throws -> PasswordCheck {
        let encoded = try EncodedPasswordHash(parsing: stored)
        let derived = try Self.derive(password, salt: encoded.salt, parameters: encoded.parameters, byteCount: encoded.hash.count)
        // SymmetricKey's == compares in constant time (BoringSSL CRYPTO_memcmp).
        guard SymmetricKey(data: derived) == SymmetricKey(data: encoded.hash) else { return .mismatch }
        return .match(needsRehash: encoded.parameters != parameters || encoded.hash.count != Self.hashByteCount)
    }

    /// Whether a stored hash was made with other parameters than this
    /// hasher's (or cannot be read at all).
    public func needsRehash(_ stored: String) -> Bool {
        guard let encoded = try? EncodedPasswordHash(parsing: stored) else { return true }
        return encoded.parameters != parameters || encoded.hash.count != Self.hashByteCount
    }

    /// Does the work of one verification and discards it: what a login for
    /// an unknown name spends, so its answer takes as long as a wrong password's.
    public func spendVerificationWork(_ password: String) {
        let salt = [UInt8](repeating: 0, count: Self.saltByteCount)
        _ = try? Self.derive(password, salt: salt, parameters: parameters, byteCount: Self.hashByteCount)
    }

    static func derive(_ password: String, salt: [UInt8], parameters: ScryptParameters, byteCount: Int) throws -> [UInt8] {
        if let problem = parameters.problem { throw PasswordHashError(problem) }
        let bytes = Array(password.precomposedStringWithCanonicalMapping.utf8)
        do {
            let key = try KDF.Scrypt.deriveKey(from: bytes, salt: salt, outputByteCount: byteCount,
                                               rounds: 1 << parameters.logN, blockSize: parameters.blockSize,
                                               parallelism: parameters.parallelism)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw PasswordHashError("scrypt failed with \(parameters) (\(error))")
        }
    }
}

/// The parts of a `$scrypt$ln=…,r=…,p=…$<salt>$<hash>` string.
struct EncodedPasswordHash: Equatable {
    var parameters: ScryptParameters
    var salt: [UInt8]
    var hash: [UInt8]

    init(parameters: ScryptParameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// Reads a hash string; throws `PasswordHashError` saying what is wrong.
    init(parsing text: String) throws {
        // "$scrypt$ln=15,r=8,p=1$salt$hash" splits into "", "scrypt", params, salt, hash.
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count >= 3, fields[0].isEmpty else {
            throw PasswordHashError("expected $scrypt$ln=…,r=…,p=…$<salt>$<hash>")
        }
        guard fields[1] == PasswordHasher.algorithm else {
            throw PasswordHashError("unknown algorithm \"\(fields[1])\" (only scrypt is supported)")
        }
        guard fields.count == 5 else { throw PasswordHashError("expected $scrypt$ln=…,r=…,p=…$<salt>$<hash>") }
        var values: [String: Int] = [:]
        for pair in fields[2].split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Int(parts[1]), values[String(parts[0])] == nil else {
                throw PasswordHashError("malformed parameter \"\(pair)\"")
            }
            values[String(parts[0])] = value
        }
        guard Set(values.keys) == ["ln", "r", "p"], let logN = values["ln"], let r = values["r"], let p = values["p"] else {
            throw PasswordHashError("the parameters must be exactly ln, r and p, got \"\(fields[2])\"")
        }
        let parameters = ScryptParameters(logN: logN, blockSize: r, parallelism: p)
        if let problem = parameters.problem { throw PasswordHashError(problem) }
        guard let salt = Self.decode(fields[3]), salt.count >= 8 else { throw PasswordHashError("the salt is not base64 of at least 8 bytes") }
        guard let hash = Self.decode(fields[4]), (16...64).contains(hash.count) else {
            throw PasswordHashError("the hash is not base64 of 16 to 64 bytes")
        }
        self.init(parameters: parameters, salt: salt, hash: hash)
    }

    /// `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`.
    var text: String {
        "$\(PasswordHasher.algorithm)$\(parameters)$\(Self.encode(salt))$\(Self.encode(hash))"
    }

    /// Standard base64 without `=` padding (the PHC string format's B64).
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard !text.isEmpty, !text.contains("=") else { return nil }
        let padded = String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded).map { Array($0) }
    }
}
