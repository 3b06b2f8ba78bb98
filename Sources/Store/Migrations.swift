import Foundation

/// A step of the schema, applied once, in order, in one transaction with its
/// row in `schema_migrations`. Both engines run the same list with the same
/// version numbers; a statement may be given for one engine only.
struct Migration: Sendable {
    enum Statement: Sendable {
        case common(String)
        case sqlite(String)
        case postgres(String)
    }

    var version: Int
    var name: String
    var statements: [Statement]

    func sql(for dialect: SQLDialect) -> [String] {
        statements.compactMap { statement in
            switch (statement, dialect) {
            case (.common(let sql), _): dialect.render(sql)
            case (.sqlite(let sql), .sqlite): sql
            case (.postgres(let sql), .postgres): sql
            default: nil
            }
        }
    }
}

/// The schema, version by version. Never edit a released migration: add one.
///
/// Times are integer milliseconds since 1970 (UTC) in both engines, so the
/// same SQL compares and sorts them. Priorities are the integers 1…4 (P1…P4).
enum Migrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "tickets, conversations, audit log, outbox, corrections", statements: [
            .common("""
            CREATE TABLE counters (
                name TEXT PRIMARY KEY,
                value BIGINT NOT NULL
            )
            """),
            .common("INSERT INTO counters (name, value) VALUES ('ticket_number', 0)"),
            .common("""
            CREATE TABLE residents (
                id {id},
                channel TEXT NOT NULL,
                external_id TEXT NOT NULL,
                display_name TEXT,
                language TEXT,
                unit TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                forgotten_at BIGINT,
                UNIQUE (channel, external_id)
            )
            """),
            .common("""
            CREATE TABLE conversations (
                id {id},
                resident_id BIGINT NOT NULL REFERENCES residents(id),
                state {blob},
                state_version BIGINT NOT NULL DEFAULT 0,
                handoff BOOLEAN NOT NULL DEFAULT FALSE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """),
            .common("CREATE UNIQUE INDEX conversations_resident ON conversations(resident_id)"),
            .common("""
            CREATE TABLE messages (
                id {id},
                conversation_id BIGINT NOT NULL REFERENCES conversations(id),
                direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                channel TEXT NOT NULL,
                delivery_id TEXT,
                text TEXT,
                redacted_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """),
            .common("CREATE INDEX messages_conversation ON messages(conversation_id, id)"),
            .common("""
            CREATE TABLE tickets (
                id {id},
                number BIGINT NOT NULL UNIQUE,
                resident_id BIGINT REFERENCES residents(id),
                conversation_id BIGINT REFERENCES conversations(id),
                category TEXT NOT NULL,
                priority BIGINT NOT NULL CHECK (priority BETWEEN 1 AND 4),
                status TEXT NOT NULL CHECK (status IN ('new', 'triaged', 'in_progress', 'pending_resident', 'resolved', 'closed', 'duplicate', 'rejected')),
                unit TEXT,
                location TEXT,
                access_notes TEXT,
                description TEXT,
                confidence {real},
                model_version TEXT,
                safety_rule TEXT,
                sla_due_at BIGINT,
                first_response_at BIGINT,
                assignee TEXT,
                duplicate_of BIGINT REFERENCES tickets(id),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                closed_at BIGINT,
                purged_at BIGINT
            )
            """),
            // The staff queue: open tickets by priority, then age. A partial
            // index holds only open tickets, so the queue stays small to scan
            // however many closed tickets pile up.
            .common("""
            CREATE INDEX tickets_queue ON tickets(priority, created_at, id)
            WHERE status IN ('new', 'triaged', 'in_progress', 'pending_resident')
            """),
            .common("CREATE INDEX tickets_resident ON tickets(resident_id)"),
            .common("CREATE INDEX tickets_conversation ON tickets(conversation_id)"),
            .common("CREATE INDEX tickets_closed ON tickets(closed_at) WHERE closed_at IS NOT NULL AND purged_at IS NULL"),
            .common("""
            CREATE TABLE ticket_events (
                id {id},
                ticket_id BIGINT NOT NULL REFERENCES tickets(id),
                actor TEXT NOT NULL,
                kind TEXT NOT NULL,
                from_value TEXT,
                to_value TEXT,
                created_at BIGINT NOT NULL
            )
            """),
            .common("CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id)"),
            // The audit log is append-only: the database itself refuses to
            // change or delete an entry.
            .sqlite("""
            CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END
            """),
            .sqlite("""
            CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
            BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END
            """),
            .postgres("""
            CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'ticket_events is append-only'; END $$
            """),
            .postgres("""
            CREATE TRIGGER ticket_events_no_change BEFORE UPDATE OR DELETE ON ticket_events
            FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only()
            """),
            .common("""
            CREATE TABLE notes (
                id {id},
                ticket_id BIGINT NOT NULL REFERENCES tickets(id),
                author TEXT NOT NULL,
                visibility TEXT NOT NULL CHECK (visibility IN ('internal', 'public')),
                text TEXT,
                created_at BIGINT NOT NULL
            )
            """),
            .common("CREATE INDEX notes_ticket ON notes(ticket_id, id)"),
            .common("""
            CREATE TABLE idempotency_keys (
                channel TEXT NOT NULL,
                delivery_id TEXT NOT NULL,
                conversation_id BIGINT NOT NULL REFERENCES conversations(id),
                reply TEXT,
                ticket_numbers TEXT NOT NULL,
                state_version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (channel, delivery_id)
            )
            """),
            .common("""
            CREATE TABLE outbox (
                id {id},
                message_id BIGINT NOT NULL REFERENCES messages(id),
                conversation_id BIGINT NOT NULL REFERENCES conversations(id),
                channel TEXT NOT NULL,
                recipient TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                sent_at BIGINT,
                cancelled_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """),
            .common("CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL AND cancelled_at IS NULL"),
            .common("""
            CREATE TABLE corrections (
                id {id},
                ticket_id BIGINT NOT NULL REFERENCES tickets(id),
                field TEXT NOT NULL CHECK (field IN ('category', 'priority')),
                from_value TEXT NOT NULL,
                to_value TEXT NOT NULL,
                category TEXT NOT NULL,
                priority BIGINT NOT NULL,
                text TEXT,
                actor TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                exported_at BIGINT
            )
            """),
            .common("CREATE INDEX corrections_pending ON corrections(id) WHERE exported_at IS NULL"),
        ]),
        Migration(version: 2, name: "triage decision on tickets; duplicate lookup by category", statements: [
            // The triage decision (JSON: category, priority, confidence, safety
            // rule, explanation) the assistant filed the ticket with.
            .common("ALTER TABLE tickets ADD COLUMN triage TEXT"),
            .common("""
            CREATE INDEX tickets_open_category ON tickets(category, created_at)
            WHERE status IN ('new', 'triaged', 'in_progress', 'pending_resident')
            """),
        ]),
        Migration(version: 3, name: "staff accounts and web sessions", statements: [
            // `name` is kept as given; `name_key` (the name case-folded by
            // `StaffName.key`, the same in both engines) makes names unique
            // ignoring case. SQLite's NOCASE and PostgreSQL's lower() under
            // the C locale fold ASCII only.
            .common("""
            CREATE TABLE staff_accounts (
                id {id},
                name TEXT NOT NULL,
                name_key TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                disabled_at BIGINT,
                last_login_at BIGINT
            )
            """),
            // A session is found by the SHA-256 of its token (hex); the token
            // itself lives only in the browser's cookie.
            .common("""
            CREATE TABLE staff_sessions (
                id {id},
                token_hash TEXT NOT NULL UNIQUE,
                account_id BIGINT NOT NULL REFERENCES staff_accounts(id),
                csrf_token TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """),
            .common("CREATE INDEX staff_sessions_account ON staff_sessions(account_id) WHERE revoked_at IS NULL"),
        ]),
        Migration(version: 4, name: "API keys for the Open311 API; tickets by creation time", statements: [
            // A key is found by the SHA-256 of its secret (hex); the secret
            // itself is shown once, when the key is made. A name is unique
            // among keys not revoked (`name_key` is `APIKeyName.key`), so a
            // key can be replaced by a new one of the same name.
            .common("""
            CREATE TABLE api_keys (
                id {id},
                name TEXT NOT NULL,
                name_key TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                scope TEXT NOT NULL CHECK (scope IN ('public', 'full')),
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """),
            .common("CREATE UNIQUE INDEX api_keys_live_name ON api_keys(name_key) WHERE revoked_at IS NULL"),
            // Open311's request listing: tickets by the time they were made.
            .common("CREATE INDEX tickets_created ON tickets(created_at, id)"),
        ]),
        Migration(version: 5, name: "how a ticket's emergency was reached", statements: [
            // `TicketEmergency`: rule, model, resident_confirmed, or unconfirmed
            // (a possible emergency the resident has not answered about).
            .common("ALTER TABLE tickets ADD COLUMN emergency TEXT"),
        ]),
        Migration(version: 6, name: "the resident loop: is it fixed, and a rating", statements: [
            // When it was last resolved (cleared when it moves on): what the
            // automatic close counts `confirm_days` from.
            .common("ALTER TABLE tickets ADD COLUMN resolved_at BIGINT"),
            // `ResolutionConfirmation`: fixed, not_fixed or auto_closed.
            .common("ALTER TABLE tickets ADD COLUMN resident_confirmation TEXT"),
            .common("ALTER TABLE tickets ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5)"),
            .common("ALTER TABLE tickets ADD COLUMN rating_comment TEXT"),
            .common("CREATE INDEX tickets_resolved ON tickets(status, resolved_at)"),
        ]),
        Migration(version: 7, name: "attachments: residents' photos", statements: [
            // `data` is NULL once erased (resident forgotten, retention); a
            // photo sent before its request has no ticket yet (held for the
            // conversation's next request).
            .common("""
            CREATE TABLE attachments (
                id {id},
                conversation_id BIGINT REFERENCES conversations(id),
                ticket_id BIGINT REFERENCES tickets(id),
                message_id BIGINT REFERENCES messages(id),
                content_type TEXT NOT NULL,
                byte_count BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                data {blob},
                created_at BIGINT NOT NULL,
                erased_at BIGINT
            )
            """),
            .common("CREATE INDEX attachments_ticket ON attachments(ticket_id)"),
            .common("CREATE INDEX attachments_conversation ON attachments(conversation_id, created_at)"),
        ]),
        Migration(version: 8, name: "attachments fetched from a platform in the background", statements: [
            // A photo a platform keeps (a Telegram file id, a Twilio or Slack
            // media URL) is recorded with the turn and fetched later: `data` is
            // NULL while `fetch_next_at` is set (due, or leased until then); a
            // fetch that failed for good has `fetch_failed_at` and its error.
            .common("ALTER TABLE attachments ADD COLUMN fetch_channel TEXT"),
            .common("ALTER TABLE attachments ADD COLUMN fetch_locator TEXT"),
            .common("ALTER TABLE attachments ADD COLUMN fetch_attempts INTEGER NOT NULL DEFAULT 0"),
            .common("ALTER TABLE attachments ADD COLUMN fetch_next_at BIGINT"),
            .common("ALTER TABLE attachments ADD COLUMN fetch_error TEXT"),
            .common("ALTER TABLE attachments ADD COLUMN fetch_failed_at BIGINT"),
            .common("CREATE INDEX attachments_fetch_due ON attachments(fetch_next_at) WHERE fetch_next_at IS NOT NULL"),
        ]),
        Migration(version: 9, name: "insights: where a problem recurs, and whether the assistant had to ask", statements: [
            // The shared place the request names, as the dialogue recognises it
            // in either language (`building 2 · elevator`, `lobby`), or nil.
            .common("ALTER TABLE tickets ADD COLUMN place TEXT"),
            // What recurrence is counted by: the place, else `unit 4B`.
            .common("ALTER TABLE tickets ADD COLUMN recurrence_key TEXT"),
            // The assistant asked a clarifying question before filing it.
            .common("ALTER TABLE tickets ADD COLUMN clarified BOOLEAN"),
            .common("CREATE INDEX tickets_recurrence ON tickets(category, recurrence_key, created_at)"),
            .common("CREATE INDEX corrections_ticket ON corrections(ticket_id, field)"),
            // The report's scans of a period read these columns from the index alone.
            .common("CREATE INDEX tickets_insights ON tickets(created_at, status, category, priority, sla_due_at, first_response_at)"),
            .common("CREATE INDEX ticket_events_kind ON ticket_events(kind, created_at)"),
            // The queue's order puts a reopened ticket ("not fixed") first among
            // equals: the index follows that order, so the top 50 are read, not sorted.
            // Only resolved tickets wait for "is it fixed?": a partial index, which
            // the queue's `status IN (open)` cannot mistake for its own.
            .common("DROP INDEX tickets_resolved"),
            .common("CREATE INDEX tickets_resolved ON tickets(resolved_at) WHERE status = 'resolved'"),
            .common("DROP INDEX tickets_queue"),
            .common("""
            CREATE INDEX tickets_queue ON tickets(priority, (\(TicketQueueOrder.reopenedFirst)), created_at, id)
            WHERE status IN ('new', 'triaged', 'in_progress', 'pending_resident')
            """),
        ]),
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { all.map(\.version).max() ?? 0 }
}
