"""`devkit stop NAME...`: stop components of the running devkit (they stay stopped until
`devkit start NAME`) and wait until they are."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from devkit.commands.background import register_steer

    register_steer(subparsers, "stop", "components to stop", need_names=True)
