#!/usr/bin/env bash
# Load benchmark of the ticket store, SQLite and PostgreSQL side by side.
#
#   scripts/store_bench.sh [--concierge PATH | --no-build] [TICKETS=100000]
#
#   (neither option)   swift build -c release, then measure .build/release/concierge
#   --no-build         measure the existing .build/release/concierge, no build
#   --concierge PATH   measure the binary at PATH, no build
#
# For each engine, on an empty database: files TICKETS tickets, each through
# a full conversation turn in its own transaction (`concierge store bench`),
# works 80% to a final status, times the top-50 queue listing in process
# (200 rounds) and end to end (`concierge queue`, the whole command, 10 runs),
# and prints the query plan. PostgreSQL runs on a throwaway local server with
# its default durability settings (fsync on), like SQLite's synchronous=FULL.
set -euo pipefail
source "$(dirname "$0")/concierge_binary.sh"
concierge_args "$@"; set -- "${ARGS[@]+"${ARGS[@]}"}"
cd "$(dirname "$0")/.."
tickets=${1:-100000}
concierge_binary
bin="$BIN"
echo "concierge: $bin" >&2
work=$(mktemp -d /tmp/concierge-bench.XXXXXX)
source scripts/postgres_server.sh
cleanup() { pg_stop; rm -rf "$work"; }
trap cleanup EXIT
pg_start >/dev/null
pg_psql -d postgres -c "CREATE DATABASE bench"
pg_url="${CONCIERGE_TEST_POSTGRES_URL/\/postgres\?/\/bench?}"

# Median wall time of `concierge queue` (the whole process), in ms.
queue_cli_ms() {
  local samples=()
  for _ in $(seq 1 10); do
    local start end
    start=$(date +%s%N)
    "$bin" queue "$@" >/dev/null
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

echo "SQLite: filing $tickets tickets..." >&2
"$bin" store bench --tickets "$tickets" --home "$work/sqlite" --json >"$work/sqlite.json"
sqlite_cli=$(queue_cli_ms --home "$work/sqlite")
echo "PostgreSQL: filing $tickets tickets..." >&2
"$bin" store bench --tickets "$tickets" --home "$work/pg" --store "$pg_url" --json >"$work/pg.json"
pg_cli=$(queue_cli_ms --home "$work/pg" --store "$pg_url")
sqlite_size=$(du -ch "$work/sqlite"/concierge.sqlite* | tail -n 1 | cut -f1)

python3 - "$work/sqlite.json" "$work/pg.json" "$sqlite_cli" "$pg_cli" "$sqlite_size" "$(nproc)" <<'PY'
import json, sys
sqlite, pg = (json.load(open(p)) for p in sys.argv[1:3])
sqlite_cli, pg_cli, size, cores = sys.argv[3:7]
rows = [
    ("tickets (open)", f"{sqlite['tickets']:,} ({sqlite['openTickets']:,})", f"{pg['tickets']:,} ({pg['openTickets']:,})"),
    ("filing: tickets/s (one turn transaction each)", f"{sqlite['ticketsPerSecond']:,.0f}", f"{pg['ticketsPerSecond']:,.0f}"),
    ("filing: total", f"{sqlite['insertSeconds']:.0f} s", f"{pg['insertSeconds']:.0f} s"),
    ("queue top 50, in process: p50 / p95", f"{sqlite['queueMillisecondsP50']:.2f} / {sqlite['queueMillisecondsP95']:.2f} ms",
     f"{pg['queueMillisecondsP50']:.2f} / {pg['queueMillisecondsP95']:.2f} ms"),
    ("queue top 50 filtered (category+priority+unassigned): p50", f"{sqlite['filteredQueueMillisecondsP50']:.2f} ms", f"{pg['filteredQueueMillisecondsP50']:.2f} ms"),
    ("`concierge queue` whole command: median of 10", f"{sqlite_cli} ms", f"{pg_cli} ms"),
]
print(f"| measure ({cores} cores) | SQLite (WAL, synchronous=FULL; {size} on disk) | PostgreSQL (local, fsync on) |")
print("|---|---|---|")
for name, a, b in rows:
    print(f"| {name} | {a} | {b} |")
print("\nSQLite query plan (EXPLAIN QUERY PLAN):\n" + "\n".join("    " + l for l in sqlite["plan"].splitlines()))
print("\nPostgreSQL query plan (EXPLAIN ANALYZE):\n" + "\n".join("    " + l for l in pg["plan"].splitlines()))
PY
