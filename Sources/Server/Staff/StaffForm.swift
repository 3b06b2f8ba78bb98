import Foundation
import Hummingbird

/// The fields of a form the staff page posted (`application/x-www-form-urlencoded`).
struct StaffForm: Sendable {
    /// The hidden field every form carries with the session's CSRF token.
    static let csrfField = "_csrf"
    /// Forms are small: a note is the largest field.
    static let byteLimit = 32 * 1024

    private var fields: [(name: String, value: String)]

    init(fields: [(name: String, value: String)]) { self.fields = fields }

    /// Reads and parses the body: 415 for another media type, 413 past `byteLimit`, 400 when it does not parse.
    static func read(_ request: Request) async throws -> StaffForm {
        let bytes = try await request.rawBody(limit: byteLimit)
        try request.requireMediaType("application/x-www-form-urlencoded")
        return StaffForm(fields: try FormBody.parse(bytes))
    }

    /// The first value of `name`, or nil.
    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The value of `name` trimmed, or nil when missing or blank.
    func trimmed(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// The value of `name`, trimmed, or a 400 naming the field.
    func required(_ name: String) throws -> String {
        guard let value = trimmed(name) else { throw WebhookError.malformed("the form has no \"\(name)\"") }
        return value
    }
}
