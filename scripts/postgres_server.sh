# A throwaway PostgreSQL server on loopback, for tests and benchmarks.
#
#   source scripts/postgres_server.sh
#   pg_start            # or: PG_FAST=1 pg_start (no fsync: tests only, never for figures)
#   ... $CONCIERGE_TEST_POSTGRES_URL is set ...
#   pg_stop
#
# The cluster lives in a new temporary folder and listens on 127.0.0.1 on the
# first free port from 55432, with password (SCRAM) authentication for TCP and
# a random password. As root, the server runs as the `postgres` user (which
# the Debian package creates); otherwise as the current user. Needs the
# PostgreSQL server binaries (Debian: apt-get install postgresql).

pg_find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] && command -v initdb >/dev/null 2>&1; then dir=$(dirname "$(command -v initdb)"); fi
  [ -n "$dir" ] && [ -x "$dir/initdb" ] || { echo "postgres_server.sh: no PostgreSQL server found (apt-get install postgresql)" >&2; return 1; }
  echo "$dir"
}

pg_start() {
  PG_BIN=$(pg_find_bin) || return 1
  PG_DIR=$(mktemp -d /tmp/concierge-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  PG_RUN=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "postgres_server.sh: running as root needs a 'postgres' user" >&2; return 1; }
    chown postgres "$PG_DIR"
    PG_RUN=(runuser -u postgres --)
  fi
  local password
  password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" > "$PG_DIR/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/pwfile"
  "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U concierge --pwfile="$PG_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  rm -f "$PG_DIR/pwfile"
  local extra=""
  if [ "${PG_FAST:-0}" = 1 ]; then extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=""
    for candidate in $(seq $((55432 + (attempt - 1) * 20)) 55632); do
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
    done
    [ -n "$port" ] || { echo "postgres_server.sh: no free port" >&2; return 1; }
    if "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=200 $extra" start >/dev/null; then
      PG_PORT=$port
      export CONCIERGE_TEST_POSTGRES_URL="postgres://concierge:${password}@127.0.0.1:${port}/postgres?sslmode=disable"
      echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data in $PG_DIR)"
      return 0
    fi
  done
  cat "$PG_DIR/server.log" >&2
  return 1
}

# Runs psql against the server as the superuser (over the Unix socket).
pg_psql() {
  "${PG_RUN[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U concierge -X -q "$@"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  PG_DIR=""
}
