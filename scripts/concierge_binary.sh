# Which Concierge binary a benchmark shell script measures: --concierge PATH
# and --no-build. Sourced (not run) by scripts/store_bench.sh,
# scripts/store_crash_test.sh and scripts/load/rest-load.sh:
#
#   (neither option)     build it (swift build -c release --product concierge),
#                        then measure .build/release/concierge
#   --no-build           measure .build/release/concierge as it is, no build
#   --concierge PATH     measure the binary at PATH, no build
#
#   source "$(dirname "$0")/concierge_binary.sh"
#   concierge_args "$@"; set -- "${ARGS[@]+"${ARGS[@]}"}"   # before any cd: PATH may be relative
#   cd "$(dirname "$0")/.."
#   concierge_binary                                         # sets BIN

# Takes --concierge PATH (or --concierge=PATH), --no-build and -h/--help out of
# the arguments and leaves the others, in order, in the array ARGS. Sets
# CONCIERGE_PATH (absolute, empty when not given) and NO_BUILD (0 or 1).
# -h/--help prints the calling script's header comment and exits.
concierge_args() {
  ARGS=()
  CONCIERGE_PATH=""
  NO_BUILD=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --concierge)
        if [ $# -lt 2 ] || [ -z "$2" ]; then echo "$(basename "$0"): --concierge needs a path" >&2; exit 2; fi
        CONCIERGE_PATH="$2"; shift 2 ;;
      --concierge=*) CONCIERGE_PATH="${1#--concierge=}"; shift ;;
      --no-build) NO_BUILD=1; shift ;;
      -h|--help) concierge_usage; exit 0 ;;
      --) shift; ARGS+=("$@"); break ;;
      -*) echo "$(basename "$0"): unknown option $1 (try --help)" >&2; exit 2 ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  case "$CONCIERGE_PATH" in
    ""|/*) ;;
    *) CONCIERGE_PATH="$PWD/$CONCIERGE_PATH" ;;
  esac
}

# The calling script's header: the comment lines after the #! line.
concierge_usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

# From the checkout's root: builds the release binary unless --no-build or
# --concierge was given, then sets BIN to the binary to measure, or exits with
# a message when there is none.
concierge_binary() {
  if [ -n "$CONCIERGE_PATH" ]; then
    BIN="$CONCIERGE_PATH"
  else
    BIN="$PWD/.build/release/concierge"
    if [ "$NO_BUILD" = 0 ]; then
      echo "\$ swift build -c release --product concierge" >&2
      swift build -c release --product concierge >&2
    fi
  fi
  if [ ! -f "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "$(basename "$0"): no concierge binary at $BIN: build it (swift build -c release --product concierge) or pass --concierge PATH" >&2
    exit 1
  fi
}
