import Foundation
import Hummingbird
import Store

/// `GET /staff/insights?since=YYYY-MM-DD&until=YYYY-MM-DD`: the insights page
/// for every signed-in account (admins and staff alike). Days are read in the
/// community's time zone; without them the period is the last 90 days. A day
/// that is not a date shows the page's form again with the reason (400).
struct StaffInsightsDesk: Sendable {
    let gate: StaffGate

    func page(_ request: Request) async throws -> Response {
        try await gate.page(request) { staff in
            let catalog = gate.catalog
            let format = gate.formatting(catalog)
            let since = request.staffQuery("since"), until = request.staffQuery("until")
            let period: InsightsPeriod
            do {
                period = try InsightsPeriod(since: since, until: until, timeZone: format.timeZone, now: format.now)
            } catch let error as StoreError {
                return gate.pages.message("Insights", StaffTicketDesk.sentence(error), staff: StaffHeader(staff), status: .badRequest)
            }
            let report = try await gate.store.insights(since: period.since, until: period.until,
                                                       weekStart: InsightsReport.weekStart(onOrBefore: period.since,
                                                                                           timeZone: format.timeZone))
            let day = InsightsPage.dayFormatter(format.timeZone)
            return gate.pages.render("insights", InsightsPage(staff: StaffHeader(staff), report: report, catalog: catalog, format: format,
                                                              since: day(period.since),
                                                              until: day(period.until.addingTimeInterval(-1))))
        }
    }
}
