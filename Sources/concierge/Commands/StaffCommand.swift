import ArgumentParser
import Foundation
import Store

/// `concierge staff …`: the accounts staff sign in to the web page with.
struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff",
        abstract: "Add, list and manage staff accounts (for signing in to the staff web page).",
        discussion: """
        Two roles: staff work tickets; admins also manage accounts. There is \
        always at least one enabled admin. Names are unique ignoring case. \
        Passwords have at least 12 characters (a few unrelated words make a \
        good one) and are stored only as scrypt hashes.

        On a terminal the password is asked twice, without echo. Otherwise \
        the first line of standard input is the password, for scripts:
          printf '%s\\n' "$PASSWORD" | concierge staff add ivy --admin
        """,
        subcommands: [Add.self, List.self, Passwd.self, Disable.self, Role.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a staff account (asks for its password).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The name to sign in with: letters, digits, \".\", \"_\", \"-\" or \"@\" (unique ignoring case).")
        var name: String
        @Flag(help: "Make it an admin account (admins manage staff accounts).") var admin = false

        func run() async throws {
            let name = try StaffName.validated(name)
            let account = try await withStore(storeOptions) { store in
                // A taken name is refused before the password is asked for.
                if let existing = try await store.existingStaffAccount(name: name) { throw StoreError.staffNameTaken(existing.name) }
                let password = try PasswordPrompt.newPassword(for: name)
                return try await store.addStaffAccount(name: name, role: admin ? .admin : .staff, password: password)
            }
            print("Added \(account.role.rawValue) account \(account.name).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The staff accounts: name, role, created, last login, disabled.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let accounts = try await withStore(storeOptions) { store in try await store.staffAccounts() }
            if json {
                print(try jsonText(accounts))
                return
            }
            if accounts.isEmpty {
                print("No staff accounts yet. Make the first with `concierge staff add NAME --admin`.")
                return
            }
            let table = TextTable(columns: ["name", "role", "created", "last login", "disabled"])
            for account in accounts {
                table.add([account.name, account.role.rawValue, Terminal.time(account.createdAt),
                           account.lastLoginAt.map(Terminal.time) ?? "never", account.disabledAt.map(Terminal.time) ?? "—"])
            }
            print(table.render(), terminator: "")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passwd",
            abstract: "Set a new password for an account (asks for it); signs the account out everywhere.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The account's name.") var name: String

        func run() async throws {
            let (account, ended) = try await withStore(storeOptions) { store in
                let account = try await store.staffAccount(name: name)
                let password = try PasswordPrompt.newPassword(for: account.name)
                return (account, try await store.setStaffPassword(name: account.name, to: password))
            }
            print("Changed the password of \(account.name); \(ended) session(s) signed out.")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: it can no longer sign in, and its sessions end now.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The account's name.") var name: String

        func run() async throws {
            let (account, ended) = try await withStore(storeOptions) { store in
                let account = try await store.staffAccount(name: name)
                return (account, try await store.disableStaffAccount(name: account.name))
            }
            print(account.isDisabled ? "\(account.name) was already disabled; \(ended) session(s) signed out."
                                     : "Disabled \(account.name); \(ended) session(s) signed out.")
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an account staff or admin (the last enabled admin cannot be demoted).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The account's name.") var name: String
        @Argument(help: "staff or admin.") var role: String

        func run() async throws {
            guard let newRole = StaffRole(rawValue: role.lowercased()) else {
                throw ValidationError("unknown role \"\(role)\" (staff or admin)")
            }
            let account = try await withStore(storeOptions) { store in try await store.setStaffRole(name: name, to: newRole) }
            print("\(account.name) is \(account.role == .admin ? "an admin" : "staff").")
        }
    }
}

extension TicketStore {
    /// The account named `name`, or nil when there is none.
    fileprivate func existingStaffAccount(name: String) async throws -> StaffAccount? {
        do {
            return try await staffAccount(name: name)
        } catch StoreError.staffAccountNotFound {
            return nil
        }
    }
}

/// Reading a new password: twice without echo on a terminal, else the first
/// line of standard input.
enum PasswordPrompt {
    static func newPassword(for name: String) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard var password = readLine(strippingNewline: true) else {
                throw CLIError("no password on standard input: pipe it as one line, or run on a terminal to be asked")
            }
            if password.unicodeScalars.last == "\r" { password.unicodeScalars.removeLast() }
            try StaffPassword.validate(password)
            return password
        }
        let first = try readWithoutEcho(prompt: "Password for \(name): ")
        try StaffPassword.validate(first)
        let second = try readWithoutEcho(prompt: "Same password again: ")
        guard first == second else { throw CLIError("the two passwords differ; nothing was changed") }
        return first
    }

    /// One line from the terminal on standard input with echo off (the
    /// newline still echoes). Echo comes back on every path, including
    /// Ctrl-C, SIGTERM and SIGHUP while waiting.
    static func readWithoutEcho(prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        let record = echoRecord
        guard tcgetattr(STDIN_FILENO, &record.pointee.saved) == 0 else { throw CLIError("cannot read the terminal's settings") }
        var quiet = record.pointee.saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        let previous = [SIGINT, SIGTERM, SIGHUP].map { number in (number, signal(number) { restoreEchoAndResignal($0) }) }
        record.pointee.off = true
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSANOW, &record.pointee.saved)
            record.pointee.off = false
            for (number, handler) in previous { signal(number, handler) }
        }
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 else { throw CLIError("cannot turn off the terminal's echo") }
        guard var line = readLine(strippingNewline: true) else { throw CLIError("no password given; nothing was changed") }
        if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
        return line
    }
}

/// The terminal settings to put back, in manually allocated memory so the
/// signal handler reaches them without Swift's global or exclusivity machinery.
struct EchoRecord {
    var saved: termios
    var off: Bool
}

nonisolated(unsafe) let echoRecord: UnsafeMutablePointer<EchoRecord> = {
    let record = UnsafeMutablePointer<EchoRecord>.allocate(capacity: 1)
    record.initialize(to: EchoRecord(saved: termios(), off: false))
    return record
}()

/// The signal handler while echo is off: echo back on, then the signal's
/// default action (ending the process). Only async-signal-safe calls.
func restoreEchoAndResignal(_ number: Int32) {
    let record = echoRecord
    if record.pointee.off { _ = withUnsafeMutablePointer(to: &record.pointee.saved) { tcsetattr(STDIN_FILENO, TCSANOW, $0) } }
    signal(number, SIG_DFL)
    raise(number)
}
