"""`devkit qr`: the Expo Go code (exp://LAN_IP:METRO_PORT) and the API status code.

The second code opens http://LAN_IP:PORT/status in the phone's browser: the quickest way for
a person to see whether the phone reaches the API at all.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.commands.urls import add_host_argument, gather, render_lan_header
from devkit.reach.qr import (
    FULL_QUIET_ZONE,
    MIN_QUIET_ZONE,
    qr_matrix,
    render_qr_text,
    side_by_side,
    write_png,
)
from devkit.reach.targets import api_url, expo_url


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "qr",
        help=COMMANDS["qr"],
        description="Print the QR code Expo Go scans (exp://LAN_IP:METRO_PORT) and one for the "
        "API's status URL, to check from the phone's browser that it reaches the API.",
    )
    parser.add_argument(
        "--png",
        metavar="FILE",
        help="also write the Expo code to FILE and the API code to FILE-api.png",
    )
    parser.add_argument(
        "--invert", action="store_true", help="for terminals with a light background"
    )
    add_host_argument(parser)
    parser.set_defaults(run=run)


def api_png_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-api{path.suffix or '.png'}")


def run(args: argparse.Namespace) -> int:
    snap = gather(args)
    host = snap.choice.host
    expo = expo_url(host, snap.metro_port)
    status = f"{api_url(host, snap.api_port)}/status"
    out = sys.stdout
    out.write("\n".join(render_lan_header(snap)) + "\n\n")

    width = shutil.get_terminal_size((100, 40)).columns
    blocks = []
    for label, data in (("Expo Go", expo), ("API status (open in the phone's browser)", status)):
        code = render_qr_text(data, invert=args.invert, width=width)
        blocks.append(f"{code}\n{label}:\n{data}")
    combined = side_by_side(blocks, gap=4, width=width)
    out.write((combined if combined is not None else "\n\n".join(blocks)) + "\n")
    smallest = len(qr_matrix(expo)) + 2 * MIN_QUIET_ZONE
    if width < smallest:
        out.write(
            f"! the terminal is {width} columns wide, the code needs {smallest}: "
            "widen it or use --png FILE\n"
        )
    elif width < len(qr_matrix(expo)) + 2 * FULL_QUIET_ZONE:
        out.write("(narrow terminal: printed with a 2-module quiet zone)\n")
    if not snap.choice.phones_can_reach:
        out.write("! phones cannot use these codes: no LAN address (see the warnings above)\n")

    if args.png:
        path = write_png(expo, args.png)
        api_path = write_png(status, api_png_path(path))
        out.write(f"wrote {path} ({expo}) and {api_path} ({status})\n")
    return 0
