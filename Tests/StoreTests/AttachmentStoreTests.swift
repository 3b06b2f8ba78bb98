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

    @Test(arguments: Backend.all)
    func aPlatformPhotoIsLeasedToOneFetcherStoredOnceAndAFailureIsToldToTheResident(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let mei = ResidentInfo(channel: "telegram", externalID: "7001", language: "zh")
            let remote = AttachmentDraft(fetching: MediaReference(channel: "telegram", locator: "AgAD-1", declaredType: "image/jpeg"))
            let gone = AttachmentDraft(fetching: MediaReference(channel: "telegram", locator: "AgAD-2", declaredType: "image/jpeg"))
            let outcome = try await store.commitTurn(turn(mei, "t-1", version: 0, tickets: [draft()], photos: [remote, gone]))
            let filed = try #require(outcome.ticketNumbers.first)
            var detail = try await store.ticketDetail(number: filed)
            #expect(detail.attachments.map(\.fetch) == [.fetching, .fetching] && detail.attachments.allSatisfy { $0.ticketNumber == filed })
            #expect(try await store.queue().first?.photoCount == 2, "the queue shows photos on their way")

            // Three fetchers at once (servers sharing the database): each file goes to one of them.
            let now = db.clock.now
            async let a = store.claimMediaFetches(now: now, lease: 60, limit: 1, channels: ["telegram"])
            async let b = store.claimMediaFetches(now: now, lease: 60, limit: 1, channels: ["telegram"])
            async let c = store.claimMediaFetches(now: now, lease: 60, limit: 1, channels: ["telegram"])
            let claimed = try await a + b + c
            #expect(Set(claimed.map(\.reference.locator)) == ["AgAD-1", "AgAD-2"] && claimed.count == 2)
            #expect(try await store.claimMediaFetches(now: now, lease: 60, limit: 5, channels: ["slack"]).isEmpty)
            #expect(try await store.claimMediaFetches(now: now.addingTimeInterval(59), lease: 60, limit: 5, channels: ["telegram"]).isEmpty)

            // The first is stored; storing it again (a worker whose lease ran out) changes nothing.
            let first = try #require(claimed.first { $0.reference.locator == "AgAD-1" })
            #expect(try await store.storeMediaFetch(id: first.attachmentID, image: Self.photo))
            #expect(try await store.storeMediaFetch(id: first.attachmentID, image: Self.other) == false)
            #expect(try await store.attachment(ticket: filed, id: first.attachmentID).data == Self.photo.data)

            // The second fails for good: recorded on it, and the resident told in their language.
            let second = try #require(claimed.first { $0.reference.locator == "AgAD-2" })
            #expect(try await store.failMediaFetch(id: second.attachmentID, error: "telegram file: HTTP 404") { language, ticket in
                language == "zh" ? "照片（工单 #\(ticket ?? 0)）下载失败" : "wrong language"
            })
            detail = try await store.ticketDetail(number: filed)
            #expect(detail.attachments.map(\.fetch) == [.stored, .failed(reason: "telegram file: HTTP 404")])
            let told = try await store.dueOutbox(now: .distantFuture, channel: "telegram", recipient: "7001").map(\.text)
            #expect(told.last == "照片（工单 #\(filed)）下载失败", "\(told)")
            #expect(try await store.queue().first?.photoCount == 1)
            #expect(try await store.claimMediaFetches(now: now.addingTimeInterval(3_600), lease: 60, limit: 5, channels: ["telegram"]).isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func aRetriedFetchWaitsForItsTimeAndAnErasedOneIsNeverFetched(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let cy = ResidentInfo(channel: "sms", externalID: "+16045550100")
            let remote = AttachmentDraft(fetching: MediaReference(channel: "sms", locator: "https://api.twilio.com/x/ME1"))
            _ = try await store.commitTurn(turn(cy, "s-1", version: 0, photos: [remote]))
            let now = db.clock.now
            let claimed = try await store.claimMediaFetches(now: now, lease: 60, limit: 5, channels: ["sms"])
            let fetch = try #require(claimed.first)
            try await store.retryMediaFetch(id: fetch.attachmentID, error: "twilio media: HTTP 503", retryAt: now.addingTimeInterval(30))
            #expect(try await store.claimMediaFetches(now: now.addingTimeInterval(29), lease: 60, limit: 5, channels: ["sms"]).isEmpty)
            let again = try await store.claimMediaFetches(now: now.addingTimeInterval(30), lease: 60, limit: 5, channels: ["sms"])
            #expect(again.map(\.attempts) == [1])
            // Given back by a stopping worker: due at once.
            #expect(try await store.releaseMediaFetches(ids: again.map(\.attachmentID), leasedUntil: again[0].leasedUntil,
                                                        dueAt: now.addingTimeInterval(31)) == 1)
            _ = try await store.forgetResident("sms:+16045550100", actor: "admin")
            #expect(try await store.claimMediaFetches(now: now.addingTimeInterval(3_600), lease: 60, limit: 5, channels: ["sms"]).isEmpty,
                    "a forgotten resident's photo is never fetched")
            #expect(try await store.storeMediaFetch(id: fetch.attachmentID, image: Self.photo) == false)
        }
    }
}
