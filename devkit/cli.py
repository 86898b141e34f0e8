"""The `devkit` command line: parse arguments, hand off to a command module, print errors.

Each command lives in devkit/commands/NAME.py with `register(subparsers)`; the parser it adds
sets `run=function(args) -> exit code`. Errors from the core are DevkitError: printed as
"error: what failed" plus "fix: what to do", exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from devkit import __version__
from devkit.commands import COMMAND_MODULES
from devkit.errors import DevkitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devkit",
        description="Run the AIOS stack locally: PostgreSQL, the Flask API (reloaded on every "
        "change) and Expo's Metro, with the URLs and QR code phones and emulators need.",
    )
    parser.add_argument("--version", action="version", version=f"devkit {__version__}")
    parser.add_argument("--root", help="project folder (default: nearest pyproject.toml upwards)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.run(args) or 0)
    except DevkitError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  fix: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
