import Foundation

extension TicketStore {
    // MARK: Maintenance

    /// Row counts and the schema version.
    public func statistics() async throws -> StoreStatistics {
        try await run(StoreOperation(.read) { session, _ in
            let openList = TicketStatus.open.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            var statistics = StoreStatistics(
                schemaVersion: try session.schemaVersion(),
                residents: try session.scalarInt("SELECT COUNT(*) AS n FROM residents"),
                conversations: try session.scalarInt("SELECT COUNT(*) AS n FROM conversations"),
                messages: try session.scalarInt("SELECT COUNT(*) AS n FROM messages"),
                tickets: try session.scalarInt("SELECT COUNT(*) AS n FROM tickets"),
                openTickets: try session.scalarInt("SELECT COUNT(*) AS n FROM tickets WHERE status IN (\(openList))"),
                events: try session.scalarInt("SELECT COUNT(*) AS n FROM ticket_events"),
                outboxPending: try session.scalarInt("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND cancelled_at IS NULL"),
                correctionsPending: try session.scalarInt("SELECT COUNT(*) AS n FROM corrections WHERE exported_at IS NULL"))
            statistics.attachments = try session.scalarInt("SELECT COUNT(*) AS n FROM attachments WHERE erased_at IS NULL")
            statistics.attachmentBytes = try session.scalarInt(
                "SELECT CAST(COALESCE(SUM(byte_count), 0) AS BIGINT) AS n FROM attachments WHERE erased_at IS NULL")
            return statistics
        })
    }

    /// The schema version of the database.
    public func schemaVersion() async throws -> Int {
        try await run(StoreOperation(.read) { session, _ in try session.schemaVersion() })
    }

    /// Every ticket number in the store (for integrity checks and tests).
    public func ticketNumbers() async throws -> Set<Int> {
        try await run(StoreOperation(.read) { session, _ in
            Set(try session.query("SELECT number FROM tickets", []).compactMap { $0.int("number") })
        })
    }
}

/// What both stores run when they open (`inspectSchema`, `migrate`) and in
/// `check()` (`checkTicketNumbers`), each inside a transaction of theirs.
extension SQLSession {
    /// The schema version recorded in the database, or nil when it has no
    /// `schema_migrations` table. Throws `notAConciergeDatabase` when it holds
    /// other tables and `schemaTooNew` when it is newer than this build. Reads only.
    func inspectSchema(location: String) throws -> Int? {
        let tables = try userTables()
        guard tables.contains("schema_migrations") else {
            if !tables.isEmpty { throw StoreError.notAConciergeDatabase(location: location) }
            return nil
        }
        let version = try scalarInt("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        if version > Migrations.latestVersion {
            throw StoreError.schemaTooNew(found: version, supported: Migrations.latestVersion)
        }
        return version
    }

    /// Brings the schema to the latest version. Returns the versions applied.
    func migrate(location: String, now: Date) throws -> [Int] {
        if dialect == .postgres {
            // Several servers may start at once: one migrates, the others wait here.
            _ = try query("SELECT pg_advisory_xact_lock(7202611) AS locked", [])
        }
        let current: Int
        if let version = try inspectSchema(location: location) {
            current = version
        } else {
            try execute("""
                CREATE TABLE schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """, [])
            current = 0
        }
        var applied: [Int] = []
        for migration in Migrations.all where migration.version > current {
            for statement in migration.sql(for: dialect) {
                try execute(statement, [])
            }
            try execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.int(migration.version), .text(migration.name), .date(now)])
            applied.append(migration.version)
        }
        return applied
    }

    /// Row-level checks both engines can run: ticket numbers are 1…N without gaps or repeats, and the counter agrees.
    func checkTicketNumbers() throws -> (problems: [String], tickets: Int, highest: Int) {
        let count = try scalarInt("SELECT COUNT(*) AS n FROM tickets")
        let distinct = try scalarInt("SELECT COUNT(DISTINCT number) AS n FROM tickets")
        let highest = try scalarInt("SELECT COALESCE(MAX(number), 0) AS n FROM tickets")
        let counter = try scalarInt("SELECT value FROM counters WHERE name = 'ticket_number'")
        var problems: [String] = []
        if distinct != count { problems.append("\(count - distinct) repeated ticket numbers") }
        if highest != count { problems.append("ticket numbers have gaps: \(count) tickets, highest number \(highest)") }
        if counter != highest { problems.append("the number counter is \(counter) but the highest ticket is #\(highest)") }
        let withoutEvent = try scalarInt("""
            SELECT COUNT(*) AS n FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id)
            """)
        if withoutEvent > 0 { problems.append("\(withoutEvent) tickets have no audit event") }
        return (problems, count, highest)
    }

    /// The latest schema version applied.
    fileprivate func schemaVersion() throws -> Int {
        try scalarInt("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
    }

    /// Tables of the database that are not Concierge's bookkeeping.
    private func userTables() throws -> [String] {
        let sql: String
        switch dialect {
        case .sqlite:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        case .postgres:
            sql = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        }
        return try query(sql, []).compactMap { $0.string("name") }
    }
}
