import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport
import Triage

/// `POST /open311/v2/requests.json`: a key, the spec's arguments, and the
/// same triage as residents' messages.
@Suite(.serialized) struct Open311SubmissionTests {
    @Test func aGasSmellIsFiledAsP1WithTheGasRuleAndItsGuidance() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let key = try await server.store.addAPIKey(name: "city-311", scope: .public)
            let response = try await server.open311Post([
                "api_key": key.secret, "jurisdiction_id": "maplecourt.example", "service_code": "building_maintenance",
                "description": "I smell gas in the basement", "address_string": "basement, building 2",
                "email": "sam@example.org", "first_name": "Sam", "last_name": "Oduya", "phone": "604-555-0123",
                "media_url": "https://example.org/photo.jpg", "attribute[WHISPER]": "ignored",
            ])
            #expect(response.status == 200, "\(response.text)")
            let receipts = try #require(response.json as? [[String: Any]], "\(response.text)")
            #expect(receipts.count == 1)
            GeoReportSpec.expectFields(receipts[0], GeoReportSpec.receiptFields, required: ["service_request_id"], what: "a receipt")
            let id = try #require(receipts[0]["service_request_id"] as? String)
            let notice = try #require(receipts[0]["service_notice"] as? String)
            #expect(notice.contains("Leave the building") && notice.contains("within 1 hour"), "the gas guidance, then the target: \(notice)")

            let ticket = try await server.store.ticketDetail(number: try #require(Int(id)))
            #expect(ticket.ticket.priority == .p1, "a safety rule makes it P1 whatever the category's default")
            #expect(ticket.ticket.safetyRule == "gas")
            #expect(ticket.ticket.emergency == .rule, "drafted by the same rule as the chat: how its P1 was reached")
            #expect(ticket.ticket.category == "building_maintenance", "the caller's service_code is the category")
            #expect(ticket.ticket.location == "basement, building 2")
            #expect(ticket.ticket.accessNotes == "phone: 604-555-0123; media: https://example.org/photo.jpg")
            #expect(ticket.ticket.description == "I smell gas in the basement")
            #expect(ticket.resident?.channel == "open311" && ticket.resident?.externalID == "sam@example.org")
            #expect(ticket.resident?.displayName == "Sam Oduya")
            #expect(ticket.events.first?.actor == "open311:city-311")
            let triage = try TriageDecision.decode(jsonLine: try #require(ticket.ticket.triage))
            #expect(triage.safety?.rule == "gas" && triage.text == "I smell gas in the basement")
            #expect(triage.explanation?.intentWords.isEmpty == false, "the triage is explained for staff")

            // The new request as everyone and as a full key see it.
            let everyone = try #require(try await server.open311("requests/\(id).json").json as? [[String: Any]])
            #expect(everyone.first?["status"] as? String == "open" && everyone.first?["priority"] == nil)
            #expect((everyone.first?["address"] as? String)?.hasPrefix("basement, building 2, ") == true, "common areas are public")
            let full = try await server.key(.full)
            let seen = try #require(try await server.open311("requests/\(id).json?api_key=\(full)").json as? [[String: Any]])
            #expect(seen.first?["priority"] as? String == "P1" && seen.first?["safety_rule"] as? String == "gas")
            #expect(seen.first?["resident_contact"] as? String == "sam@example.org")
        }
    }

    @Test func anOrdinaryRequestKeepsTheTriagesPriorityAndTheKeysName() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let key = try await server.key(.public)
            let response = try await server.open311Post(["api_key": key, "service_code": "plumbing", "lat": "49.2606", "long": "-123.0701",
                                                         "description": "the kitchen tap drips a little, no rush"])
            #expect(response.status == 200, "\(response.text)")
            let receipt = (response.json as? [[String: Any]])?.first?["service_request_id"] as? String
            let id = try #require(receipt.flatMap { Int($0) })
            let detail = try await server.store.ticketDetail(number: id)
            let decision = try CommunityFixture.triager.triage("the kitchen tap drips a little, no rush")
            #expect(decision.safety == nil)
            let plumbingDefault = CommunityFixture.pack.categories.first { $0.id == "plumbing" }?.defaultPriority
            #expect(detail.ticket.priority == (decision.priority ?? plumbingDefault), "the same triage as residents' messages")
            #expect(detail.ticket.safetyRule == nil && detail.ticket.location == "lat 49.2606, long -123.0701")
            #expect(detail.resident?.externalID.hasPrefix("public-") == true, "without an email the key's name is the resident")
            #expect(detail.transcript.first?.text == "the kitchen tap drips a little, no rush")
            // The API key may also come in the query string, as some clients send it.
            let viaQuery = try await server.send(
                path: "/open311/v2/requests.json?api_key=\(key)", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("service_code=noise&address_id=17&description=dog+barking+all+night".utf8))
            #expect(viaQuery.status == 200, "\(viaQuery.text)")
            #expect(try await server.store.ticket(number: id + 1).description == "dog barking all night")
        }
    }

    @Test func refusalsNameTheArgumentAndStoreNothing() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let key = try await server.key(.public)
            let valid = ["api_key": key, "service_code": "plumbing", "description": "sink leaks", "address_string": "unit 4B"]
            func refused(_ fields: [String: String], status: Int, naming: String,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let description = GeoReportSpec.expectError(try await server.open311Post(fields), status: status, sourceLocation: sourceLocation)
                #expect(description.contains(naming), "\(description)", sourceLocation: sourceLocation)
            }
            try await refused(valid.filter { $0.key != "api_key" }, status: 403, naming: "api_key")
            try await refused(valid.merging(["api_key": "wrong"]) { $1 }, status: 403, naming: "api_key")
            try await refused(valid.filter { $0.key != "service_code" }, status: 400, naming: "service_code")
            try await refused(valid.merging(["service_code": "teleportation"]) { $1 }, status: 400, naming: "service_code")
            try await refused(valid.filter { $0.key != "description" }, status: 400, naming: "description")
            try await refused(valid.merging(["description": "   "]) { $1 }, status: 400, naming: "description")
            try await refused(valid.merging(["description": String(repeating: "x", count: 4001)]) { $1 }, status: 400, naming: "4000")
            try await refused(valid.filter { $0.key != "address_string" }, status: 400, naming: "location")
            try await refused(valid.filter { $0.key != "address_string" }.merging(["lat": "49.2"]) { $1 }, status: 400, naming: "long")
            try await refused(valid.merging(["lat": "north", "long": "-123"]) { $1 }, status: 400, naming: "lat")
            try await refused(valid.merging(["email": "not an email"]) { $1 }, status: 400, naming: "email")
            try await refused(valid.merging(["media_url": "javascript:alert(1)"]) { $1 }, status: 400, naming: "media_url")
            let json = try await server.open311Post(valid, contentType: "application/json")
            #expect(GeoReportSpec.expectError(json, status: 400).contains("x-www-form-urlencoded"))
            GeoReportSpec.expectError(try await server.open311Post(valid, path: "services.json"), status: 404)
            #expect(try await server.store.statistics().tickets == 0, "nothing refused was filed")

            // The same arguments, whole, are accepted.
            #expect(try await server.open311Post(valid).status == 200)
            #expect(try await server.store.statistics().tickets == 1)
        }
    }
}
