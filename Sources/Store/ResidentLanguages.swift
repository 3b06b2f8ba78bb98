import Foundation

extension TicketStore {
    /// The language (`en`, `zh`) of each of these residents that has one,
    /// by resident id, in one read: what the staff queue shows beside each
    /// ticket (the queue listing itself reads only the tickets table).
    public func residentLanguages(ids: [Int64]) async throws -> [Int64: String] {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [:] }
        return try await run(StoreOperation(.read) { session, _ in
            let placeholders = Array(repeating: "?", count: unique.count).joined(separator: ", ")
            let rows = try session.query("SELECT id, language FROM residents WHERE id IN (\(placeholders))",
                                         unique.map { .integer($0) })
            var languages: [Int64: String] = [:]
            for row in rows {
                if let id = row.int64("id"), let language = row.string("language") { languages[id] = language }
            }
            return languages
        })
    }
}
