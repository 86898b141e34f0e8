"""`devkit start NAME...`: start stopped (or crashed) components of the running devkit and wait
until they are healthy."""

from __future__ import annotations

import argparse

from devkit.commands import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("start", help=COMMANDS["start"])
    parser.add_argument("names", nargs="+", metavar="NAME", help="components to start")
    parser.add_argument("--no-wait", action="store_true", help="return once the request is sent")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait (default 120)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from devkit.commands.background import steer
    from devkit.commands.down import state_settings

    timeout = None if args.no_wait else args.timeout
    return steer(state_settings(args).state_dir, "start", list(args.names), timeout)
