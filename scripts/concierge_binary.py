"""Which Concierge binary a benchmark script measures: --concierge PATH and --no-build.

Shared by the Python scripts in scripts/ that run the `concierge` CLI:

    (neither option)     build it (swift build -c release --product concierge),
                         then measure .build/release/concierge
    --no-build           measure .build/release/concierge as it is, no build
    --concierge PATH     measure the binary at PATH, no build (e.g. an older
                         build for before/after figures)

Either way the script stops with a clear message when the binary is missing.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, ".build", "release", "concierge")
BUILD = ["swift", "build", "-c", "release", "--product", "concierge"]


def add_arguments(parser, concierge_help=None):
    """Adds --concierge PATH and --no-build to an argparse parser."""
    parser.add_argument("--concierge", metavar="PATH",
                        help=concierge_help or "measure this concierge binary; implies --no-build "
                                               "(default: .build/release/concierge of this checkout)")
    parser.add_argument("--no-build", action="store_true",
                        help="skip `swift build -c release`: measure the binary already at "
                             ".build/release/concierge (or --concierge PATH)")


def resolve(args):
    """The absolute path of the binary to measure, built first unless --no-build or --concierge."""
    if args.concierge:
        path = os.path.abspath(args.concierge)
    else:
        path = DEFAULT
        if not args.no_build:
            print("$ " + " ".join(BUILD), file=sys.stderr, flush=True)
            # The build's output goes to stderr, so that stdout holds only the figures.
            subprocess.run(BUILD, cwd=ROOT, check=True, stdout=sys.stderr)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"no concierge binary at {path}: build it ({' '.join(BUILD)}) "
                 f"or pass --concierge PATH")
    return path
