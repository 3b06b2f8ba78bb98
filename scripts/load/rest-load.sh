#!/usr/bin/env bash
# Load test of the REST channel: wrk on loopback against a release
# `concierge serve` on a fresh SQLite store, compared with the same messages
# through the engine in process (`concierge bench engine`, 64 at a time, no
# HTTP), then a check that the store holds exactly one inbound message per
# request the server answered (no failures, no doubles).
#
#   bash scripts/load/rest-load.sh [--concierge PATH | --no-build] [SECONDS=15] [ROUNDS=3]
#
#   SECONDS            length of each wrk run and of each in-process baseline
#   ROUNDS             rounds of baseline + 64 connections (see below)
#   (neither option)   swift build -c release, then measure .build/release/concierge
#   --no-build         measure the existing .build/release/concierge, no build
#   --concierge PATH   measure the binary at PATH, no build
#
# Order: 16 connections (which also warms the server up); then ROUNDS rounds,
# each the in-process baseline immediately followed by wrk at 64 connections,
# with that round's ratio (server requests/s / engine messages/s), so that
# the two figures of a ratio are measured seconds apart under the same
# machine load; the median ratio over the rounds; then 256 connections.
# Needs wrk (installed with apt-get update && apt-get install -y wrk when
# missing), curl and sqlite3.
set -euo pipefail
source "$(dirname "$0")/../concierge_binary.sh"
concierge_args "$@"; set -- "${ARGS[@]+"${ARGS[@]}"}"
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL="${1:-15}"
ROUNDS="${2:-3}"
if ! [[ "$SECONDS_PER_LEVEL" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ ]]; then
  echo "rest-load.sh: SECONDS and ROUNDS are whole numbers of at least 1 (try --help)" >&2; exit 2
fi
if ! command -v wrk >/dev/null; then
  command -v apt-get >/dev/null || { echo "rest-load.sh: wrk is missing; install it (https://github.com/wg/wrk)" >&2; exit 1; }
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
  echo "installing wrk: ${SUDO:+$SUDO }apt-get update && ${SUDO:+$SUDO }apt-get install -y wrk"
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y wrk >/dev/null
fi
for tool in curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "rest-load.sh: $tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done
concierge_binary
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
HOME_DIR="$WORK/home"
mkdir -p "$HOME_DIR"
# Reuse a trained model when one exists for this data (keyed by data + config); otherwise serve trains it.
[ -d "${CONCIERGE_HOME:-$HOME/.concierge}/models" ] && cp -r "${CONCIERGE_HOME:-$HOME/.concierge}/models" "$HOME_DIR/"
export CONCIERGE_REST_TOKEN="load-test-token"
export CONCIERGE_LOG_LEVEL="${CONCIERGE_LOG_LEVEL:-warning}"
export RUN_ID="run$$"
"$BIN" serve --home "$HOME_DIR" --channel rest --port 0 --rate-limit 1000000000 --rate-burst 1000000000 \
  > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.2; done
PORT="$(grep -o '127.0.0.1:[0-9]*' "$WORK/serve.out" | head -1 | cut -d: -f2)"
[ -n "$PORT" ] || { echo "rest-load.sh: the server did not start:" >&2; cat "$WORK/serve.err" >&2; exit 1; }
for _ in $(seq 1 3000); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
echo "$BIN: server on port $PORT (SQLite, log level $CONCIERGE_LOG_LEVEL), $(nproc) cores, ${SECONDS_PER_LEVEL}s per run, $ROUNDS rounds"
ROW='%-6s %-12s %10s %8s %8s %8s %8s %8s %13s %7s\n'
printf "$ROW" round connections requests "req/s" "p50 ms" "p99 ms" non200 errors "engine msg/s" ratio

# wrk at $1 connections; sets RESULT (wrk's RESULT line) and RPS.
run_wrk() {
  local connections="$1" label="$2"
  export RUN_ID="run$$-$label-c$connections"
  wrk -t 1 -c "$connections" -d "${SECONDS_PER_LEVEL}s" --timeout 10s -s scripts/load/rest.lua \
    "http://127.0.0.1:$PORT" > "$WORK/wrk-$label-$connections.txt"
  RESULT="$(grep '^RESULT' "$WORK/wrk-$label-$connections.txt" || true)"
  [ -n "$RESULT" ] || { echo "rest-load.sh: no RESULT line from wrk:" >&2; cat "$WORK/wrk-$label-$connections.txt" >&2; exit 1; }
  RPS="$(get rps)"
}
get() { echo "$RESULT" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
row() {  # round, connections, engine msg/s, ratio
  printf "$ROW" "$1" "$2" "$(get requests)" "$(get rps)" "$(get p50_ms)" "$(get p99_ms)" "$(get non200)" "$(get socket_errors)" "$3" "$4"
}
# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

run_wrk 16 warm
row - 16 "" ""
RATIOS=() SERVER_RATES=() ENGINE_RATES=()
for ROUND in $(seq 1 "$ROUNDS"); do
  # The baseline: the same messages through the engine in process, 64 at a time (its own fresh SQLite file).
  ENGINE="$("$BIN" bench engine --home "$HOME_DIR" --messages scripts/load/messages.txt --concurrency 64 --seconds "$SECONDS_PER_LEVEL")"
  echo "round $ROUND: $ENGINE" >> "$WORK/engine.txt"
  ENGINE_RPS="$(echo "$ENGINE" | sed -n 's/.*= \([0-9]*\) messages\/s.*/\1/p')"
  [ -n "$ENGINE_RPS" ] && [ "$ENGINE_RPS" != 0 ] || { echo "rest-load.sh: cannot read the baseline: $ENGINE" >&2; exit 1; }
  run_wrk 64 "round$ROUND"
  RATIO="$(awk "BEGIN { printf \"%.1f\", 100 * $RPS / $ENGINE_RPS }")"
  RATIOS+=("$RATIO") SERVER_RATES+=("$RPS") ENGINE_RATES+=("$ENGINE_RPS")
  row "$ROUND" 64 "$ENGINE_RPS" "$(printf '%.0f%%' "$RATIO")"
done
run_wrk 256 last
row - 256 "" ""

ANSWERED="$(curl -s "http://127.0.0.1:$PORT/metrics" | grep '^concierge_http_requests_total{channel="rest",status="200"}' | awk '{print $2}')"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
STORED="$(sqlite3 "$HOME_DIR/concierge.sqlite" "SELECT count(*) FROM messages WHERE direction = 'in'")"
DISTINCT="$(sqlite3 "$HOME_DIR/concierge.sqlite" "SELECT count(DISTINCT delivery_id) FROM messages WHERE direction = 'in'")"
echo
echo "engine in process (the baselines):"
sed 's/^/  /' "$WORK/engine.txt"
echo "server answered ${ANSWERED:-?} requests with 200; the store holds $STORED inbound messages, $DISTINCT distinct delivery ids"
if [ "$STORED" = "$DISTINCT" ]; then echo "  (no message stored twice)"; else echo "  DOUBLES: $((STORED - DISTINCT)) messages stored twice"; fi
if [ -n "$ANSWERED" ]; then
  echo "  the $((STORED - ${ANSWERED%.*})) more than answered were in flight when wrk stopped (at most 16 + 256 + 64 x $ROUNDS)"
fi
echo "server at 64 connections / engine in process, per round: $(printf '%.0f%% ' "${RATIOS[@]}")"
echo "median over $ROUNDS rounds: $(printf '%s\n' "${RATIOS[@]}" | median | xargs printf '%.0f%%') (server $(printf '%s\n' "${SERVER_RATES[@]}" | median | xargs printf '%.0f') requests/s, engine $(printf '%s\n' "${ENGINE_RATES[@]}" | median | xargs printf '%.0f') messages/s: medians of each)"
