import Foundation

/// Everything that can go wrong in the ticket store, as one type callers can
/// pattern-match. `description` is one line meant for the person at the
/// terminal: what happened, to which file or server, and what to do.
///
/// The errors about the database itself (`corruptDatabase`, `readOnly`,
/// `schemaTooNew`, `notAConciergeDatabase`, the PostgreSQL connection errors)
/// are raised before anything is written.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: opening
    /// The SQLite file is damaged or not a database.
    case corruptDatabase(path: String, detail: String)
    /// The database file or its folder cannot be written.
    case readOnly(path: String, detail: String)
    /// The SQLite file cannot be opened (missing folder, permissions, …).
    case cannotOpen(path: String, detail: String)
    /// The database was written by a newer Concierge.
    case schemaTooNew(found: Int, supported: Int)
    /// The database holds tables but not Concierge's.
    case notAConciergeDatabase(location: String)
    /// A `--store` value that is not a PostgreSQL URL or a file path.
    case invalidStoreURL(String, reason: String)
    /// No PostgreSQL server answered.
    case unreachable(server: String, detail: String)
    /// The server refused the user name or password.
    case authenticationFailed(server: String, user: String, detail: String)
    /// The server has no such database.
    case databaseMissing(server: String, database: String)
    /// Any other failure talking to the database.
    case database(String)

    // MARK: using
    /// No ticket has this number.
    case ticketNotFound(Int)
    /// Ticket `ticket` has no attachment `id` (or its bytes were erased).
    case attachmentNotFound(ticket: Int, id: Int64)
    /// No resident has this id.
    case residentNotFound(String)
    /// A status change the ticket's current status does not allow.
    case illegalTransition(ticket: Int, from: TicketStatus, to: TicketStatus)
    /// A merge that cannot be done (into itself, into a merged ticket, from a closed one).
    case invalidMerge(ticket: Int, into: Int, reason: String)
    /// Another turn of the conversation was committed since the state was read.
    case conversationChanged(conversationID: Int64, expected: Int, found: Int)
    /// A value that breaks a rule of the data model (empty description, …).
    case invalidInput(String)
    /// The delivery id was already used by another resident's message on this
    /// channel (never answered with that resident's reply).
    case deliveryIDConflict(channel: String)

    // MARK: staff accounts
    /// No staff account has this name.
    case staffAccountNotFound(String)
    /// A staff account with this name (ignoring case) already exists.
    case staffNameTaken(String)
    /// A staff password shorter than the minimum.
    case passwordTooShort(minimum: Int)
    /// A login with an unknown name or a wrong password: the same error for
    /// both, so a login form does not tell which names exist.
    case wrongNameOrPassword
    /// The staff account is disabled (reported only once the password was right).
    case staffAccountDisabled(String)
    /// The change would leave no enabled admin account.
    case lastAdmin(String)

    // MARK: API keys
    /// No API key that is not revoked has this name.
    case apiKeyNotFound(String)
    /// A key with this name (ignoring case) exists and is not revoked.
    case apiKeyNameTaken(String)

    public var description: String {
        switch self {
        case let .corruptDatabase(path, detail):
            return "the database file \(path) is damaged or is not a Concierge database (\(detail)). Nothing was changed. Restore it from a backup, or move it away to start a new one."
        case let .readOnly(path, detail):
            return "the database \(path) cannot be written (\(detail)). Nothing was changed. Check the file's and its folder's permissions, or choose another --home."
        case let .cannotOpen(path, detail):
            return "cannot open the database \(path): \(detail)"
        case let .schemaTooNew(found, supported):
            return "the database has schema version \(found), but this Concierge understands versions up to \(supported): it was written by a newer Concierge. Nothing was changed. Upgrade Concierge to use it."
        case let .notAConciergeDatabase(location):
            return "\(location) already holds tables that are not Concierge's. Nothing was changed. Point Concierge at an empty database (or a new file)."
        case let .invalidStoreURL(value, reason):
            return "invalid --store \"\(value)\": \(reason). Use postgres://USER:PASSWORD@HOST:PORT/DATABASE or a path to a SQLite file."
        case let .unreachable(server, detail):
            return "cannot reach the PostgreSQL server at \(server) (\(detail)). Is it running, and are the host and port right?"
        case let .authenticationFailed(server, user, detail):
            return "the PostgreSQL server at \(server) refused user \"\(user)\" (\(detail)). Check the user name and password in the URL."
        case let .databaseMissing(server, database):
            return "the PostgreSQL server at \(server) has no database \"\(database)\". Create it first (createdb \(database))."
        case let .database(detail):
            return "database error: \(detail)"
        case let .ticketNotFound(number):
            return "there is no ticket #\(number)"
        case let .attachmentNotFound(ticket, id):
            return "ticket #\(ticket) has no attachment \(id) (or it was erased)"
        case let .residentNotFound(id):
            return "there is no resident \(id)"
        case let .illegalTransition(ticket, from, to):
            let allowed = from.allowedNext.map(\.rawValue)
            let hint = to == .duplicate
                ? " (use `ticket merge \(ticket) --into N` to mark it a duplicate)"
                : ""
            return "ticket #\(ticket) cannot go from \(from.rawValue) to \(to.rawValue)\(hint); from \(from.rawValue) it can go to: "
                + (allowed.isEmpty ? "nothing (\(from.rawValue) is final)" : allowed.joined(separator: ", "))
        case let .invalidMerge(ticket, into, reason):
            return "cannot merge ticket #\(ticket) into #\(into): \(reason)"
        case let .conversationChanged(id, expected, found):
            return "conversation \(id) changed meanwhile (expected version \(expected), found \(found)); reload it and try again"
        case let .deliveryIDConflict(channel):
            return "the \(channel) message id was already used by another sender"
        case let .invalidInput(detail):
            return detail
        case let .staffAccountNotFound(name):
            return "there is no staff account \"\(name)\" (`concierge staff list` shows them)"
        case let .staffNameTaken(name):
            return "there is already a staff account \"\(name)\" (names are compared ignoring case); choose another name"
        case let .passwordTooShort(minimum):
            return "the password is too short: a staff password needs at least \(minimum) characters (a few unrelated words make a good one)"
        case .wrongNameOrPassword:
            return "wrong name or password"
        case let .staffAccountDisabled(name):
            return "the staff account \"\(name)\" is disabled"
        case let .lastAdmin(name):
            return "\"\(name)\" is the only enabled admin account; make another account admin first (`concierge staff role NAME admin`)"
        case let .apiKeyNotFound(name):
            return "there is no API key \"\(name)\" that is not revoked (`concierge apikey list` shows them)"
        case let .apiKeyNameTaken(name):
            return "there is already an API key \"\(name)\" (names are compared ignoring case); revoke it first or choose another name"
        }
    }
}
