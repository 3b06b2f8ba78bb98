import AssistantTestSupport
import Foundation
import Server
import Store
import Testing

/// The background pass that closes resolutions nobody confirmed.
@Suite struct ResolutionCloserTests {
    @Test func closesWhatWaitedLongerThanConfirmDaysAndNothingElse() async throws {
        let test = try await TestStore()
        defer { Task { await test.close() } }
        for _ in 0..<2 {
            let ticket = try await test.store.createTicket(TicketDraft(category: "plumbing", priority: .p3, description: "tap drips"),
                                                           actor: "t")
            try await test.store.changeStatus(number: ticket.number, to: .resolved, actor: "gina")
        }
        let resolvedAt = try #require(try await test.store.ticket(number: 1).resolvedAt)
        let sixDays = ResolutionCloser(store: test.store, confirmDays: 7, now: { resolvedAt.addingTimeInterval(6 * 86_400) })
        #expect(await sixDays.pass().isEmpty)
        let eightDays = ResolutionCloser(store: test.store, confirmDays: 7, now: { resolvedAt.addingTimeInterval(8 * 86_400) })
        #expect(await eightDays.pass() == [1, 2])
        let closed = try await test.store.ticketDetail(number: 1)
        #expect(closed.ticket.status == .closed && closed.ticket.residentConfirmation == .autoClosed)
        #expect(closed.events.last?.actor == ResolutionCloser.actor)
    }
}
