/// The staff page's stylesheet and script, served from `/staff/static/`
/// (the Content-Security-Policy allows scripts and styles from this server
/// only, none inline). No build step: plain CSS and plain JavaScript.
enum StaffAssets {
    static let stylesheet = #"""
    :root { --ink: #1d232a; --muted: #66707a; --line: #d9dee3; --bg: #f5f6f8; --card: #fff; --accent: #1f5fa8;
            --p1: #b3261e; --p2: #c25e00; --p3: #5b6b00; --p4: #56606a; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif;
           color: var(--ink); background: var(--bg); }
    a { color: var(--accent); }
    code { font-size: 0.9em; }
    .bar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; padding: 0.6rem 1rem; background: #22303c; color: #fff; }
    .bar a { color: #fff; text-decoration: none; }
    .bar .brand { font-weight: 600; margin-right: auto; }
    .bar nav { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem 1rem; }
    .bar .who { opacity: 0.8; }
    main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
    h1 { font-size: 1.4rem; margin: 0.2rem 0 0.8rem; }
    h2 { font-size: 1.05rem; margin: 0 0 0.6rem; }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.9rem; margin-bottom: 1rem; }
    .narrow { max-width: 28rem; }
    .muted { color: var(--muted); }
    .flash { padding: 0.6rem 0.8rem; border-radius: 6px; }
    .flash.error { background: #fde8e7; color: #7d1610; border: 1px solid #f3b8b4; }
    .flash.notice { background: #e7f3e8; color: #1d5b26; border: 1px solid #b7dcbc; }
    form label { display: block; margin: 0.4rem 0; }
    form.inline { display: inline; }
    input, select, textarea, button { font: inherit; }
    input, select, textarea { padding: 0.35rem 0.45rem; border: 1px solid #b8c0c8; border-radius: 4px; max-width: 100%; }
    textarea { width: 100%; }
    button { padding: 0.4rem 0.9rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
    button.secondary { background: #e4e9ef; color: var(--ink); }
    button.danger { background: #fbe3e1; color: #8a1c13; }
    button.link { background: none; color: #fff; padding: 0; text-decoration: underline; }
    label.check { display: flex; gap: 0.4rem; align-items: center; }
    .filters { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; align-items: flex-end; margin-bottom: 0.8rem; }
    .filters label { margin: 0; }
    .table-wrap { overflow-x: auto; }
    .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 1rem; }
    figure.chart { margin: 0; padding: 0.75rem; background: var(--card); border-radius: 6px; min-width: 0; }
    figure.chart > svg { display: block; width: 100%; height: auto; }
    figure.chart figcaption { margin-top: 0.5rem; font-size: 0.92em; }
    .legend { display: block; margin-top: 0.25rem; }
    .legend .key { display: inline-block; margin-right: 0.75rem; white-space: nowrap; }
    form.period { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin-bottom: 0.5rem; }
    table.figures td, table.figures th { text-align: left; }
    .table-wrap + .card { margin-top: 1rem; }
    table { border-collapse: collapse; width: 100%; background: var(--card); }
    th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); }
    .count { font-size: 0.9rem; color: var(--muted); font-weight: normal; }
    .badge { display: inline-block; min-width: 2.2em; text-align: center; padding: 0 0.35em; border-radius: 4px; color: #fff;
             font-weight: 600; font-size: 0.85em; }
    .badge.p1 { background: var(--p1); } .badge.p2 { background: var(--p2); }
    .badge.p3 { background: var(--p3); } .badge.p4 { background: var(--p4); }
    .badge.reopened { background: #6b4e16; }
    .badge.recurring { background: #5a3d7a; text-decoration: none; }
    .photos { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.75em; }
    .photos li { display: flex; flex-direction: column; gap: 0.25em; max-width: 10em; }
    .photos img.thumb { max-width: 10em; max-height: 10em; border: 1px solid #ccc; border-radius: 4px; }
    .sla.breached { color: var(--p1); font-weight: 600; }
    .sla.urgent { color: var(--p2); }
    tr.breached { background: #fff5f4; }
    .summary { display: block; color: var(--muted); font-size: 0.88em; overflow-wrap: anywhere; }
    .resident-text { white-space: pre-wrap; overflow-wrap: anywhere; }
    .facts { display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; }
    .columns { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 1rem; }
    .columns > * { min-width: 0; }
    dl.pairs { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.8rem; margin: 0.6rem 0 0; }
    dl.pairs dt { color: var(--muted); }
    dl.pairs dd { margin: 0; overflow-wrap: anywhere; }
    .explained { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1.05rem; padding: 0.5rem; background: var(--bg); border-radius: 4px; }
    mark { border-radius: 3px; padding: 0 1px; background: #fff1a8; }
    mark.intent { background: #cfe3ff; }
    mark.priority { background: #ffd6cc; }
    mark.intent.priority { background: linear-gradient(#cfe3ff 50%, #ffd6cc 50%); }
    mark.safety { outline: 2px solid var(--p1); }
    .legend mark { font-size: 0.85em; }
    .word { display: inline-block; margin-right: 0.5rem; }
    .transcript, .notes { list-style: none; padding: 0; margin: 0; }
    .transcript li, .notes li { padding: 0.4rem 0.6rem; margin-bottom: 0.4rem; border-radius: 6px; }
    .transcript li.in { background: #eef3f8; margin-right: 15%; }
    .transcript li.out { background: #f1f6ee; margin-left: 15%; }
    .notes li.internal { background: #f6f3e8; }
    .notes li.public { background: #e9f3ff; }
    .meta { display: block; font-size: 0.8em; color: var(--muted); }
    .actions .card form + form { margin-top: 0.5rem; }
    .row-actions form { margin-right: 0.3rem; }
    @media (max-width: 760px) {
      main { padding: 0.6rem; }
      .columns { grid-template-columns: minmax(0, 1fr); }
      table.queue thead, table.accounts thead { display: none; }
      table.queue, table.queue tbody, table.queue tr, table.queue td,
      table.accounts, table.accounts tbody, table.accounts tr, table.accounts td { display: block; width: 100%; }
      table.queue tr, table.accounts tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 0.6rem; padding: 0.3rem 0; background: var(--card); }
      table.queue tr.breached { background: #fff5f4; }
      table.queue td, table.accounts td { border: 0; padding: 0.15rem 0.7rem; }
      table.queue td[data-label]::before, table.accounts td[data-label]::before {
        content: attr(data-label); display: inline-block; min-width: 6.5rem; color: var(--muted); font-size: 0.8rem; }
      .transcript li.in { margin-right: 0; } .transcript li.out { margin-left: 0; }
    }

    """#

    /// Refreshes the queue's rows without reloading: every 10 s while the
    /// page is visible it fetches the same rows as HTML (rendered and escaped
    /// by the server) and swaps them in. A signed-out session goes to the
    /// login page.
    static let script = #"""
    "use strict";
    (function () {
      var rows = document.getElementById("queue-rows");
      if (!rows) { return; }
      var source = rows.getAttribute("data-src");
      var every = 10000;
      function stamp() {
        var updated = document.getElementById("queue-updated");
        if (updated) { updated.textContent = new Date().toLocaleTimeString(); }
      }
      function refresh() {
        if (document.hidden) { return; }
        fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" })
          .then(function (response) {
            if (response.status === 401) {
              window.location.assign("/staff/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
              return null;
            }
            return response.ok ? response.text() : null;
          })
          .then(function (html) {
            if (html === null) { return; }
            var body = document.createElement("tbody");
            body.innerHTML = html;
            rows.replaceChildren.apply(rows, Array.prototype.slice.call(body.childNodes));
            var count = document.getElementById("queue-count");
            if (count) { count.textContent = String(rows.querySelectorAll("tr[data-ticket]").length); }
            stamp();
          })
          .catch(function () { /* offline for a moment: the next poll tries again */ });
      }
      window.setInterval(refresh, every);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
    })();

    """#
}
