import Foundation
import Store
import Testing
import TestSupport

/// Residents' photos in the store, on every backend.
@Suite("Attachments (both engines)")
struct AttachmentStoreTests {
    static let photo = AttachmentDraft(contentType: "image/jpeg", data: Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]), sha256: "ab12")
    static let other = AttachmentDraft(contentType: "image/png", data: Data([0x89, 0x50, 0x4E, 0x47, 9]), sha256: "cd34")

    func turn(_ resident: ResidentInfo, _ id: String, version: Int, tickets: [TicketDraft] = [],
              photos: [AttachmentDraft] = [], on ticket: Int? = nil) -> ConversationTurn {
        ConversationTurn(resident: resident, deliveryID: id, inboundText: "📷", expectedVersion: version, newState: nil,
                         tickets: tickets, reply: "ok", attachments: photos, attachTo: ticket)
    }

    @Test(arguments: Backend.all)
    func aHeldPhotoJoinsTheNextRequestAndAPhotoCanJoinAnOwnTicket(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ana = ResidentInfo(channel: "rest", externalID: "ana")
            var outcome = try await store.commitTurn(turn(ana, "d-1", version: 0, photos: [Self.photo]))
            #expect(try await store.statistics().attachments == 1, "held, waiting for its request")
            // Redelivered: nothing stored twice.
            _ = try await store.commitTurn(turn(ana, "d-1", version: 0, photos: [Self.photo]))
            #expect(try await store.statistics().attachments == 1)
            db.clock.advance(by: 60)
            outcome = try await store.commitTurn(turn(ana, "d-2", version: outcome.version, tickets: [draft()]))
            let filed = try #require(outcome.ticketNumbers.first)
            var detail = try await store.ticketDetail(number: filed)
            #expect(detail.attachments.map(\.contentType) == ["image/jpeg"] && detail.attachments.first?.ticketNumber == filed)
            outcome = try await store.commitTurn(turn(ana, "d-3", version: outcome.version, photos: [Self.other], on: filed))
            detail = try await store.ticketDetail(number: filed)
            #expect(detail.attachments.map(\.sha256) == ["ab12", "cd34"])
            #expect(detail.events.last?.kind == "attachment")
            let (stored, bytes) = try await store.attachment(ticket: filed, id: detail.attachments[1].id)
            #expect(bytes == Self.other.data && stored.byteCount == 5)
            let statistics = try await store.statistics()
            #expect(statistics.attachments == 2 && statistics.attachmentBytes == 12)
            #expect(try await store.queue().first?.photoCount == 2)

            // Someone else's ticket, or an id of another ticket: refused, nothing stored.
            let bo = ResidentInfo(channel: "rest", externalID: "bo")
            await expectStoreError({ try await store.commitTurn(self.turn(bo, "b-1", version: 0, photos: [Self.photo], on: filed)) }) {
                $0 == .ticketNotFound(filed)
            }
            await expectStoreError({ try await store.attachment(ticket: filed + 1, id: detail.attachments[0].id) }) {
                $0 == .attachmentNotFound(ticket: filed + 1, id: detail.attachments[0].id)
            }
            #expect(try await store.statistics().attachments == 2)
        }
    }

    @Test(arguments: Backend.all)
    func aHeldPhotoWaitsADayAtMostAndForgettingOrPurgingErasesPhotos(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let cy = ResidentInfo(channel: "sms", externalID: "+16045550100")
            var outcome = try await store.commitTurn(turn(cy, "c-1", version: 0, photos: [Self.photo]))
            db.clock.advance(by: Attachment.heldWindow + 60)
            outcome = try await store.commitTurn(turn(cy, "c-2", version: outcome.version, tickets: [draft()]))
            let filed = try #require(outcome.ticketNumbers.first)
            #expect(try await store.ticketDetail(number: filed).attachments.isEmpty, "a day-old photo does not join a new request")
            #expect(try await store.purge(olderThanDays: 0, actor: "retention").attachmentsErased == 1, "the photo that found no request")
            _ = try await store.commitTurn(turn(cy, "c-3", version: outcome.version, photos: [Self.other], on: filed))
            let report = try await store.forgetResident("sms:+16045550100", actor: "admin")
            #expect(report.attachmentsErased == 1)
            let detail = try await store.ticketDetail(number: filed)
            #expect(detail.attachments.count == 1 && detail.attachments[0].erased)
            await expectStoreError({ try await store.attachment(ticket: filed, id: detail.attachments[0].id) }) {
                if case .attachmentNotFound = $0 { true } else { false }
            }
            #expect(try await store.statistics().attachments == 0)
        }
    }
}
