import DataPack
import Dialogue
import Foundation
import Store
import Triage

/// The arguments of `POST requests.json`, read and checked (form-encoded,
/// as GeoReport v2 defines them):
///
/// - `service_code` (required): one of `services.json`;
/// - a location (required): `lat` and `long`, or `address_string`, or `address_id`;
/// - `description` (required here, at most 4000 characters): the triage needs words;
/// - optional `email`, `first_name`, `last_name`, `phone`, `media_url`;
///   `attribute[…]`, `device_id` and `account_id` are accepted and ignored
///   (no service has attributes).
struct Open311Submission: Equatable {
    static let maximumDescription = 4000

    var serviceCode: String
    var description: String
    /// Where, as the caller said it (the address, the coordinates, or the address id).
    var location: String
    /// A unit named in the address or the description (`unit 4B`).
    var unit: String?
    var email: String?
    var displayName: String?
    var phone: String?
    var mediaURL: String?

    init(_ parameters: [String: String], services: Open311Services, format: Open311Format) throws {
        func value(_ name: String, maximum: Int) throws -> String? {
            guard let raw = parameters[name] else { return nil }
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return nil }
            guard trimmed.count <= maximum else {
                throw Open311Error.badRequest("\(name) is longer than \(maximum) characters", format: format)
            }
            return trimmed
        }
        guard let code = try value("service_code", maximum: 200) else {
            throw Open311Error.badRequest("service_code is required: one of the codes services.json lists", format: format)
        }
        guard services.category(code) != nil else {
            throw Open311Error.badRequest("service_code \"\(code.prefix(80))\" is not a service here (services.json lists them)", format: format)
        }
        serviceCode = code
        guard let description = try value("description", maximum: Self.maximumDescription) else {
            throw Open311Error.badRequest("description is required: say in words what is wrong (the request is triaged from it)", format: format)
        }
        self.description = description

        let address = try value("address_string", maximum: 500)
        let addressID = try value("address_id", maximum: 200)
        let coordinates = try Self.coordinates(lat: value("lat", maximum: 40), long: value("long", maximum: 40), format: format)
        var described = address ?? coordinates ?? addressID.map { "address id \($0)" }
        if let address, let coordinates { described = "\(address) (\(coordinates))" }
        guard let place = described else {
            throw Open311Error.badRequest("a location is required: lat and long, address_string or address_id", format: format)
        }
        location = place
        unit = address.flatMap(TextCues.unit(in:)) ?? TextCues.unit(in: description)

        if let email = try value("email", maximum: 254) {
            guard Self.looksLikeEmail(email) else {
                throw Open311Error.badRequest("email \"\(email.prefix(80))\" is not an email address", format: format)
            }
            self.email = email
        }
        let names = try [value("first_name", maximum: 100), value("last_name", maximum: 100)].compactMap { $0 }
        displayName = names.isEmpty ? nil : names.joined(separator: " ")
        phone = try value("phone", maximum: 40)
        if let url = try value("media_url", maximum: 2000) {
            guard let scheme = URL(string: url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw Open311Error.badRequest("media_url must be an http or https URL", format: format)
            }
            mediaURL = url
        }
    }

    /// "lat 49.26, long -123.1" from both coordinates, nil from neither; 400 for one alone or a value out of range.
    static func coordinates(lat: String?, long: String?, format: Open311Format) throws -> String? {
        switch (lat, long) {
        case (nil, nil):
            return nil
        case let (lat?, long?):
            guard let latitude = Double(lat), (-90...90).contains(latitude) else {
                throw Open311Error.badRequest("lat must be a latitude in degrees (-90 to 90), not \"\(lat)\"", format: format)
            }
            guard let longitude = Double(long), (-180...180).contains(longitude) else {
                throw Open311Error.badRequest("long must be a longitude in degrees (-180 to 180), not \"\(long)\"", format: format)
            }
            return "lat \(latitude), long \(longitude)"
        default:
            throw Open311Error.badRequest("lat and long go together: give both, or address_string or address_id instead", format: format)
        }
    }

    /// One `@` with text on both sides and a dot in the domain, no spaces.
    static func looksLikeEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !text.contains(where: \.isWhitespace)
    }

    /// What the caller gave that staff may need and the ticket has no field for.
    var contactNotes: String? {
        let notes = [phone.map { "phone: \($0)" }, mediaURL.map { "media: \($0)" }].compactMap { $0 }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    /// The ticket for this request, triaged by the same `Triager` as
    /// residents' messages and drafted by the same rule (``TicketDrafting``):
    /// the triage's priority and emergency flag (the category's default when
    /// the words are not read as a request); the category is the caller's
    /// `service_code`. `explained` is the decision with its explanation.
    func draft(explained decision: TriageDecision, triager: any Triaging, key: APIKey, modelVersion: String?) throws -> TicketDraft {
        let resident = ResidentInfo(channel: "open311", externalID: email ?? key.name, displayName: displayName,
                                    language: decision.language, unit: unit)
        return try TicketDrafting.draft(decision, category: serviceCode, defaultPriority: triager.defaultPriorities[serviceCode],
                                        description: description, unit: unit, location: location, accessNotes: contactNotes,
                                        modelVersion: modelVersion, resident: resident)
    }
}
