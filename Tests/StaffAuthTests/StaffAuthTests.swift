import Foundation
import Testing
@testable import StaffAuth

/// Cheap scrypt parameters (N = 16) so the tests do not spend their time hashing.
let cheap = ScryptParameters(logN: 4, blockSize: 8, parallelism: 1)

@Suite("Password hashing")
struct PasswordHasherTests {
    @Test func hashIsAPHCStringThatVerifies() throws {
        let hasher = PasswordHasher(parameters: cheap)
        let stored = try hasher.hash("correct horse battery staple")
        #expect(stored.hasPrefix("$scrypt$ln=4,r=8,p=1$"), "\(stored)")
        let parsed = try EncodedPasswordHash(parsing: stored)
        #expect(parsed.parameters == cheap)
        #expect(parsed.salt.count == 16 && parsed.hash.count == 32)
        #expect(parsed.text == stored, "parsing and writing round-trip")
        #expect(!stored.hasSuffix("=") && !stored.contains("=$"), "PHC base64 has no padding")

        #expect(try hasher.verify("correct horse battery staple", against: stored) == .match(needsRehash: false))
        #expect(try hasher.verify("correct horse battery stapl", against: stored) == .mismatch)
        #expect(try hasher.verify("Correct horse battery staple", against: stored) == .mismatch)
        #expect(try hasher.verify("", against: stored) == .mismatch)
    }

    @Test func everyHashHasItsOwnSalt() throws {
        let hasher = PasswordHasher(parameters: cheap)
        let hashes = try (0..<8).map { _ in try hasher.hash("the same password") }
        #expect(Set(hashes).count == 8)
        #expect(Set(try hashes.map { try EncodedPasswordHash(parsing: $0).salt }).count == 8)
        for stored in hashes { #expect(try hasher.verify("the same password", against: stored) == .match(needsRehash: false)) }
    }

    /// RFC 7914 §12, the second test vector (N = 1024, r = 8, p = 16, 64
    /// bytes): the derivation is real scrypt.
    @Test func rfc7914TestVector() throws {
        let expected = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        var bytes: [UInt8] = []
        var index = expected.startIndex
        while index < expected.endIndex {
            let next = expected.index(index, offsetBy: 2)
            bytes.append(UInt8(expected[index..<next], radix: 16)!)
            index = next
        }
        let stored = "$scrypt$ln=10,r=8,p=16$\(EncodedPasswordHash.encode(Array("NaCl".utf8)))$\(EncodedPasswordHash.encode(bytes))"
        #expect(try PasswordHasher.derive("password", salt: Array("NaCl".utf8), parameters: ScryptParameters(logN: 10, blockSize: 8, parallelism: 16),
                                          byteCount: 64) == bytes)
        // As a stored string it is refused: its 4-byte salt is below the 8 bytes a stored hash needs.
        #expect(throws: PasswordHashError.self) { try PasswordHasher(parameters: cheap).verify("password", against: stored) }
    }

    @Test func parametersComeFromTheStoredStringAndOldOnesNeedARehash() throws {
        let old = PasswordHasher(parameters: cheap)
        let stored = try old.hash("a long enough password")
        let raised = PasswordHasher(parameters: ScryptParameters(logN: 5, blockSize: 8, parallelism: 1))
        #expect(try raised.verify("a long enough password", against: stored) == .match(needsRehash: true))
        #expect(try raised.verify("another password here", against: stored) == .mismatch)
        #expect(raised.needsRehash(stored))
        #expect(!old.needsRehash(stored))
        #expect(raised.needsRehash("not a hash"))
        #expect(!raised.needsRehash(try raised.hash("a long enough password")))
    }

    @Test func unicodePasswordsAreComparedAfterNFC() throws {
        let hasher = PasswordHasher(parameters: cheap)
        let precomposed = "caf\u{E9} au lait, s'il vous pla\u{EE}t"
        let combining = "cafe\u{301} au lait, s'il vous pla\u{EE}t"
        #expect(Array(precomposed.utf8) != Array(combining.utf8))
        let stored = try hasher.hash(precomposed)
        #expect(try hasher.verify(combining, against: stored) == .match(needsRehash: false))
        #expect(try hasher.verify("楼道灯坏了楼道灯坏了楼道", against: try hasher.hash("楼道灯坏了楼道灯坏了楼道")) == .match(needsRehash: false))
    }

    @Test func malformedHashStringsAreRefusedWithAReason() throws {
        let hasher = PasswordHasher(parameters: cheap)
        let good = try EncodedPasswordHash(parsing: try hasher.hash("a long enough password"))
        let salt = EncodedPasswordHash.encode(good.salt)
        let hash = EncodedPasswordHash.encode(good.hash)
        let cases: [(String, String)] = [
            ("", "expected $scrypt$"),
            ("plaintext-password", "expected $scrypt$"),
            ("$argon2id$v=19$m=65536,t=3,p=4$\(salt)$\(hash)", "unknown algorithm \"argon2id\""),
            ("$scrypt$ln=4,r=8,p=1$\(salt)", "expected $scrypt$"),
            ("$scrypt$ln=4,r=8$\(salt)$\(hash)", "exactly ln, r and p"),
            ("$scrypt$ln=4,r=8,p=1,x=2$\(salt)$\(hash)", "exactly ln, r and p"),
            ("$scrypt$ln=4,ln=5,p=1$\(salt)$\(hash)", "malformed parameter"),
            ("$scrypt$ln=four,r=8,p=1$\(salt)$\(hash)", "malformed parameter"),
            ("$scrypt$ln=40,r=8,p=1$\(salt)$\(hash)", "ln must be between 1 and 24"),
            ("$scrypt$ln=22,r=16,p=1$\(salt)$\(hash)", "more than the 256 MiB limit"),
            ("$scrypt$ln=4,r=8,p=1$!!!$\(hash)", "the salt"),
            ("$scrypt$ln=4,r=8,p=1$\(salt)$\(hash)==", "the hash"),
            ("$scrypt$ln=4,r=8,p=1$\(salt)$AAAA", "the hash"),
        ]
        for (text, reason) in cases {
            do {
                _ = try hasher.verify("a long enough password", against: text)
                Issue.record("accepted \(text)")
            } catch let error as PasswordHashError {
                #expect(error.reason.contains(reason), "\(text): \(error.reason)")
            }
        }
        #expect(throws: PasswordHashError.self) { try PasswordHasher(parameters: ScryptParameters(logN: 0)).hash("a long enough password") }
    }

    /// The one test at the production parameters (N = 2^15, r = 8, p = 1).
    @Test func recommendedParametersHashAndVerify() throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters == ScryptParameters(logN: 15, blockSize: 8, parallelism: 1))
        #expect(ScryptParameters.recommended.memoryBytes >= 32 << 20)
        let stored = try hasher.hash("correct horse battery staple")
        #expect(stored.hasPrefix("$scrypt$ln=15,r=8,p=1$"))
        #expect(try hasher.verify("correct horse battery staple", against: stored) == .match(needsRehash: false))
        #expect(try hasher.verify("correct horse battery stable", against: stored) == .mismatch)
    }
}

@Suite("Session secrets")
struct SecretTokenTests {
    @Test func tokensAreRandomBase64URL() {
        let tokens = (0..<64).map { _ in SecretToken.generate() }
        #expect(Set(tokens).count == 64)
        for token in tokens {
            #expect(token.count == SecretToken.length)
            #expect(SecretToken.isWellFormed(token), "\(token)")
            let standard = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
            #expect(Data(base64Encoded: standard)?.count == SecretToken.byteCount)
        }
        #expect(!SecretToken.isWellFormed(""))
        #expect(!SecretToken.isWellFormed(String(repeating: "a", count: 42)))
        #expect(!SecretToken.isWellFormed(String(repeating: "a", count: 42) + "="))
        #expect(!SecretToken.isWellFormed(String(repeating: "a", count: 42) + "é"))
    }

    @Test func digestIsSHA256Hex() {
        // FIPS 180-2 test vector for "abc".
        #expect(SecretToken.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let token = SecretToken.generate()
        #expect(SecretToken.digest(token).count == 64 && SecretToken.digest(token) != token)
    }

    @Test func constantTimeEqualsComparesWholeStrings() {
        let token = SecretToken.generate()
        #expect(SecretToken.constantTimeEquals(token, token))
        #expect(SecretToken.constantTimeEquals("", ""))
        #expect(!SecretToken.constantTimeEquals(token, String(token.dropLast()) + (token.last == "A" ? "B" : "A")))
        #expect(!SecretToken.constantTimeEquals(token, String(token.dropLast())))
        #expect(!SecretToken.constantTimeEquals("a", ""))
    }
}
