#!/usr/bin/env bash
# Crash safety of the SQLite ticket store.
#
#   scripts/store_crash_test.sh [--concierge PATH | --no-build] [ROUNDS=20] [WRITERS=4]
#
#   (neither option)   swift build -c release, then test .build/release/concierge
#   --no-build         test the existing .build/release/concierge, no build
#   --concierge PATH   test the binary at PATH, no build (as does CONCIERGE_BIN=PATH)
#
# Each round starts WRITERS processes that file tickets as fast as they can
# (`concierge store stress-write`, which prints `ack N` only after ticket N is
# committed), kills them all with SIGKILL at a random moment (0.2-2 s), then
# reopens the database and checks: PRAGMA integrity_check is ok, ticket
# numbers are 1..N without gaps or repeats, every ticket has its audit event,
# and every ticket ever acknowledged is present. Exits non-zero on the first
# failure.
set -euo pipefail
source "$(dirname "$0")/concierge_binary.sh"
concierge_args "$@"; set -- "${ARGS[@]+"${ARGS[@]}"}"
# CONCIERGE_BIN in the environment, the older spelling, counts as --concierge.
if [ -z "$CONCIERGE_PATH" ] && [ -n "${CONCIERGE_BIN:-}" ]; then
  case "$CONCIERGE_BIN" in /*) CONCIERGE_PATH="$CONCIERGE_BIN" ;; *) CONCIERGE_PATH="$PWD/$CONCIERGE_BIN" ;; esac
fi
cd "$(dirname "$0")/.."
rounds=${1:-20}
writers=${2:-4}
concierge_binary
CONCIERGE_BIN="$BIN"
work=$(mktemp -d /tmp/concierge-crash.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "crash test: $rounds rounds, $writers writer processes, database $work/concierge.sqlite, binary $CONCIERGE_BIN"
printf '%-6s %-9s %-10s %-9s %-9s %-8s\n' round killed_at acked tickets integrity missing
for round in $(seq 1 "$rounds"); do
  pids=()
  for writer in $(seq 1 "$writers"); do
    "$CONCIERGE_BIN" store stress-write --home "$work" --writer "r$round-w$writer" >>"$work/acked-$writer.log" 2>>"$work/writer-errors.log" &
    pids+=($!)
  done
  delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + (r / 32767) * 1.8 }')
  sleep "$delay"
  kill -9 "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  acked_args=()
  for writer in $(seq 1 "$writers"); do acked_args+=(--acked "$work/acked-$writer.log"); done
  acked=$(cat "$work"/acked-*.log | grep -c '^ack ' || true)
  if ! result=$("$CONCIERGE_BIN" store check --home "$work" "${acked_args[@]}" 2>&1); then
    echo "$result"
    echo "round $round FAILED"
    exit 1
  fi
  tickets=$(sed -n 's/.*; \([0-9]*\) tickets,.*/\1/p' <<<"$result")
  missing=$(sed -n 's/.* \([0-9]*\) missing.*/\1/p' <<<"$result")
  printf '%-6s %-9s %-10s %-9s %-9s %-8s\n' "$round" "${delay}s" "$acked" "$tickets" ok "$missing"
done
if [ -s "$work/writer-errors.log" ]; then
  echo "writer errors (other than being killed):"; sort "$work/writer-errors.log" | uniq -c | head
fi
echo "all $rounds rounds passed: every acknowledged ticket survived kill -9, integrity ok"
