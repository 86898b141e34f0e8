"""`devkit logs [NAME...] [-f] [-n N] [--since 5m] [--grep RE]`: what the components of the
running devkit printed (from its in-memory buffers), then, with -f, every new line as it comes.
Lines look like headless `devkit up` output (devkit.ui.plain): time, name, `|`, text."""

from __future__ import annotations

import argparse
import re
import sys
import time

from devkit.commands import COMMANDS
from devkit.errors import DevkitError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("logs", help=COMMANDS["logs"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="components (default: all)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("-n", "--tail", type=int, default=None, metavar="N", help="last N lines")
    parser.add_argument("--since", default=None, help="only lines newer than this: 30s, 5m, 1h30m")
    parser.add_argument("--grep", default=None, metavar="RE", help="only lines matching RE")
    parser.set_defaults(run=run)


def parse_since(text: str, now: float) -> float:
    """'5m' -> now - 300. Durations combine units s, m, h, d ('1h30m'); a bare number is seconds."""
    text = text.strip()
    try:
        return now - float(text)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise DevkitError(
            f"--since {text!r} is not a duration", "use a number with s, m, h or d: 30s, 5m, 1h30m"
        )
    return now - sum(float(n) * UNITS[u] for n, u in parts)


class _Stamp:
    """The printer's clock: the time of the line being printed (history keeps its times)."""

    at = 0.0

    def __call__(self) -> float:
        return self.at


def run(args: argparse.Namespace) -> int:
    from devkit.commands.down import state_settings
    from devkit.core.control.client import ControlClient
    from devkit.core.events import LogLine
    from devkit.ui.plain import PlainPrinter

    if args.tail is not None and args.tail < 0:
        raise DevkitError("-n must not be negative", "e.g. devkit logs -n 50")
    try:
        pattern = re.compile(args.grep) if args.grep else None
    except re.error as exc:
        raise DevkitError(f"--grep {args.grep!r} is not a regular expression: {exc}", "") from None
    since = parse_since(args.since, time.time()) if args.since else None
    client = ControlClient(state_settings(args).state_dir)
    known = [c["name"] for c in client.status()["components"]]
    unknown = [n for n in args.names if n not in known]
    if unknown:
        raise DevkitError(
            f"no component named {', '.join(unknown)}", f"components: {', '.join(known)}"
        )
    stamp = _Stamp()
    printer = PlainPrinter(sys.stdout, names=known, clock=stamp)

    def show(line: LogLine) -> None:
        if pattern is None or pattern.search(line.text):
            stamp.at = line.at
            printer(line)

    if not args.follow:
        for line in client.logs(args.names, args.tail, since):
            show(line)
        return 0
    for message in client.events(args.names, args.tail, since):
        event = message.event
        if isinstance(event, LogLine):
            show(event)
        elif message.kind == "stopped":
            stamp.at = time.time()
            printer.line("devkit", "devkit stopped")
            return 0
    return 0
