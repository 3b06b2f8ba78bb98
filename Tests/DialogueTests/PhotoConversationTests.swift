import AssistantTestSupport
import DataPack
import Dialogue
import Foundation
import Store
import Testing
import TestSupport
import Triage

/// Where a resident's photo goes in the conversation (scripted triage: no model).
@Suite struct PhotoConversationTests {
    static let photo = InboundAttachment(data: Data(TestImages.greyJPEG(withGPS: true)), declaredType: "image/jpeg")

    func say(_ engine: ConversationEngine, _ text: String, photo: Bool = false, id: String) async throws -> ConversationReply {
        var message = InboundMessage(channel: "terminal", senderID: "ana", deliveryID: id, text: text, unit: "4B")
        if photo { message.attachments = [Self.photo] }
        return try await engine.handle(message)
    }

    func request(_ text: String) -> TriageDecision {
        TriageDecision(text: text, kind: .serviceRequest, intent: "plumbing", category: "plumbing", priority: .p3,
                       confidence: 0.95, alternatives: [ScoredLabel(label: "plumbing", probability: 0.95)])
    }

    @Test func aPhotoAloneAsksWhatIsWrongAndJoinsTheRequestThatFollows() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "the kitchen tap drips"
        let engine = makeEngine(test.store, triager: ScriptedTriager([request(message)]))
        let first = try await say(engine, "", photo: true, id: "1")
        #expect(first.text?.contains("What's the problem?") == true && first.ticketNumbers.isEmpty, "\(first.text ?? "")")
        let reply = try await say(engine, message, id: "2")
        let resident = Resident("ana", unit: "4B", engine: engine)
        let replies = try await resident.answerQuestions(after: reply, language: .en)
        let number = try #require(replies.flatMap(\.ticketNumbers).first, "the request was filed")
        #expect(try await test.store.ticketDetail(number: number).attachments.count == 1)
    }

    @Test func aPhotoDuringARequestJoinsItAndTheQuestionIsAskedAgain() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "water under the sink"
        let engine = makeEngine(test.store, triager: ScriptedTriager([request(message)]))
        let first = try await say(engine, message, id: "1")
        guard case .intake = first.pending else { Issue.record("expected the request's questions"); return }
        let photo = try await say(engine, "", photo: true, id: "2")
        #expect(photo.text?.contains("kept your photo with the request") == true, "\(photo.text ?? "")")
        guard case .intake = photo.pending else { Issue.record("the request was dropped: \(String(describing: photo.pending))"); return }
        let resident = Resident("ana", unit: "4B", engine: engine)
        let replies = try await resident.answerQuestions(after: photo, language: .en)
        let number = try #require(replies.flatMap(\.ticketNumbers).first)
        #expect(try await test.store.ticketDetail(number: number).attachments.count == 1)
        #expect(try await test.store.statistics().attachments == 1)
    }

    @Test func aPhotoOverTheCapIsRefusedWithTheCapInTheReply() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let engine = ConversationEngine(store: test.store, triager: ScriptedTriager([]), pack: CommunityFixture.pack,
                                        maxPhotoBytes: 100)
        #expect(TestImages.greyJPEG(withGPS: true).count > 100)
        let reply = try await say(engine, "", photo: true, id: "1")
        #expect(reply.text?.contains("up to 1 MB") == true, "\(reply.text ?? "")")
        #expect(try await test.store.statistics().attachments == 0)
    }

    @Test func aFileThatIsNotAnImageIsRefusedAndNothingIsKept() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        var message = InboundMessage(channel: "terminal", senderID: "bo", deliveryID: "1", text: "")
        message.attachments = [InboundAttachment(data: Data("%PDF-1.7".utf8), declaredType: "image/jpeg")]
        let reply = try await makeEngine(test.store, triager: ScriptedTriager([])).handle(message)
        #expect(reply.text?.contains("JPEG, PNG, WebP or HEIC") == true)
        #expect(try await test.store.statistics().attachments == 0)
    }

    @Test func aPlatformPhotoDuringARequestWaitsToBeFetchedAndJoinsItAndANonImageIsRefusedAtOnce() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        let message = "water under the sink"
        let engine = makeEngine(test.store, triager: ScriptedTriager([request(message)]))
        let first = try await say(engine, message, id: "1")
        guard case .intake = first.pending else { Issue.record("expected the request's questions"); return }
        var photo = InboundMessage(channel: "terminal", senderID: "ana", deliveryID: "2", text: "", unit: "4B")
        photo.remoteMedia = [RemoteMedia(MediaReference(channel: "telegram", locator: "AgAD-1", declaredType: "image/jpeg")),
                             RemoteMedia(MediaReference(channel: "telegram", locator: "BQAD-2", declaredType: "application/pdf"))]
        let reply = try await engine.handle(photo)
        let text = reply.text ?? ""
        #expect(text.contains("couldn't keep that file") && text.contains("kept your photo with the request"), "\(text)")
        guard case .intake = reply.pending else { Issue.record("the request was dropped: \(String(describing: reply.pending))"); return }
        let replies = try await Resident("ana", unit: "4B", engine: engine).answerQuestions(after: reply, language: .en)
        let number = try #require(replies.flatMap(\.ticketNumbers).first)
        let attachments = try await test.store.ticketDetail(number: number).attachments
        #expect(attachments.map(\.fetch) == [.fetching], "the PDF is not recorded; the photo waits for the media worker")
    }
}
