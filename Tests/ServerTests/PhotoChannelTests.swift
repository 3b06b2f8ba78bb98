import AssistantTestSupport
import Foundation
@testable import Server
import Store
import Testing
import TestSupport

/// Photos over the REST channel, end to end on a real socket, and the staff
/// page's photo route.
@Suite struct PhotoChannelTests {
    static let jpegWithGPS = Data(TestImages.greyJPEG(withGPS: true)).base64EncodedString()

    func restPhoto(_ server: RunningServer, text: String, data: String, messageID: String) async throws -> HTTPTestResponse {
        try await server.postJSON(
            path: "/webhooks/rest/webhook",
            json: ["sender": "ana", "message": text,
                   "metadata": ["message_id": messageID, "attachments": [["content_type": "image/jpeg", "data": data]]]],
            headers: [("Authorization", "Bearer \(TestSecrets.restToken)")])
    }

    @Test func aPhotoAfterFilingJoinsTheTicketWithoutItsGPSAndStaffAloneSeeIt() async throws {
        try await RunningServer.with { server in
            let resident = ResidentInfo(channel: "rest", externalID: "ana", language: "en")
            let ticket = try await server.store.createTicket(
                TicketDraft(category: "plumbing", priority: .p3, description: "water drips from the bathroom ceiling", resident: resident),
                actor: "concierge")
            let response = try await restPhoto(server, text: "here's a picture", data: Self.jpegWithGPS, messageID: "p-1")
            #expect(response.status == 200)
            let reply = try #require((response.json as? [[String: Any]])?.first?["text"] as? String)
            #expect(reply.contains("#\(ticket.number)") && reply.lowercased().contains("photo"), "\(reply)")
            // Redelivered: the same reply, nothing stored twice.
            #expect(try await restPhoto(server, text: "here's a picture", data: Self.jpegWithGPS, messageID: "p-1").status == 200)
            let photos = try await server.store.ticketDetail(number: ticket.number).attachments
            #expect(photos.count == 1 && photos.first?.contentType == "image/jpeg")
            let id = try #require(photos.first?.id)
            let stored = try await server.store.attachment(ticket: ticket.number, id: id).data
            #expect([UInt8](stored) == TestImages.greyJPEG(withGPS: false), "stored without its EXIF GPS and comment")

            let path = "/staff/tickets/\(ticket.number)/attachments/\(id)"
            #expect(try await server.get(path: path).status == 401, "no session, no photo")
            let staff = try await StaffClient.session(for: try await server.staffAccount("gina", role: .staff),
                                                      store: server.store, server: server)
            let image = try await staff.get(path)
            #expect(image.status == 200 && image.headers["content-type"] == "image/jpeg")
            #expect(image.headers["x-content-type-options"] == "nosniff" && image.headers["content-security-policy"] != nil)
            #expect(Data(image.body) == stored)
            #expect(try await staff.get("/staff/tickets/\(ticket.number)/attachments/\(id + 1)").status == 404)
            let page = try await staff.get("/staff/tickets/\(ticket.number)")
            #expect(page.text.contains("src=\"\(path)\""))

            // Open311: a full key's view links the first photo (on the staff page); a public key's does not.
            func mediaURL(_ scope: APIKeyScope) async throws -> Any? {
                let key = try await server.store.addAPIKey(name: "photo-\(scope.rawValue)", scope: scope).secret
                let view = try await server.get(path: "/open311/v2/requests/\(ticket.number).json?api_key=\(key)")
                return (view.json as? [[String: Any]])?.first?["media_url"]
            }
            let link = try await mediaURL(.full) as? String
            #expect(link == TestSecrets.publicURL + path, "\(link ?? "none")")
            #expect(try await mediaURL(.public) is NSNull)
        }
    }

    @Test func badBase64IsA400AndAFileThatIsNotAnImageIsRefusedInTheReply() async throws {
        try await RunningServer.with { server in
            let malformed = try await restPhoto(server, text: "my sink", data: "not base64 at all!", messageID: "b-1")
            #expect(malformed.status == 400)
            #expect((malformed.json as? [String: Any])?["error"] != nil, "\(malformed.text)")
            let script = Data("<script>alert(1)</script>".utf8).base64EncodedString()
            let refused = try await restPhoto(server, text: "", data: script, messageID: "b-2")
            #expect(refused.status == 200)
            let reply = try #require((refused.json as? [[String: Any]])?.first?["text"] as? String)
            #expect(reply.contains("JPEG, PNG, WebP or HEIC"), "\(reply)")
            #expect(try await server.store.statistics().attachments == 0)
        }
    }
}
