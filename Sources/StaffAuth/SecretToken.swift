import Crypto
import Foundation

/// Random secrets for staff web sessions: the session token that goes in the
/// cookie and the per-session CSRF token, and the digest under which a
/// session token is stored.
///
/// A token is 32 bytes from the system CSPRNG (`SystemRandomNumberGenerator`:
/// `getrandom` on Linux), written as base64url without padding (43
/// characters, safe in a cookie and in a form field). The store keeps only
/// the SHA-256 of a session token, so a copy of the database does not let
/// anyone sign in.
public enum SecretToken {
    /// Random bytes in a token.
    public static let byteCount = 32
    /// Characters in a token (base64url of 32 bytes, no padding).
    public static let length = 43

    /// A fresh random token.
    public static func generate() -> String {
        Data(randomBytes(byteCount)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `text` looks like a token this type makes (43 base64url
    /// characters). Lets callers turn away garbage cookies without a lookup.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// The SHA-256 of the token's UTF-8, as 64 lowercase hex digits: what the store keeps.
    public static func digest(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Whether two secrets (CSRF tokens, say) are equal, in time that depends
    /// only on their lengths, not on where they first differ.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    /// `count` bytes from the system CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
