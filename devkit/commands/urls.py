"""`devkit urls` (not implemented yet)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("urls", help="urls (not implemented yet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print("devkit urls: not implemented yet")
    return 1
