import Mustache

/// The staff page's Mustache templates, compiled into the binary (nothing to
/// install beside it). Every value is printed with `{{…}}`, which escapes
/// `& < > " '`; the templates never use the unescaped forms (`{{{…}}}`,
/// `{{&…}}`), and a test checks that. Scripts and styles are files of their
/// own (`StaffAssets`), so the Content-Security-Policy allows no inline code.
enum StaffTemplates {
    /// The templates by name, for `MustacheLibrary`.
    static let sources: [String: String] = [
        "top": top, "bottom": bottom, "login": login, "queue": queue, "queueRows": queueRows,
        "ticket": ticket, "admin": admin, "message": message, "insights": insights, "chart": chart,
    ]

    /// Parses every template. Throws `MustacheLibrary.ParserError` for a broken one.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, source) in sources { try library.register(source, named: name) }
        return library
    }

    static let top = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Concierge staff</title>
    <link rel="stylesheet" href="/staff/static/staff.css">
    <script src="/staff/static/staff.js" defer></script>
    </head>
    <body>
    <header class="bar">
    <a class="brand" href="/staff">Concierge staff</a>
    {{#staff}}
    <nav>
    <a href="/staff">Queue</a>
    <a href="/staff?mine=1">Mine</a>
    <a href="/staff/insights">Insights</a>
    {{#isAdmin}}<a href="/staff/admin">Accounts</a>{{/isAdmin}}
    <span class="who">{{name}} · {{role}}</span>
    <form method="post" action="/staff/logout" class="inline">
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <button type="submit" class="link" id="sign-out">Sign out</button>
    </form>
    </nav>
    {{/staff}}
    </header>
    <main>
    {{#error}}<p class="flash error" role="alert">{{error}}</p>{{/error}}
    {{#notice}}<p class="flash notice" role="status">{{notice}}</p>{{/notice}}

    """#

    static let bottom = #"""
    </main>
    </body>
    </html>

    """#

    static let login = #"""
    {{> top}}
    <section class="card narrow">
    <h1>Sign in</h1>
    <form method="post" action="/staff/login" id="login-form">
    <input type="hidden" name="_login" value="{{loginToken}}">
    {{#next}}<input type="hidden" name="next" value="{{next}}">{{/next}}
    <label>Name <input name="name" id="name" autocomplete="username" required value="{{name}}" autocapitalize="none" spellcheck="false"></label>
    <label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
    <button type="submit" id="sign-in">Sign in</button>
    </form>
    <p class="muted">Accounts are made by an admin (or <code>concierge staff add NAME</code>).</p>
    </section>
    {{> bottom}}
    """#

    static let queue = #"""
    {{> top}}
    <h1>Queue <span class="count" id="queue-count">{{count}}</span></h1>
    <form class="filters" method="get" action="/staff" id="filters">
    <label>Status <select name="status">{{#statusOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statusOptions}}</select></label>
    <label>Category <select name="category">{{#categoryOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categoryOptions}}</select></label>
    <label>Priority <select name="priority">{{#priorityOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/priorityOptions}}</select></label>
    <label>Assignee <input name="assignee" value="{{#unassigned}}-{{/unassigned}}{{assignee}}" placeholder="name, or - for nobody" size="12"></label>
    <label class="check"><input type="checkbox" name="mine" value="1"{{#mine}} checked{{/mine}}> Mine</label>
    <button type="submit">Filter</button>
    </form>
    <div class="table-wrap">
    <table class="queue">
    <thead><tr><th>#</th><th>Priority</th><th>SLA</th><th>Category</th><th>Status</th><th>Location</th><th>Language</th><th>Confidence</th><th>Assignee</th><th>Age</th></tr></thead>
    <tbody id="queue-rows" data-src="{{rowsURL}}">
    {{> queueRows}}
    </tbody>
    </table>
    </div>
    <p class="muted">Most urgent first (priority, then age). Updated <span id="queue-updated">{{updatedAt}}</span> {{zone}}; refreshes by itself.</p>
    {{> bottom}}
    """#

    static let queueRows = #"""
    {{#rows}}
    <tr class="ticket-row {{priorityClass}}{{#sla.breached}} breached{{/sla.breached}}" data-ticket="{{number}}">
    <td data-label="#"><a class="ticket-link" href="/staff/tickets/{{number}}">#{{number}}</a>{{#hasPhotos}} <span title="the resident sent photos" aria-label="with photos">📷</span>{{/hasPhotos}}</td>
    <td data-label="Priority"><span class="badge {{priorityClass}}">{{priority}}</span></td>
    <td data-label="SLA" class="sla{{#sla.breached}} breached{{/sla.breached}}{{#sla.urgent}} urgent{{/sla.urgent}}">{{sla.text}}</td>
    <td data-label="Category" class="category"><span class="category-name">{{category}}</span>{{#.summary}}<span class="summary">{{.}}</span>{{/.summary}}</td>
    <td data-label="Status">{{status}}{{#reopened}} <span class="badge reopened" title="the resident said it is not fixed">reopened</span>{{/reopened}}{{#recurring}} <a class="badge recurring" href="/staff/insights" title="the same problem here {{recurrenceCount}} times in 90 days">recurring ×{{recurrenceCount}}</a>{{/recurring}}</td>
    <td data-label="Location">{{.location}}{{^.location}}<span class="muted">—</span>{{/.location}}</td>
    <td data-label="Language">{{.language}}{{^.language}}<span class="muted">—</span>{{/.language}}</td>
    <td data-label="Confidence">{{.confidence}}{{^.confidence}}<span class="muted">—</span>{{/.confidence}}</td>
    <td data-label="Assignee">{{.assignee}}{{^.assignee}}<span class="muted">nobody</span>{{/.assignee}}</td>
    <td data-label="Age">{{age}}</td>
    </tr>
    {{/rows}}
    {{^rows}}<tr class="empty"><td colspan="10">No tickets match these filters.</td></tr>{{/rows}}
    """#

    static let ticket = #"""
    {{> top}}
    {{#ticket}}
    <h1>#{{number}} <span class="badge {{priorityClass}}" id="ticket-priority">{{.priority}}</span> <span id="ticket-category">{{category}}</span></h1>
    <p class="facts">
    <span>Status <strong id="ticket-status">{{status}}</strong></span>
    <span class="sla{{#sla.breached}} breached{{/sla.breached}}{{#sla.urgent}} urgent{{/sla.urgent}}">SLA {{sla.text}}</span>
    <span>Assignee <strong id="ticket-assignee">{{.assignee}}{{^.assignee}}nobody{{/.assignee}}</strong></span>
    {{#.duplicateOf}}<span>Duplicate of <a href="/staff/tickets/{{.}}">#{{.}}</a></span>{{/.duplicateOf}}
    </p>
    {{/ticket}}
    <div class="columns">
    <div class="main">
    <section class="card">
    <h2>Request</h2>
    {{#ticket}}
    <p class="resident-text" id="ticket-description">{{.description}}{{^.description}}<span class="muted">[text purged or erased]</span>{{/.description}}</p>
    <dl class="pairs">
    {{#.unit}}<dt>Unit</dt><dd>{{.}}</dd>{{/.unit}}
    {{#.location}}<dt>Where</dt><dd>{{.}}</dd>{{/.location}}
    {{#.accessNotes}}<dt>Access</dt><dd>{{.}}</dd>{{/.accessNotes}}
    <dt>Filed</dt><dd>{{created}}</dd>
    <dt>Updated</dt><dd>{{updated}}</dd>
    {{#.safetyRule}}<dt>Safety rule</dt><dd>{{.}}</dd>{{/.safetyRule}}
    {{#.emergency}}<dt>Emergency</dt><dd>{{.}}</dd>{{/.emergency}}
    {{#.confirmation}}<dt>Is it fixed?</dt><dd id="resident-confirmation">{{.}}</dd>{{/.confirmation}}
    {{#.rating}}<dt>Rating</dt><dd id="resident-rating" class="resident-text">{{.}}</dd>{{/.rating}}
    {{#.confidence}}<dt>Model confidence</dt><dd>{{.}}</dd>{{/.confidence}}
    {{#.modelVersion}}<dt>Model</dt><dd><code>{{.}}</code></dd>{{/.modelVersion}}
    {{/ticket}}
    {{#resident}}
    <dt>Resident</dt><dd><code>{{reference}}</code>{{#.name}} · {{.}}{{/.name}}{{#.unit}} · {{.}}{{/.unit}}{{#.language}} · {{.}}{{/.language}}{{#forgotten}} · <em>forgotten</em>{{/forgotten}}</dd>
    {{/resident}}
    </dl>
    </section>
    {{#triage}}
    <section class="card" id="triage">
    <h2>Triage decision</h2>
    <p class="explained" id="explained">{{#segments}}{{#highlighted}}<mark class="{{classes}}" title="{{reason}}">{{.text}}</mark>{{/highlighted}}{{^highlighted}}{{.text}}{{/highlighted}}{{/segments}}</p>
    <p class="legend"><mark class="intent">category</mark> <mark class="priority">priority</mark> <mark class="safety">safety rule</mark></p>
    <dl class="pairs">
    <dt>Kind</dt><dd>{{kind}}</dd>
    <dt>Intent</dt><dd>{{intent}}{{#.confidence}} ({{.}}){{/.confidence}}</dd>
    {{#.priority}}<dt>Priority</dt><dd>{{.}}</dd>{{/.priority}}
    {{#.modelPriority}}<dt>Model's priority</dt><dd>{{.}}</dd>{{/.modelPriority}}
    {{#.priorityConfidence}}<dt>Priority confidence</dt><dd>{{.}}</dd>{{/.priorityConfidence}}
    <dt>Language</dt><dd>{{.language}}</dd>
    {{#.safetyRule}}<dt>Safety rule</dt><dd>{{.}}: “{{safetyWords}}”</dd>{{/.safetyRule}}
    {{#hasExplanation}}
    <dt>Category words</dt><dd>{{#intentWords}}<span class="word">{{word}} <small>{{influence}}</small></span> {{/intentWords}}{{^intentWords}}—{{/intentWords}}</dd>
    <dt>Priority words</dt><dd>{{#priorityWords}}<span class="word">{{word}} <small>{{influence}}</small></span> {{/priorityWords}}{{^priorityWords}}—{{/priorityWords}}</dd>
    {{/hasExplanation}}
    </dl>
    </section>
    {{/triage}}
    {{#hasPhotos}}
    <section class="card">
    <h2>Photos</h2>
    <ul class="photos" id="photos">
    {{#photos}}<li>{{#url}}<a href="{{url}}" target="_blank" rel="noopener"><img class="thumb" src="{{url}}" alt="{{label}}"></a>{{/url}}{{^url}}<span class="muted">[erased]</span>{{/url}}<span class="meta">{{label}}</span></li>
    {{/photos}}
    </ul>
    </section>
    {{/hasPhotos}}
    <section class="card">
    <h2>Conversation</h2>
    <ol class="transcript" id="transcript">
    {{#transcript}}<li class="{{#inbound}}in{{/inbound}}{{^inbound}}out{{/inbound}}"><span class="meta">{{who}} · {{when}}</span><span class="resident-text">{{.text}}{{^.text}}<span class="muted">[redacted]</span>{{/.text}}</span></li>
    {{/transcript}}
    {{^transcript}}<li class="muted">No conversation: staff filed this ticket.</li>{{/transcript}}
    </ol>
    </section>
    <section class="card">
    <h2>Notes</h2>
    <ol class="notes" id="notes">
    {{#notes}}<li class="{{#isPublic}}public{{/isPublic}}{{^isPublic}}internal{{/isPublic}}"><span class="meta">{{author}} · {{when}} · {{#isPublic}}public reply{{/isPublic}}{{^isPublic}}internal{{/isPublic}}</span><span class="resident-text">{{.text}}{{^.text}}<span class="muted">[erased]</span>{{/.text}}</span></li>
    {{/notes}}
    {{^notes}}<li class="muted">No notes yet.</li>{{/notes}}
    </ol>
    </section>
    <section class="card">
    <h2>Audit log</h2>
    <div class="table-wrap"><table class="log" id="audit-log">
    <thead><tr><th>When</th><th>Who</th><th>What</th><th>From</th><th>To</th></tr></thead>
    <tbody>{{#events}}<tr><td>{{when}}</td><td>{{actor}}</td><td>{{kind}}</td><td>{{.from}}</td><td>{{.to}}</td></tr>
    {{/events}}</tbody>
    </table></div>
    </section>
    </div>
    <aside class="actions">
    {{#ticket}}
    <section class="card">
    <h2>Reply or note</h2>
    <form method="post" action="/staff/tickets/{{number}}/notes" id="note-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <textarea name="text" id="note-text" rows="4" required maxlength="4000"></textarea>
    <label class="check"><input type="radio" name="visibility" value="internal" id="note-internal" checked> Internal note (staff only)</label>
    <label class="check"><input type="radio" name="visibility" value="public" id="note-public"> Public reply (sent to the resident)</label>
    <button type="submit" id="note-submit">Add</button>
    </form>
    </section>
    <section class="card">
    <h2>Assign</h2>
    <form method="post" action="/staff/tickets/{{number}}/assign" id="assign-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <input name="assignee" id="assignee" list="staff-names" value="{{.assignee}}" placeholder="nobody">
    <button type="submit">Assign</button>
    </form>
    <form method="post" action="/staff/tickets/{{number}}/assign" class="inline">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <input type="hidden" name="assignee" value="{{staff.name}}">
    <button type="submit" class="secondary" id="assign-me">Assign to me</button>
    </form>
    </section>
    <section class="card">
    <h2>Status</h2>
    {{#canChangeStatus}}
    <form method="post" action="/staff/tickets/{{number}}/status" id="status-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <select name="status" id="status-select">{{#statusOptions}}<option value="{{value}}">{{label}}</option>{{/statusOptions}}</select>
    <label>Question for the resident (with pending resident) <textarea name="question" id="status-question" rows="2" maxlength="2000"></textarea></label>
    <label class="check"><input type="checkbox" name="quiet" value="1" id="status-quiet"> Don't tell the resident</label>
    <button type="submit">Change</button>
    </form>
    {{/canChangeStatus}}
    {{^canChangeStatus}}<p class="muted">{{status}} is final.</p>{{/canChangeStatus}}
    </section>
    <section class="card">
    <h2>Category</h2>
    {{#canRecategorise}}
    <form method="post" action="/staff/tickets/{{number}}/category" id="category-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <select name="category" id="category-select">{{#categoryOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categoryOptions}}</select>
    <button type="submit" id="category-submit">Re-categorise</button>
    </form>
    {{/canRecategorise}}
    {{^canRecategorise}}<p class="muted">The categories load with the model; try again shortly.</p>{{/canRecategorise}}
    </section>
    <section class="card">
    <h2>Priority</h2>
    <form method="post" action="/staff/tickets/{{number}}/priority" id="priority-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <select name="priority" id="priority-select">{{#priorityOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/priorityOptions}}</select>
    <button type="submit">Re-prioritise</button>
    </form>
    </section>
    {{#canMerge}}
    <section class="card">
    <h2>Merge</h2>
    <form method="post" action="/staff/tickets/{{number}}/merge" id="merge-form">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <label>Duplicate of # <input name="into" type="number" min="1" required inputmode="numeric" size="6"></label>
    <label class="check"><input type="checkbox" name="quiet" value="1"> Don't tell the resident</label>
    <button type="submit">Merge</button>
    </form>
    </section>
    {{/canMerge}}
    {{/ticket}}
    <datalist id="staff-names">{{#staffNames}}<option value="{{.}}">{{/staffNames}}</datalist>
    </aside>
    </div>
    {{> bottom}}
    """#

    static let admin = #"""
    {{> top}}
    <h1>Staff accounts</h1>
    <div class="table-wrap">
    <table class="accounts" id="accounts">
    <thead><tr><th>Name</th><th>Role</th><th>Created</th><th>Last sign-in</th><th>Disabled</th><th></th></tr></thead>
    <tbody>
    {{#accounts}}
    <tr data-account="{{name}}">
    <td data-label="Name">{{name}}{{#isSelf}} <span class="muted">(you)</span>{{/isSelf}}</td>
    <td data-label="Role">{{role}}</td>
    <td data-label="Created">{{created}}</td>
    <td data-label="Last sign-in">{{lastLogin}}</td>
    <td data-label="Disabled">{{.disabled}}{{^.disabled}}—{{/.disabled}}</td>
    <td class="row-actions">
    {{^.disabled}}
    <form method="post" action="/staff/admin/role" class="inline">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <input type="hidden" name="name" value="{{name}}">
    {{#isAdmin}}<input type="hidden" name="role" value="staff"><button type="submit" class="secondary">Make staff</button>{{/isAdmin}}
    {{^isAdmin}}<input type="hidden" name="role" value="admin"><button type="submit" class="secondary">Make admin</button>{{/isAdmin}}
    </form>
    <form method="post" action="/staff/admin/disable" class="inline">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <input type="hidden" name="name" value="{{name}}">
    <button type="submit" class="danger">Disable</button>
    </form>
    {{/.disabled}}
    </td>
    </tr>
    {{/accounts}}
    </tbody>
    </table>
    </div>
    <section class="card narrow">
    <h2>Add an account</h2>
    <form method="post" action="/staff/admin/accounts" id="add-account">
    <input type="hidden" name="_csrf" value="{{staff.csrf}}">
    <label>Name <input name="name" required maxlength="64" autocapitalize="none" spellcheck="false"></label>
    <label>Starting password <input name="password" type="password" required minlength="{{minimumPasswordLength}}" autocomplete="new-password"></label>
    <label>Role <select name="role"><option value="staff" selected>staff</option><option value="admin">admin</option></select></label>
    <button type="submit">Add</button>
    </form>
    <p class="muted">They change it with <code>concierge staff passwd NAME</code>. Disabling an account signs it out everywhere.</p>
    </section>
    {{> bottom}}
    """#

    static let insights = #"""
    {{> top}}
    <h1>Insights</h1>
    <form method="get" action="/staff/insights" class="period">
    <label>From <input type="date" name="since" value="{{since}}"></label>
    <label>Until <input type="date" name="until" value="{{until}}"></label>
    <button type="submit" class="secondary">Show</button>
    </form>
    <p class="muted" id="period">{{total}} tickets created {{period}}.</p>
    <div class="charts">
    {{#charts}}{{> chart}}{{/charts}}
    </div>
    <section class="card">
    <h2>First answer within the target, by priority</h2>
    <div class="table-wrap"><table class="figures" id="sla-priority">
    <thead><tr><th>Priority</th><th>In time</th><th>Late</th><th>Of which unanswered</th><th>In time</th></tr></thead>
    <tbody>{{#slaRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/slaRows}}</tbody>
    </table></div>
    <h2>Time taken</h2>
    <div class="table-wrap"><table class="figures" id="durations">
    <thead><tr><th></th><th>Tickets</th><th>Median</th><th>90th percentile</th></tr></thead>
    <tbody>{{#durationRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/durationRows}}</tbody>
    </table></div>
    </section>
    <section class="card">
    <h2>Recurring problems</h2>
    <p class="muted">The same category at the same unit or shared place 3 or more times in 90 days, most frequent first.</p>
    {{#hasRecurring}}
    <div class="table-wrap"><table class="figures" id="recurring">
    <thead><tr><th>Category</th><th>Where</th><th>Times</th><th>Tickets</th><th>Days between</th></tr></thead>
    <tbody>
    {{#recurring}}<tr><td>{{category}}</td><td>{{place}}</td><td>{{times}}</td>
    <td>{{#tickets}}<a href="/staff/tickets/{{number}}">#{{number}}</a> {{/tickets}}</td><td>{{days}}</td></tr>{{/recurring}}
    </tbody></table></div>
    {{/hasRecurring}}
    {{#recurringNote}}<p class="muted">{{.}}</p>{{/recurringNote}}
    {{^hasRecurring}}<p>None in this period.</p>{{/hasRecurring}}
    </section>
    <section class="card">
    <h2>Satisfaction</h2>
    <p id="satisfaction">{{satisfactionSummary}}</p>
    <div class="table-wrap"><table class="figures" id="ratings-by-category">
    <thead><tr><th>Category</th><th>Ratings</th><th>Mean</th></tr></thead>
    <tbody>{{#ratingRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/ratingRows}}</tbody>
    </table></div>
    </section>
    <section class="card">
    <h2>Model health</h2>
    <p class="muted">Tickets the assistant filed, per category as filed: how often staff corrected it, P1 false alarms and misses, clarifying questions.</p>
    <div class="table-wrap"><table class="figures" id="model-health">
    <thead><tr><th>Category</th><th>Filed</th><th>Corrected</th><th>P1 lowered</th><th>Raised to P1</th><th>Clarified</th></tr></thead>
    <tbody>{{#healthRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/healthRows}}</tbody>
    </table></div>
    </section>
    <section class="card">
    <h2>Language and channel</h2>
    <div class="table-wrap"><table class="figures" id="languages">
    <thead><tr><th>Language</th><th>Tickets</th></tr></thead>
    <tbody>{{#languageRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/languageRows}}</tbody>
    </table></div>
    <div class="table-wrap"><table class="figures" id="channels">
    <thead><tr><th>Channel</th><th>Tickets</th></tr></thead>
    <tbody>{{#channelRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/channelRows}}</tbody>
    </table></div>
    </section>
    {{> bottom}}

    """#

    /// One chart: the SVG (its `<title>` first), the summary, and the table behind it.
    static let chart = #"""
    <figure class="chart" id="{{id}}">
    <svg viewBox="0 0 360 220" role="img" aria-labelledby="{{id}}-title" xmlns="http://www.w3.org/2000/svg">
    <title id="{{id}}-title">{{title}}</title>
    {{#gridLines}}<line x1="34" x2="354" y1="{{y}}" y2="{{y}}" stroke="#d0d4d9" stroke-width="1"/><text x="30" y="{{labelY}}" text-anchor="end" font-size="10" fill="#444">{{text}}</text>{{/gridLines}}
    {{#bars}}<rect class="bar" x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="{{fill}}"><title>{{label}}</title></rect>{{/bars}}
    {{#xLabels}}<text x="{{x}}" y="{{y}}" text-anchor="middle" font-size="9" fill="#444">{{text}}</text>{{/xLabels}}
    </svg>
    <figcaption><strong>{{title}}.</strong> {{summary}}
    <span class="legend">{{#legend}}<span class="key"><svg viewBox="0 0 10 10" width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{{fill}}"/></svg> {{name}}</span> {{/legend}}</span>
    </figcaption>
    <details><summary>Table</summary>
    <div class="table-wrap"><table class="figures">
    <thead><tr>{{#tableHeader}}<th>{{.}}</th>{{/tableHeader}}</tr></thead>
    <tbody>{{#tableRows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/tableRows}}</tbody>
    </table></div>
    </details>
    </figure>

    """#

    static let message = #"""
    {{> top}}
    <section class="card narrow">
    <h1>{{title}}</h1>
    <p>{{message}}</p>
    <p><a href="/staff">Back to the queue</a></p>
    </section>
    {{> bottom}}
    """#
}
