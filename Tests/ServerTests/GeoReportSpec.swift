import Foundation
import Testing
import TestSupport

/// What the Open311 GeoReport v2 specification (wiki.open311.org/GeoReport_v2)
/// says each answer holds, written down for the tests to hold the server to.
enum GeoReportSpec {
    /// GET services: the fields of each service, and those the spec requires.
    static let serviceFields = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    static let serviceRequired = ["service_code", "service_name", "metadata", "type"]
    /// `type`: how a request of the service is handled.
    static let serviceTypes: Set<String> = ["realtime", "batch", "blackbox"]

    /// GET services/{code}: the service definition.
    static let definitionFields = ["service_code", "attributes"]

    /// GET requests, GET requests/{id}: the fields of each request, and those
    /// that must have a value.
    static let requestFields = [
        "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
        "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
        "lat", "long", "media_url",
    ]
    static let requestRequired = ["service_request_id", "status", "service_code", "requested_datetime"]
    static let statuses: Set<String> = ["open", "closed"]
    static let dateTimeFields = ["requested_datetime", "updated_datetime", "expected_datetime"]

    /// POST requests: the receipt (`service_request_id`, or a `token` for servers that file later).
    static let receiptFields = ["service_request_id", "service_notice", "account_id"]

    /// Errors: a list of these.
    static let errorFields = ["code", "description"]

    /// The spec's date-time: ISO 8601 (w3) with `Z` or an `HH:MM` offset.
    static func isDateTime(_ text: String) -> Bool {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/) != nil
    }

    /// Records an issue for every field of `fields` missing from `object`, and
    /// for every field of `required` that is null or empty.
    static func expectFields(_ object: [String: Any], _ fields: [String], required: [String] = [], what: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        for field in fields where object[field] == nil {
            Issue.record("\(what) lacks \"\(field)\": \(object.keys.sorted())", sourceLocation: sourceLocation)
        }
        for field in required {
            let value = object[field]
            if value == nil || value is NSNull || (value as? String)?.isEmpty == true {
                Issue.record("\(what) has no value for the required \"\(field)\"", sourceLocation: sourceLocation)
            }
        }
    }

    /// Checks a body is a GeoReport error list whose one entry has `status` as
    /// its code and a description; returns the description.
    @discardableResult
    static func expectError(_ response: HTTPTestResponse, status: Int, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        #expect(response.status == status, "\(response.status): \(response.text)", sourceLocation: sourceLocation)
        guard let errors = response.json as? [[String: Any]], errors.count == 1 else {
            Issue.record("not a GeoReport error list: \(response.text)", sourceLocation: sourceLocation)
            return ""
        }
        expectFields(errors[0], errorFields, required: errorFields, what: "an error", sourceLocation: sourceLocation)
        #expect(errors[0]["code"] as? Int == status, "the code is the HTTP status", sourceLocation: sourceLocation)
        return errors[0]["description"] as? String ?? ""
    }
}
