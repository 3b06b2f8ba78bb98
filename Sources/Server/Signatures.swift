import Crypto
import Foundation
import StaffAuth

/// Slack's request signature (`X-Slack-Signature`, version `v0`): the hex
/// HMAC-SHA256, keyed by the app's signing secret, of
/// `v0:{X-Slack-Request-Timestamp}:{raw body}`. Requests older or newer than
/// five minutes are refused, so a captured request cannot be replayed.
public struct SlackSignature: Sendable {
    public let signingSecret: String
    /// How far the timestamp may be from now.
    public var window: TimeInterval = 300

    public init(signingSecret: String) { self.signingSecret = signingSecret }

    /// `v0=` and the hex digest Slack would send for `body` at `timestamp`.
    public func signature(timestamp: String, body: some Sequence<UInt8>) -> String {
        var message = Array("v0:\(timestamp):".utf8)
        message.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(signingSecret.utf8)))
        return "v0=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// The outcome of a check.
    public enum Verdict: Equatable, Sendable {
        case valid
        /// A header is absent or empty.
        case missingHeaders
        /// The timestamp is not a number, or more than `window` from now.
        case staleTimestamp
        /// The signature is not the one the secret gives.
        case mismatch
    }

    /// Checks the two headers against the raw body bytes.
    public func verify(signature: String?, timestamp: String?, body: some Sequence<UInt8>, now: Date) -> Verdict {
        guard let signature, let timestamp, !signature.isEmpty else { return .missingHeaders }
        guard let seconds = Double(timestamp), abs(now.timeIntervalSince1970 - seconds) <= window else {
            return .staleTimestamp
        }
        let expected = self.signature(timestamp: timestamp, body: body)
        return SecretToken.constantTimeEquals(expected, signature) ? .valid : .mismatch
    }
}

/// Twilio's request signature (`X-Twilio-Signature`): the base64
/// HMAC-SHA1, keyed by the account's auth token, of the full URL Twilio
/// called (as configured in Twilio: the public URL, with its query) followed
/// by every POST parameter, sorted by name, as name and value concatenated.
public struct TwilioSignature: Sendable {
    public let authToken: String

    public init(authToken: String) { self.authToken = authToken }

    /// The signature Twilio would send for a POST of `parameters` to `url`.
    public func signature(url: String, parameters: [(name: String, value: String)]) -> String {
        let sorted = parameters.sorted { ($0.name, $0.value) < ($1.name, $1.value) }
        var message = url
        for parameter in sorted { message += parameter.name + parameter.value }
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Array(message.utf8),
                                                          using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(code).base64EncodedString()
    }

    /// True when `signature` is the one Twilio would send.
    public func isValid(signature: String?, url: String, parameters: [(name: String, value: String)]) -> Bool {
        guard let signature, !signature.isEmpty else { return false }
        return SecretToken.constantTimeEquals(self.signature(url: url, parameters: parameters), signature)
    }
}
