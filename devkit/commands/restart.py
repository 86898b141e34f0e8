"""`devkit restart [NAME...]`: restart components of the running devkit (all when no name is
given) and wait until they are healthy again (--no-wait: return at once)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from devkit.commands.background import register_steer

    register_steer(subparsers, "restart", "components (default: all)", need_names=False)
