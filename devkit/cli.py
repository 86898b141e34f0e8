"""The `devkit` command line: parse arguments, hand off to a command module, print errors.

Each command lives in devkit/commands/NAME.py with `register(subparsers)`; the parser it adds
sets `run=function(args) -> exit code`. Errors from the core are DevkitError: printed as
"error: what failed" plus "fix: what to do", exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from devkit import __version__
from devkit.commands import COMMANDS
from devkit.errors import DevkitError


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command` (its module imported); every other command is listed by
    name and help only. None: all of them in full (for tests and complete help)."""
    parser = argparse.ArgumentParser(
        prog="devkit",
        description="Run the AIOS stack locally: PostgreSQL, the Flask API (reloaded on every "
        "change) and Expo's Metro, with the URLs and QR code phones and emulators need.",
    )
    parser.add_argument("--version", action="version", version=f"devkit {__version__}")
    parser.add_argument("--root", help="project folder (default: nearest pyproject.toml upwards)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(f"devkit.commands.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=text)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of argv (skipping --root VALUE), if it names a command."""
    words = iter(argv)
    for word in words:
        if word == "--root":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = command_of(argv)
    parser = build_parser(command) if command else build_parser("")
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
