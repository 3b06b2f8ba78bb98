import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport

/// The Open311 GeoReport v2 API over a real socket: services, requests,
/// the public and full views, filters, errors and formats.
@Suite(.serialized) struct Open311Tests {
    // MARK: Services

    @Test func servicesAreThePacksCategoriesWithTheSpecFields() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let response = try await server.open311("services.json")
            #expect(response.status == 200 && response.headers["content-type"]?.hasPrefix("application/json") == true)
            let services = try #require(response.json as? [[String: Any]], "\(response.text)")
            #expect(services.map { $0["service_code"] as? String } == CommunityFixture.pack.categories.map(\.id))
            for service in services {
                GeoReportSpec.expectFields(service, GeoReportSpec.serviceFields, required: GeoReportSpec.serviceRequired, what: "a service")
                #expect(service["metadata"] as? Bool == false)
                #expect(GeoReportSpec.serviceTypes.contains(service["type"] as? String ?? ""))
            }
            let plumbing = try #require(services.first { $0["service_code"] as? String == "plumbing" })
            #expect(plumbing["service_name"] as? String == "Plumbing")
            #expect((plumbing["keywords"] as? String)?.contains("水管") == true)

            let definition = try await server.open311("services/plumbing.json")
            let object = try #require(definition.json as? [String: Any], "\(definition.text)")
            GeoReportSpec.expectFields(object, GeoReportSpec.definitionFields, required: ["service_code"], what: "a service definition")
            #expect(object["service_code"] as? String == "plumbing" && (object["attributes"] as? [Any])?.isEmpty == true)

            let unknown = GeoReportSpec.expectError(try await server.open311("services/teleportation.json"), status: 404)
            #expect(unknown.contains("teleportation"))
        }
    }

    @Test func xmlIsServedToo() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let services = try await server.open311("services.xml")
            #expect(services.status == 200 && services.headers["content-type"]?.hasPrefix("text/xml") == true)
            #expect(services.text.hasPrefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service><service_code>"))
            #expect(services.text.components(separatedBy: "<service>").count - 1 == CommunityFixture.pack.categories.count)
            #expect(services.text.contains("<metadata>false</metadata><type>realtime</type>"))

            try await server.store.createTicket(TicketDraft(category: "noise", priority: .p3, description: "drums & <bass> at 2am"),
                                                actor: "gina")
            let requests = try await server.open311("requests.xml?api_key=\(try await server.key(.full))")
            #expect(requests.text.contains("<service_requests><request><service_request_id>1</service_request_id><status>open</status>"),
                    "\(requests.text)")
            #expect(requests.text.contains("<description>drums &amp; &lt;bass&gt; at 2am</description>"), "markup is escaped")
            #expect(requests.text.contains("<lat/>"), "an empty field is an empty element")

            let error = try await server.open311("requests/77.xml")
            #expect(error.status == 404 && error.text.contains("<errors><error><code>404</code><description>"), "\(error.text)")
        }
    }

    // MARK: Requests: views

    @Test func everyoneSeesThePublicViewAndAFullKeyAlsoSeesPrioritiesUnitsAndContacts() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let ana = ResidentInfo(channel: "sms", externalID: "+16045550100", displayName: "Ana Lima", unit: "4B")
            try await server.store.createTicket(TicketDraft(category: "plumbing", priority: .p2, description: "kitchen sink leaks",
                                                            unit: "4B", location: "kitchen", resident: ana), actor: "concierge")
            try await server.store.createTicket(TicketDraft(category: "lighting", priority: .p3, description: "lobby light flickers",
                                                            location: "lobby"), actor: "gina")
            try await server.store.addNote(number: 1, text: "Plumber booked; call 604-555-0199 if it gets worse", visibility: .public,
                                           actor: "gina")
            try await server.store.addNote(number: 1, text: "tenant is difficult", visibility: .internal, actor: "gina")
            try await server.store.changeStatus(number: 2, to: .resolved, actor: "gina")
            let publicKey = try await server.key(.public)
            let fullKey = try await server.key(.full)
            let privateFields = ["priority", "safety_rule", "unit", "access_notes", "resident_name", "resident_channel", "resident_contact"]

            for query in ["", "?api_key=\(publicKey)"] {
                let response = try await server.open311("requests.json\(query)")
                let requests = try #require(response.json as? [[String: Any]], "\(response.text)")
                #expect(requests.map { $0["service_request_id"] as? String } == ["2", "1"], "newest first, ids as strings")
                for request in requests {
                    GeoReportSpec.expectFields(request, GeoReportSpec.requestFields, required: GeoReportSpec.requestRequired, what: "a request")
                    for field in GeoReportSpec.dateTimeFields {
                        if let text = request[field] as? String { #expect(GeoReportSpec.isDateTime(text), "\(field): \(text)") }
                    }
                    for field in privateFields { #expect(request[field] == nil, "the public view has no \(field)") }
                    #expect(request["description"] is NSNull, "residents' own words are not public")
                    #expect(!response.text.contains("4B") && !response.text.contains("Ana Lima") && !response.text.contains("+1604"))
                }
                let sink = try #require(requests.last)
                #expect(sink["status"] as? String == "open" && sink["service_name"] as? String == "Plumbing")
                #expect(sink["status_notes"] as? String == "Plumber booked; call [phone …99] if it gets worse",
                        "the latest public note, contact details masked; never an internal note")
                #expect((sink["address"] as? String)?.contains("kitchen") == false, "a room in a unit is not public")
                #expect(sink["expected_datetime"] is String, "the SLA due time")
                let lobby = try #require(requests.first)
                #expect(lobby["status"] as? String == "closed" && lobby["status_notes"] is NSNull)
                #expect((lobby["address"] as? String)?.hasPrefix("lobby, 2150 Maple Court Lane") == true, "a common area is public")
            }

            let response = try await server.open311("requests.json?api_key=\(fullKey)")
            let requests = try #require(response.json as? [[String: Any]], "\(response.text)")
            let sink = try #require(requests.last)
            GeoReportSpec.expectFields(sink, GeoReportSpec.requestFields + privateFields, required: GeoReportSpec.requestRequired,
                                       what: "a request in the full view")
            #expect(sink["priority"] as? String == "P2" && sink["unit"] as? String == "4B")
            #expect(sink["resident_name"] as? String == "Ana Lima" && sink["resident_contact"] as? String == "+16045550100")
            #expect(sink["resident_channel"] as? String == "sms" && sink["description"] as? String == "kitchen sink leaks")
            #expect((sink["address"] as? String)?.hasPrefix("kitchen, unit 4B, ") == true)
            #expect(sink["status_notes"] as? String == "Plumber booked; call 604-555-0199 if it gets worse")
            #expect(sink["service_notice"] as? String == "someone will respond within 24 hours")

            let one = try await server.open311("requests/1.json?api_key=\(fullKey)")
            let single = try #require(one.json as? [[String: Any]], "\(one.text)")
            #expect(single.count == 1 && single[0]["service_request_id"] as? String == "1" && single[0]["priority"] as? String == "P2")
            let anonymous = try #require(try await server.open311("requests/1.json").json as? [[String: Any]])
            #expect(anonymous.count == 1 && anonymous[0]["priority"] == nil)
            GeoReportSpec.expectError(try await server.open311("requests/99.json"), status: 404)
            GeoReportSpec.expectError(try await server.open311("requests/abc.json"), status: 404)
        }
    }

    @Test func aRevokedOrUnknownKeyIsRefused() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let issued = try await server.store.addAPIKey(name: "old-dashboard", scope: .full)
            #expect(try await server.open311("requests.json?api_key=\(issued.secret)").status == 200)
            try await server.store.revokeAPIKey(name: "old-dashboard")
            let refused = GeoReportSpec.expectError(try await server.open311("requests.json?api_key=\(issued.secret)"), status: 403)
            #expect(refused.contains("api_key"))
            GeoReportSpec.expectError(try await server.open311("services.json?api_key=not-a-key"), status: 403)
            GeoReportSpec.expectError(try await server.open311Post(["api_key": issued.secret, "service_code": "plumbing",
                                                                    "description": "sink leaks", "address_string": "4B"]), status: 403)
            #expect(try await server.store.statistics().tickets == 0)
        }
    }

    // MARK: Requests: filters

    @Test func requestsAreFilteredByIdCodeStatusAndDates() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            for (category, text) in [("plumbing", "sink leaks"), ("noise", "loud music"), ("plumbing", "toilet runs")] {
                try await server.store.createTicket(TicketDraft(category: category, priority: .p3, description: text), actor: "gina")
            }
            try await server.store.changeStatus(number: 3, to: .rejected, actor: "gina")
            func ids(_ query: String) async throws -> [String] {
                let response = try await server.open311("requests.json?\(query)")
                #expect(response.status == 200, "\(query): \(response.text)")
                return (response.json as? [[String: Any]] ?? []).compactMap { $0["service_request_id"] as? String }
            }
            #expect(try await ids("") == ["3", "2", "1"])
            #expect(try await ids("service_request_id=2,1,42") == ["2", "1"], "in the order asked; unknown ids left out")
            #expect(try await ids("service_request_id=2&service_code=plumbing&status=closed") == ["2"], "ids override every other argument")
            #expect(try await ids("service_code=plumbing") == ["3", "1"])
            #expect(try await ids("service_code=plumbing,noise&status=open") == ["2", "1"])
            #expect(try await ids("status=closed") == ["3"])
            #expect(try await ids("status=open,closed") == ["3", "2", "1"])
            #expect(try await ids("jurisdiction_id=maplecourt.example") == ["3", "2", "1"], "jurisdiction_id is accepted")

            let clock = ISO8601DateFormatter()
            let now = Date()
            let hourAgo = RunningServer.formEncode(clock.string(from: now.addingTimeInterval(-3600)))
            let inAnHour = RunningServer.formEncode(clock.string(from: now.addingTimeInterval(3600)))
            let tomorrow = RunningServer.formEncode(clock.string(from: now.addingTimeInterval(86_400)))
            #expect(try await ids("start_date=\(hourAgo)&end_date=\(inAnHour)") == ["3", "2", "1"])
            #expect(try await ids("start_date=\(inAnHour)&end_date=\(tomorrow)").isEmpty)
            #expect(try await ids("end_date=\(hourAgo)").isEmpty)
            #expect(try await ids("start_date=2020-01-01T00:00:00Z").isEmpty, "90 days from the start date")

            let badStatus = GeoReportSpec.expectError(try await server.open311("requests.json?status=pending"), status: 400)
            #expect(badStatus.contains("status"))
            let badCode = GeoReportSpec.expectError(try await server.open311("requests.json?service_code=teleport"), status: 400)
            #expect(badCode.contains("service_code"))
            let badDate = GeoReportSpec.expectError(try await server.open311("requests.json?start_date=yesterday"), status: 400)
            #expect(badDate.contains("start_date"))
            let tooLong = GeoReportSpec.expectError(
                try await server.open311("requests.json?start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z"), status: 400)
            #expect(tooLong.contains("90 days"))
            GeoReportSpec.expectError(try await server.open311("requests.json?start_date=2025-02-01T00:00:00Z&end_date=2025-01-01T00:00:00Z"),
                                      status: 400)
        }
    }

    // MARK: Errors

    @Test func everyRefusalIsAGeoReportErrorList() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            #expect(GeoReportSpec.expectError(try await server.open311("tokens/abc.json"), status: 404).contains("/open311/v2/tokens/abc.json"))
            GeoReportSpec.expectError(try await server.open311("discovery.json"), status: 404)
            GeoReportSpec.expectError(try await server.get(path: "/open311/v1/services.json"), status: 404)
            #expect(GeoReportSpec.expectError(try await server.open311("services.csv"), status: 400).contains("services.json"))
            GeoReportSpec.expectError(try await server.open311("services"), status: 404)
            GeoReportSpec.expectError(try await server.open311("requests"), status: 404)
            GeoReportSpec.expectError(try await server.get(path: "/open311/v2"), status: 404)
            GeoReportSpec.expectError(try await server.get(path: "/open311"), status: 404)
            GeoReportSpec.expectError(try await server.open311Post([:], path: "requests"), status: 404)
            let delete = try await server.send(method: "DELETE", path: "/open311/v2/requests/1.json")
            #expect(GeoReportSpec.expectError(delete, status: 405).contains("GET"))
            GeoReportSpec.expectError(try await server.open311("requests.json?status=%ZZ"), status: 400)
        }
    }

    @Test func everyEndpointAnswers503WhileTheModelLoads() async throws {
        try await RunningServer.with(loaded: false, transport: .inProcess) { server in
            for path in ["services.json", "services/plumbing.json", "requests.json", "requests/1.json"] {
                let response = try await server.open311(path)
                GeoReportSpec.expectError(response, status: 503)
                #expect(response.headers["retry-after"] == "5", "\(path)")
            }
            let key = try await server.key(.public)
            GeoReportSpec.expectError(try await server.open311Post(["api_key": key, "service_code": "plumbing", "description": "sink leaks",
                                                                    "address_string": "4B"]), status: 503)
        }
    }
}

extension RunningServer {
    /// A GET of `/open311/v2/` + `path`.
    func open311(_ path: String) async throws -> HTTPTestResponse {
        try await get(path: "/open311/v2/" + path)
    }

    /// A form-encoded POST to `/open311/v2/requests.json` (or `path`).
    func open311Post(_ fields: [String: String], path: String = "requests.json",
                     contentType: String = "application/x-www-form-urlencoded") async throws -> HTTPTestResponse {
        let form = fields.sorted { $0.key < $1.key }.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        return try await send(path: "/open311/v2/" + path, headers: [("Content-Type", contentType)],
                                             body: Array(form.utf8))
    }

    /// A new API key's secret.
    func key(_ scope: APIKeyScope) async throws -> String {
        try await store.addAPIKey(name: "\(scope.rawValue)-\(UUID().uuidString.prefix(8))", scope: scope).secret
    }
}
