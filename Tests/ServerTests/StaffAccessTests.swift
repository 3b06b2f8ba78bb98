import Foundation
import Store
import Testing
import TestSupport

/// Who gets into the staff page, over a real socket: sessions, CSRF tokens,
/// roles, signing in and out.
@Suite struct StaffAccessTests {
    /// A ticket filed by staff, to act on.
    static func fileTicket(_ store: any TicketStore) async throws -> Ticket {
        try await store.createTicket(TicketDraft(category: "plumbing", priority: .p3, description: "kitchen tap drips"), actor: "test")
    }

    @Test func pagesWithoutASessionGoToTheLoginPageAndPostsGet401() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            for (path, next) in [("/staff", nil), ("/staff/tickets/1", "%2Fstaff%2Ftickets%2F1"), ("/staff/admin", "%2Fstaff%2Fadmin"),
                                 ("/staff?status=new", "%2Fstaff%3Fstatus%3Dnew")] {
                let response = try await server.get(path: path)
                #expect(response.status == 303, "\(path)")
                #expect(response.headers["location"] == "/staff/login" + (next.map { "?next=" + $0 } ?? ""), "\(path)")
                #expect(response.headers["cache-control"] == "no-store")
                #expect(response.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
            }
            let client = StaffClient(server: server)
            for path in ["/staff/tickets/1/notes", "/staff/tickets/1/category", "/staff/admin/accounts", "/staff/logout"] {
                let response = try await client.post(path, [("text", "x")], csrf: .token("a"))
                #expect(response.status == 401, "\(path)")
                #expect(response.errorCode == "signed_out", "\(path): \(response.text)")
            }
            let rows = try await client.get("/staff/queue/rows")
            #expect(rows.status == 401 && rows.errorCode == "signed_out")

            let login = try await client.get("/staff/login")
            #expect(login.status == 200)
            #expect(login.headers["x-frame-options"] == "DENY")
            #expect(login.headers["x-content-type-options"] == "nosniff")
            #expect(login.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            #expect(!(login.headers["content-security-policy"] ?? "").contains("unsafe-inline"))
            #expect(!login.text.contains("<script>"), "no inline script")
            let loginCookie = StaffClient.cookie(StaffClient.loginCookie, in: login)
            #expect(loginCookie.map { StaffClient.hiddenField("_login", in: login.text) == $0 } == true)
            #expect(login.setCookies.first?.contains("Secure; HttpOnly; SameSite=Strict") == true)
            // The stylesheet and script hold no data and load on the login page.
            #expect(try await client.get("/staff/static/staff.css").status == 200)
            #expect(try await client.get("/staff/static/staff.js").headers["content-type"]?.hasPrefix("text/javascript") == true)
        }
    }

    @Test func forgedExpiredAndRevokedSessionCookiesAreRefused() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let account = try await server.staffAccount("ivy", role: .admin)
            let forged = StaffClient(server: server, session: "A" + String(repeating: "b", count: 42), csrf: nil)
            let garbage = StaffClient(server: server, session: "<script>", csrf: nil)
            // A session made a day ago for one minute: expired.
            let pastStore = try await StoreLocation.sqlite(server.testStore.file)
                .open(configuration: StoreConfiguration(now: { Date().addingTimeInterval(-86_400) }))
            let old = try await pastStore.createSession(accountID: account.id, lifetime: 60)
            await pastStore.close()
            let expired = StaffClient(server: server, session: old.token, csrf: old.csrfToken)
            let revoked = try await StaffClient.session(for: account, store: server.store, server: server)
            try await server.store.revokeSession(token: revoked.session!)

            for (name, client) in [("forged", forged), ("garbage", garbage), ("expired", expired), ("revoked", revoked)] {
                let page = try await client.get("/staff")
                #expect(page.status == 303 && page.headers["location"] == "/staff/login", "\(name): \(page.status)")
                let post = try await client.post("/staff/admin/accounts", [("name", "mallory"), ("password", StaffClient.password)],
                                                 csrf: .token(client.csrf ?? "x"))
                #expect(post.status == 401, "\(name): \(post.status)")
            }
            #expect(try await server.store.staffAccounts().map(\.name) == ["ivy"], "no account was made")

            let live = try await StaffClient.session(for: account, store: server.store, server: server)
            let page = try await live.get("/staff")
            #expect(page.status == 200 && page.text.contains("id=\"queue-rows\""), "a live session gets the queue")
        }
    }

    @Test func aPostWithoutThisSessionsCSRFTokenIsRefusedAndChangesNothing() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let ticket = try await Self.fileTicket(server.store)
            let ivy = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .staff), store: server.store,
                                                    server: server)
            let joe = try await StaffClient.session(for: try await server.staffAccount("joe", role: .staff), store: server.store,
                                                    server: server)
            let path = "/staff/tickets/\(ticket.number)"
            for csrf: StaffClient.CSRFField in [.missing, .token(joe.csrf!), .token(""), .token(String(ivy.csrf!.dropLast()))] {
                let note = try await ivy.post(path + "/notes", [("text", "forged"), ("visibility", "public")], csrf: csrf)
                #expect(note.status == 403 && note.errorCode == "csrf", "\(csrf): \(note.status) \(note.text)")
                let category = try await ivy.post(path + "/category", [("category", "electrical")], csrf: csrf)
                #expect(category.status == 403, "\(csrf)")
                let status = try await ivy.post(path + "/status", [("status", "rejected")], csrf: csrf)
                #expect(status.status == 403, "\(csrf)")
            }
            let untouched = try await server.store.ticketDetail(number: ticket.number)
            #expect(untouched.notes.isEmpty)
            #expect(untouched.ticket.category == "plumbing" && untouched.ticket.status == .new)
            #expect(untouched.events.map(\.kind) == ["created"])
            #expect(try await server.store.corrections().isEmpty)

            // The same post with the session's own token goes through.
            let note = try await ivy.post(path + "/notes", [("text", "checked the tap"), ("visibility", "internal")])
            #expect(note.status == 303 && note.headers["location"] == path + "?done=internal", "\(note.status) \(note.text)")
            #expect(try await server.store.ticketDetail(number: ticket.number).notes.map(\.text) == ["checked the tap"])
        }
    }

    @Test func aStaffAccountCannotReachTheAdminPages() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let staff = try await StaffClient.session(for: try await server.staffAccount("joe", role: .staff), store: server.store,
                                                      server: server)
            let admin = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .admin), store: server.store,
                                                      server: server)
            let page = try await staff.get("/staff/admin")
            #expect(page.status == 403)
            #expect(!page.text.contains("add-account"), "no account form")
            #expect(!(try await staff.get("/staff").text.contains("href=\"/staff/admin\"")), "no link to it either")
            let fields = [("name", "mallory"), ("password", StaffClient.password), ("role", "admin")]
            let add = try await staff.post("/staff/admin/accounts", fields)
            #expect(add.status == 403 && add.errorCode == "admins_only", "\(add.text)")
            let promote = try await staff.post("/staff/admin/role", [("name", "joe"), ("role", "admin")])
            #expect(promote.status == 403)
            let disable = try await staff.post("/staff/admin/disable", [("name", "ivy")])
            #expect(disable.status == 403)
            let accounts = try await server.store.staffAccounts()
            #expect(accounts.map(\.name) == ["ivy", "joe"])
            #expect(accounts.allSatisfy { !$0.isDisabled } && accounts.first { $0.name == "joe" }?.role == .staff)

            // An admin can.
            #expect(try await admin.get("/staff/admin").status == 200)
            let added = try await admin.post("/staff/admin/accounts", fields)
            #expect(added.status == 303 && added.headers["location"] == "/staff/admin?done=added", "\(added.text)")
            #expect(try await server.store.staffAccount(name: "mallory").role == .admin)
            let short = try await admin.post("/staff/admin/accounts", [("name", "kim"), ("password", "short")])
            #expect(short.status == 422 && short.text.contains("too short"))
        }
    }

    @Test func adminsChangeRolesAndDisableAccountsButKeepAnAdmin() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            let admin = try await StaffClient.session(for: try await server.staffAccount("ivy", role: .admin), store: server.store,
                                                      server: server)
            let joeAccount = try await server.staffAccount("joe", role: .staff)
            let joe = try await StaffClient.session(for: joeAccount, store: server.store, server: server)
            let lastAdmin = try await admin.post("/staff/admin/role", [("name", "ivy"), ("role", "staff")])
            #expect(lastAdmin.status == 409 && lastAdmin.text.contains("only enabled admin"), "\(lastAdmin.status)")
            #expect(try await server.store.staffAccount(name: "ivy").role == .admin)

            let promote = try await admin.post("/staff/admin/role", [("name", "joe"), ("role", "admin")])
            #expect(promote.status == 303 && promote.headers["location"] == "/staff/admin?done=role")
            #expect(try await server.store.staffAccount(name: "joe").role == .admin)
            #expect(try await joe.get("/staff/admin").status == 200, "joe is an admin now")

            let disable = try await admin.post("/staff/admin/disable", [("name", "JOE")])
            #expect(disable.status == 303 && disable.headers["location"] == "/staff/admin?done=disabled")
            #expect(try await server.store.staffAccount(name: "joe").isDisabled)
            #expect(try await joe.get("/staff").status == 303, "a disabled account's session ends")
            let missing = try await admin.post("/staff/admin/disable", [("name", "nobody")])
            #expect(missing.status == 404)
            let page = try await admin.get("/staff/admin?done=disabled")
            #expect(page.text.contains("signed out everywhere") && page.text.contains("data-account=\"joe\""))
        }
    }

    @Test func signingInAndOut() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            _ = try await server.staffAccount("ivy", role: .staff)
            // The login form's token must come back with its cookie.
            let form = try await server.get(path: "/staff/login")
            let token = try #require(StaffClient.hiddenField("_login", in: form.text))
            let noCookie = try await server.send(
                path: "/staff/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(StaffClient.form([("_login", token), ("name", "ivy"), ("password", StaffClient.password)]).utf8))
            #expect(noCookie.status == 403 && noCookie.setCookies.isEmpty, "\(noCookie.status)")
            #expect(noCookie.text.contains("HTTPS"), "it says why")
            let wrong = try await server.send(
                path: "/staff/login",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "\(StaffClient.loginCookie)=\(token)")],
                body: Array(StaffClient.form([("_login", token), ("name", "ivy"), ("password", "not the password")]).utf8))
            #expect(wrong.status == 401 && StaffClient.cookie(StaffClient.sessionCookie, in: wrong) == nil)
            #expect(wrong.text.contains("Wrong name or password"))

            let client = try await StaffClient.signIn(server: server, name: "ivy")
            let token2 = try #require(client.session)
            #expect(try await server.store.session(token: token2)?.account.name == "ivy")
            #expect(client.csrf != nil)
            #expect(try await client.get("/staff").status == 200)

            let out = try await client.post("/staff/logout", [])
            #expect(out.status == 303 && out.headers["location"] == "/staff/login?signedOut=1")
            #expect(StaffClient.cookie(StaffClient.sessionCookie, in: out) == "", "the cookie is cleared")
            #expect(out.setCookies.first?.contains("Max-Age=0") == true)
            #expect(try await server.store.session(token: token2) == nil, "the store revoked the session")
            let after = try await client.get("/staff")
            #expect(after.status == 303 && after.headers["location"] == "/staff/login")
        }
    }

    @Test func theSessionCookieIsSecureHttpOnlyAndSameSite() async throws {
        try await RunningServer.with(transport: .inProcess) { server in
            _ = try await server.staffAccount("ivy", role: .staff)
            let form = try await server.get(path: "/staff/login?next=%2Fstaff%2Ftickets%2F7")
            let token = try #require(StaffClient.hiddenField("_login", in: form.text))
            #expect(StaffClient.hiddenField("next", in: form.text) == "/staff/tickets/7")
            let response = try await server.send(
                path: "/staff/login",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "\(StaffClient.loginCookie)=\(token)")],
                body: Array(StaffClient.form([("_login", token), ("name", "IVY"), ("password", StaffClient.password),
                                              ("next", "/staff/tickets/7")]).utf8))
            #expect(response.status == 303 && response.headers["location"] == "/staff/tickets/7")
            let cookie = try #require(response.setCookies.first { $0.hasPrefix(StaffClient.sessionCookie + "=") })
            for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=43200"] {
                #expect(cookie.contains("; \(attribute)"), "\(cookie) lacks \(attribute)")
            }
            #expect(!cookie.contains("Domain="), "__Host- cookies name no domain")

            // Another site's address is never a place to go back to.
            for next in ["//evil.example/staff", "https://evil.example", "/\\evil.example", "/staffevil", "/staff//evil.example"] {
                let page = try await server.get(
                                                        path: "/staff/login?next=" + RunningServer.formEncode(next))
                #expect(StaffClient.hiddenField("next", in: page.text) == nil, "\(next)")
            }
        }
    }
}
