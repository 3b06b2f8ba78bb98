import Foundation
import Testing
@testable import Store

/// `residentLanguages(ids:)`, the staff queue's language column, on both engines.
@Suite("Resident languages (both engines)")
struct ResidentLanguagesTests {
    @Test(arguments: Backend.all)
    func languagesByResidentIDInOneRead(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            let li = try await store.createTicket(draft(resident: ResidentInfo(channel: "rest", externalID: "li", language: "zh")),
                                                  actor: "t")
            let ana = try await store.createTicket(draft(resident: ResidentInfo(channel: "rest", externalID: "ana", language: "en")),
                                                   actor: "t")
            let unknown = try await store.createTicket(draft(resident: ResidentInfo(channel: "rest", externalID: "x")), actor: "t")
            let ids = [li.residentID, ana.residentID, unknown.residentID, li.residentID].compactMap { $0 }
            #expect(ids.count == 4)
            let languages = try await store.residentLanguages(ids: ids + [9_999])
            #expect(languages == [li.residentID!: "zh", ana.residentID!: "en"])
            #expect(try await store.residentLanguages(ids: []).isEmpty)
        }
    }
}
