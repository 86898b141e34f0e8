"""`devkit start NAME...`: start stopped (or crashed) components of the running devkit and wait
until they are healthy."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from devkit.commands.background import register_steer

    register_steer(subparsers, "start", "components to start", need_names=True)
