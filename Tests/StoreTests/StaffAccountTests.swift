import Foundation
import StaffAuth
import Testing
import TestSupport
@testable import Store

/// Cheap scrypt (N = 16) for the store tests; StaffAuthTests has the one test at production parameters.
let testHasher = PasswordHasher(parameters: ScryptParameters(logN: 4))

/// Staff accounts and web sessions, on both engines.
@Suite("Staff accounts and sessions (both engines)")
struct StaffAccountTests {
    func isInvalidInput(_ error: StoreError) -> Bool {
        if case .invalidInput = error { return true } else { return false }
    }

    /// A database from before the staff tables (schema 2) gains them when opened, keeping its tickets.
    @Test(arguments: Backend.all)
    func version2DatabaseIsMigrated(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            try await store.createTicket(draft(), actor: "t")
            for sql in rollback(to: 2) {
                _ = try await rawSQL(store, sql)
            }
            #expect(try await store.schemaVersion() == 2)
            let reopened = try await db.open()
            #expect(try await reopened.schemaVersion() == Migrations.latestVersion)
            #expect(try await reopened.ticket(number: 1).description == "the kitchen tap drips")
            let ivy = try await reopened.addStaffAccount(name: "ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            #expect(try await reopened.createSession(accountID: ivy.id, lifetime: 60).session.accountID == ivy.id)
            await reopened.close()
        }
    }

    @Test(arguments: Backend.all)
    func accountsAreAddedListedAndNamedIgnoringCase(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ivy = try await store.addStaffAccount(name: "  Ivy ", role: .admin, password: "correct horse battery", hasher: testHasher)
            #expect(ivy.name == "Ivy" && ivy.role == .admin && ivy.createdAt == db.clock.now)
            #expect(ivy.disabledAt == nil && ivy.lastLoginAt == nil)
            db.clock.advance(by: 60)
            try await store.addStaffAccount(name: "bo.chen", password: "another long password", hasher: testHasher)
            try await store.addStaffAccount(name: "王芳", password: "楼道灯坏了楼道灯坏了楼道", hasher: testHasher)

            let accounts = try await store.staffAccounts()
            #expect(accounts.map(\.name) == ["bo.chen", "Ivy", "王芳"])
            #expect(accounts.map(\.role) == [.staff, .admin, .staff])
            #expect(accounts[1] == ivy, "what was returned is what is stored")
            #expect(try await store.staffAccount(name: "IVY") == ivy)
            await expectStoreError({ try await store.staffAccount(name: "ivan") }) { $0 == .staffAccountNotFound("ivan") }

            let taken = await expectStoreError({
                try await store.addStaffAccount(name: "ivy", password: "yet another password", hasher: testHasher)
            }) { $0 == .staffNameTaken("ivy") }
            #expect(taken?.description.contains("ignoring case") == true)
            let short = await expectStoreError({ try await store.addStaffAccount(name: "dee", password: "short pass", hasher: testHasher) }) {
                $0 == .passwordTooShort(minimum: 12)
            }
            #expect(short?.description.contains("at least 12 characters") == true)
            await expectStoreError({ try await store.addStaffAccount(name: "dee", password: "twelve chars\nmore", hasher: testHasher) }, isInvalidInput)
            for bad in ["", "   ", "two words", "semi;colon", String(repeating: "x", count: 65)] {
                await expectStoreError({ try await store.addStaffAccount(name: bad, password: "long enough password", hasher: testHasher) },
                                       isInvalidInput)
            }
            #expect(try await store.staffAccounts().count == 3, "refused accounts are not stored")

            // Only a hash is stored: self-describing scrypt, not the password.
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_accounts WHERE password_hash LIKE '$scrypt$ln=4,r=8,p=1$%'") == 3)
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_accounts WHERE password_hash LIKE '%battery%'") == 0)
        }
    }

    @Test(arguments: Backend.all)
    func rolesKeepAnEnabledAdmin(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.addStaffAccount(name: "ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            try await store.addStaffAccount(name: "bo", password: "another long password", hasher: testHasher)
            let error = await expectStoreError({ try await store.setStaffRole(name: "Ivy", to: .staff) }) { $0 == .lastAdmin("ivy") }
            #expect(error?.description.contains("only enabled admin") == true)
            await expectStoreError({ try await store.disableStaffAccount(name: "ivy") }) { $0 == .lastAdmin("ivy") }
            #expect(try await store.staffAccount(name: "ivy").role == .admin)

            #expect(try await store.setStaffRole(name: "BO", to: .admin).role == .admin)
            #expect(try await store.setStaffRole(name: "ivy", to: .staff).role == .staff)
            #expect(try await store.setStaffRole(name: "ivy", to: .staff).role == .staff, "the same role again changes nothing")
            #expect(try await store.staffAccounts().map(\.role) == [.admin, .staff])
            await expectStoreError({ try await store.setStaffRole(name: "nobody", to: .admin) }) { $0 == .staffAccountNotFound("nobody") }
        }
    }

    /// Two admins demoting each other at the same moment, from two store
    /// instances (two servers): one must fail, or no admin would be left.
    /// Repeated, since the two transactions overlap only some of the time.
    @Test(arguments: Backend.all)
    func concurrentDemotionsLeaveAnAdmin(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let other = try await db.open()
            try await store.addStaffAccount(name: "ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            try await store.addStaffAccount(name: "bo", role: .admin, password: "another long password", hasher: testHasher)
            for round in 0..<20 {
                let outcomes = await withTaskGroup(of: StoreError?.self) { group in
                    for (server, name) in [(store, "ivy"), (other, "bo")] {
                        group.addTask {
                            do { _ = try await server.setStaffRole(name: name, to: .staff); return nil } catch let error as StoreError {
                                return error
                            } catch {
                                return .database("\(error)")
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outcomes.compactMap { $0 }.count == 1, "round \(round): \(outcomes)")
                #expect(outcomes.contains { $0 == .lastAdmin("ivy") || $0 == .lastAdmin("bo") }, "round \(round): \(outcomes)")
                #expect(try await store.staffAccounts().filter { $0.role == .admin }.count == 1, "round \(round)")
                for name in ["ivy", "bo"] { try await store.setStaffRole(name: name, to: .admin) }
            }
            await other.close()
        }
    }

    @Test(arguments: Backend.all)
    func unknownNameAndWrongPasswordGetTheSameError(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ivy = try await store.addStaffAccount(name: "Ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            try await store.addStaffAccount(name: "bo", password: "another long password", hasher: testHasher)
            db.clock.advance(by: 3600)

            let unknown = await expectStoreError({ try await store.authenticate(name: "ivan", password: "correct horse battery", hasher: testHasher) }) {
                $0 == .wrongNameOrPassword
            }
            let wrong = await expectStoreError({ try await store.authenticate(name: "ivy", password: "correct horse batter", hasher: testHasher) }) {
                $0 == .wrongNameOrPassword
            }
            #expect(unknown != nil && unknown == wrong && unknown?.description == "wrong name or password")
            await expectStoreError({ try await store.authenticate(name: "ivy", password: "", hasher: testHasher) }) { $0 == .wrongNameOrPassword }
            await expectStoreError({ try await store.authenticate(name: "", password: "correct horse battery", hasher: testHasher) }) {
                $0 == .wrongNameOrPassword
            }
            #expect(try await store.staffAccount(name: "ivy").lastLoginAt == nil, "failed sign-ins are not recorded as logins")

            let signedIn = try await store.authenticate(name: "IVY", password: "correct horse battery", hasher: testHasher)
            #expect(signedIn.id == ivy.id && signedIn.lastLoginAt == db.clock.now)
            #expect(try await store.staffAccount(name: "ivy") == signedIn)

            // Disabled: the right password says so; a wrong one still gets the common error.
            try await store.disableStaffAccount(name: "bo")
            await expectStoreError({ try await store.authenticate(name: "bo", password: "another long password", hasher: testHasher) }) {
                $0 == .staffAccountDisabled("bo")
            }
            await expectStoreError({ try await store.authenticate(name: "bo", password: "wrong wrong wrong", hasher: testHasher) }) {
                $0 == .wrongNameOrPassword
            }
        }
    }

    @Test(arguments: Backend.all)
    func loginRehashesWithRaisedParametersAndPasswordChangesWork(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.addStaffAccount(name: "ivy", password: "correct horse battery", hasher: testHasher)
            let raised = PasswordHasher(parameters: ScryptParameters(logN: 5))
            let hashQuery = "SELECT COUNT(*) AS n FROM staff_accounts WHERE password_hash LIKE '$scrypt$ln=5,r=8,p=1$%'"
            await expectStoreError({ try await store.authenticate(name: "ivy", password: "wrong password!", hasher: raised) }) {
                $0 == .wrongNameOrPassword
            }
            #expect(try await rawInt(store, hashQuery) == 0, "a failed login does not rehash")
            _ = try await store.authenticate(name: "ivy", password: "correct horse battery", hasher: raised)
            #expect(try await rawInt(store, hashQuery) == 1, "the login replaced the old-parameter hash")
            _ = try await store.authenticate(name: "ivy", password: "correct horse battery", hasher: testHasher)

            await expectStoreError({ try await store.setStaffPassword(name: "ivy", to: "too short", hasher: testHasher) }) {
                $0 == .passwordTooShort(minimum: 12)
            }
            await expectStoreError({ try await store.setStaffPassword(name: "ivan", to: "a new long password", hasher: testHasher) }) {
                $0 == .staffAccountNotFound("ivan")
            }
            try await store.setStaffPassword(name: "Ivy", to: "a new long password", hasher: testHasher)
            await expectStoreError({ try await store.authenticate(name: "ivy", password: "correct horse battery", hasher: testHasher) }) {
                $0 == .wrongNameOrPassword
            }
            #expect(try await store.authenticate(name: "ivy", password: "a new long password", hasher: testHasher).name == "ivy")

            // A hash the hasher cannot read is a database problem, named, not a wrong password.
            _ = try await rawSQL(store, "UPDATE staff_accounts SET password_hash = 'plaintext'")
            let error = await expectStoreError({ try await store.authenticate(name: "ivy", password: "a new long password", hasher: testHasher) }) {
                if case .database(let detail) = $0 { return detail.contains("concierge staff passwd ivy") } else { return false }
            }
            #expect(error?.description.contains("plaintext") == false)
        }
    }

    @Test(arguments: Backend.all)
    func sessionsAreFoundByTokenUntilTheyExpireOrAreRevoked(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, db in
            let ivy = try await store.addStaffAccount(name: "ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            let start = db.clock.now
            let issued = try await store.createSession(accountID: ivy.id, lifetime: 8 * 3600)
            #expect(SecretToken.isWellFormed(issued.token) && SecretToken.isWellFormed(issued.csrfToken))
            #expect(issued.token != issued.csrfToken)
            #expect(issued.session.accountID == ivy.id && issued.session.createdAt == start)
            #expect(issued.session.expiresAt == start.addingTimeInterval(8 * 3600) && issued.session.lastSeenAt == start)

            // The database holds the token's SHA-256, never the token.
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_sessions WHERE token_hash = '\(SecretToken.digest(issued.token))'") == 1)
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_sessions WHERE token_hash = '\(issued.token)'") == 0)

            var found = try #require(try await store.session(token: issued.token))
            #expect(found.account == ivy && found.session == issued.session)
            #expect(SecretToken.constantTimeEquals(found.session.csrfToken, issued.csrfToken))

            // last_seen_at moves once it is a minute old.
            db.clock.advance(by: 30)
            found = try #require(try await store.session(token: issued.token))
            #expect(found.session.lastSeenAt == start)
            db.clock.advance(by: 40)
            found = try #require(try await store.session(token: issued.token))
            #expect(found.session.lastSeenAt == start.addingTimeInterval(70))
            #expect(try await store.session(token: issued.token)?.session.lastSeenAt == start.addingTimeInterval(70), "stored")

            #expect(try await store.session(token: "") == nil)
            #expect(try await store.session(token: "not a token; DROP TABLE staff_sessions") == nil)
            #expect(try await store.session(token: SecretToken.generate()) == nil)
            #expect(try await store.session(token: SecretToken.digest(issued.token)) == nil, "the stored digest is not a token")

            // Expiry.
            db.clock.set(issued.session.expiresAt.addingTimeInterval(-1))
            #expect(try await store.session(token: issued.token) != nil)
            db.clock.set(issued.session.expiresAt)
            #expect(try await store.session(token: issued.token) == nil)

            // Logout.
            let second = try await store.createSession(accountID: ivy.id, lifetime: 3600)
            #expect(second.token != issued.token && second.csrfToken != issued.csrfToken)
            #expect(try await store.revokeSession(token: second.token))
            #expect(try await store.session(token: second.token) == nil)
            #expect(try await store.revokeSession(token: second.token) == false, "already revoked")
            #expect(try await store.revokeSession(token: "garbage") == false)

            #expect(try await store.deleteEndedSessions() == 2, "one expired, one revoked")
            #expect(try await rawInt(store, "SELECT COUNT(*) AS n FROM staff_sessions") == 0)

            await expectStoreError({ try await store.createSession(accountID: ivy.id, lifetime: 0) }, isInvalidInput)
            await expectStoreError({ try await store.createSession(accountID: 999, lifetime: 60) }) {
                if case .staffAccountNotFound = $0 { return true } else { return false }
            }
        }
    }

    @Test(arguments: Backend.all)
    func passwordChangeAndDisablingEndEverySession(_ backend: Backend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.addStaffAccount(name: "ivy", role: .admin, password: "correct horse battery", hasher: testHasher)
            let bo = try await store.addStaffAccount(name: "bo", password: "another long password", hasher: testHasher)
            let laptop = try await store.createSession(accountID: bo.id, lifetime: 3600)
            let phone = try await store.createSession(accountID: bo.id, lifetime: 3600)
            #expect(try await store.session(token: laptop.token) != nil)
            #expect(try await store.session(token: phone.token) != nil)

            #expect(try await store.setStaffPassword(name: "bo", to: "a new long password", hasher: testHasher) == 2)
            #expect(try await store.session(token: laptop.token) == nil)
            #expect(try await store.session(token: phone.token) == nil)

            let again = try await store.createSession(accountID: bo.id, lifetime: 3600)
            #expect(try await store.revokeSessions(accountID: bo.id) == 1)
            #expect(try await store.session(token: again.token) == nil)

            let last = try await store.createSession(accountID: bo.id, lifetime: 3600)
            #expect(try await store.disableStaffAccount(name: "BO") == 1)
            #expect(try await store.session(token: last.token) == nil)
            let disabled = try await store.staffAccount(name: "bo")
            #expect(disabled.isDisabled)
            #expect(try await store.disableStaffAccount(name: "bo") == 0, "disabling twice changes nothing")
            #expect(try await store.staffAccount(name: "bo").disabledAt == disabled.disabledAt)
            await expectStoreError({ try await store.createSession(accountID: bo.id, lifetime: 3600) }) { $0 == .staffAccountDisabled("bo") }

            // A session whose account is disabled behind the store's back is not valid either.
            let ivy = try await store.staffAccount(name: "ivy")
            let admin = try await store.createSession(accountID: ivy.id, lifetime: 3600)
            _ = try await rawSQL(store, "UPDATE staff_accounts SET disabled_at = 1 WHERE name = 'ivy'")
            #expect(try await store.session(token: admin.token) == nil)
        }
    }
}
