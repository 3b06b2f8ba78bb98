import Hummingbird
import Logging

extension ConciergeServer {
    /// The staff web page, under `/staff`:
    ///
    /// | Route | What | Without a session |
    /// |---|---|---|
    /// | `GET /staff/login`, `POST /staff/login` | sign in (name, password; a double-submit token against login CSRF) | — |
    /// | `POST /staff/logout` | revoke the session, clear the cookie | 401 JSON |
    /// | `GET /staff` | the queue: open tickets, most urgent first, with filters (`status`, `category`, `priority`, `assignee`, `mine`) | 303 to login |
    /// | `GET /staff/queue/rows` | the queue's rows as an HTML fragment (polled by the page) | 401 JSON |
    /// | `GET /staff/tickets/:number` | a ticket: triage explanation, conversation, notes, audit log, actions | 303 to login |
    /// | `POST /staff/tickets/:number/{assign,status,category,priority,notes,merge}` | staff actions | 401 JSON |
    /// | `GET /staff/insights` | volume, response targets, satisfaction, recurring problems, model health (`since`, `until`) | 303 to login |
    /// | `GET /staff/admin` | staff accounts (admins only; staff get 403) | 303 to login |
    /// | `POST /staff/admin/{accounts,role,disable}` | add an account, change a role, disable (admins only) | 401 JSON |
    /// | `GET /staff/static/staff.css`, `…/staff.js` | the stylesheet and script (no data) | served |
    ///
    /// Every post needs the session's CSRF token (403 JSON otherwise). Every
    /// response carries the security headers of `StaffSecurityHeadersMiddleware`.
    /// See `StaffGate` for the rules and `StaffCookies` for the cookies.
    func addStaffRoutes(to router: Router<ConciergeRequestContext>) {
        let pages: StaffPages
        do {
            pages = try StaffPages()
        } catch {
            logger.critical("the staff page's templates do not parse; /staff is off", metadata: ["error": "\(error)"])
            return
        }
        let gate = StaffGate(store: store, pages: pages, assistant: assistant, now: now)
        let login = StaffLogin(gate: gate, logger: logger, trustedProxies: Set(configuration.trustedProxies))
        let desk = StaffTicketDesk(gate: gate)
        let admin = StaffAdminDesk(gate: gate, logger: logger)
        let insights = StaffInsightsDesk(gate: gate)

        let staff = router.group("/staff").add(middleware: StaffSecurityHeadersMiddleware())
        staff.get("/static/staff.css") { _, _ in StaffResponse.asset(StaffAssets.stylesheet, contentType: "text/css; charset=utf-8") }
        staff.get("/static/staff.js") { _, _ in
            StaffResponse.asset(StaffAssets.script, contentType: "text/javascript; charset=utf-8")
        }
        staff.get("/login") { request, _ in try await login.form(request) }
        staff.post("/login") { request, context in try await login.submit(request, context: context) }
        staff.post("/logout") { request, _ in try await login.logout(request) }

        staff.get("") { request, _ in try await desk.queue(request) }
        staff.get("/queue/rows") { request, _ in try await desk.queueRows(request) }
        staff.get("/tickets/:number") { request, context in try await desk.ticket(request, context: context) }
        staff.get("/tickets/:number/attachments/:id") { request, context in try await desk.attachment(request, context: context) }
        staff.post("/tickets/:number/assign") { request, context in try await desk.assign(request, context: context) }
        staff.post("/tickets/:number/status") { request, context in try await desk.status(request, context: context) }
        staff.post("/tickets/:number/category") { request, context in try await desk.category(request, context: context) }
        staff.post("/tickets/:number/priority") { request, context in try await desk.priority(request, context: context) }
        staff.post("/tickets/:number/notes") { request, context in try await desk.note(request, context: context) }
        staff.post("/tickets/:number/merge") { request, context in try await desk.merge(request, context: context) }

        staff.get("/insights") { request, _ in try await insights.page(request) }
        staff.get("/admin") { request, _ in try await admin.page(request) }
        staff.post("/admin/accounts") { request, _ in try await admin.add(request) }
        staff.post("/admin/role") { request, _ in try await admin.role(request) }
        staff.post("/admin/disable") { request, _ in try await admin.disable(request) }
    }
}
