#!/usr/bin/env bash
# Load test of the REST channel: wrk on loopback against a release
# `concierge serve` on a fresh SQLite store, at 16, 64 and 256 connections,
# then the same messages through the engine in process (`concierge bench
# engine`) in the same run, and a check that the store holds exactly one
# inbound message per request the server answered (no failures, no doubles).
#
#   bash scripts/load/rest-load.sh [seconds per level, default 15]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL="${1:-15}"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
swift build -c release --product concierge >/dev/null
BIN=.build/release/concierge
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
for _ in $(seq 1 3000); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
echo "server on port $PORT (release build, SQLite, log level $CONCIERGE_LOG_LEVEL), $(nproc) cores, ${SECONDS_PER_LEVEL}s per level"
printf '%-12s %10s %8s %8s %8s %8s %8s\n' connections requests "req/s" "p50 ms" "p99 ms" non200 errors
for CONNECTIONS in 16 64 256; do
  export RUN_ID="run$$-c$CONNECTIONS"
  wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_PER_LEVEL}s" --timeout 10s -s scripts/load/rest.lua "http://127.0.0.1:$PORT" > "$WORK/wrk-$CONNECTIONS.txt"
  LINE="$(grep '^RESULT' "$WORK/wrk-$CONNECTIONS.txt")"
  get() { echo "$LINE" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
  printf '%-12s %10s %8s %8s %8s %8s %8s\n' "$CONNECTIONS" "$(get requests)" "$(get rps)" "$(get p50_ms)" "$(get p99_ms)" "$(get non200)" "$(get socket_errors)"
  eval "RPS_$CONNECTIONS=$(get rps)"
done
ANSWERED="$(curl -s "http://127.0.0.1:$PORT/metrics" | grep '^concierge_http_requests_total{channel="rest",status="200"}' | awk '{print $2}')"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
STORED="$(sqlite3 "$HOME_DIR/concierge.sqlite" "SELECT count(*) FROM messages WHERE direction = 'in'" 2>/dev/null || echo "?")"
DISTINCT="$(sqlite3 "$HOME_DIR/concierge.sqlite" "SELECT count(DISTINCT delivery_id) FROM messages WHERE direction = 'in'" 2>/dev/null || echo "?")"
echo "server answered $ANSWERED requests with 200; the store holds $STORED inbound messages ($DISTINCT distinct delivery ids:"
echo "  no message stored twice); the $((STORED - ${ANSWERED%.*})) more were in flight when wrk stopped (at most 16 + 64 + 256)"
ENGINE="$("$BIN" bench engine --home "$HOME_DIR" --messages scripts/load/messages.txt --concurrency 64 --seconds "$SECONDS_PER_LEVEL")"
echo "$ENGINE"
ENGINE_RPS="$(echo "$ENGINE" | sed -n 's/.*= \([0-9]*\) messages\/s.*/\1/p')"
echo "server throughput at 64 connections / engine in process: $RPS_64 / $ENGINE_RPS = $(awk "BEGIN { printf \"%.0f%%\", 100 * $RPS_64 / $ENGINE_RPS }")"
