"""`devkit down`: stop a running devkit (SIGTERM, wait for its ordered shutdown), or clean up
what a devkit that was killed left running (recorded in .devkit/runstate.json)."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.commands.common import project_root
from devkit.errors import ConfigError
from devkit.settings.config import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("down", help=COMMANDS["down"])
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for devkit's shutdown (default: shutdown_timeout+10)",
    )
    parser.set_defaults(run=run)


def state_settings(args: argparse.Namespace) -> Settings:
    """Settings, or defaults when .env/pyproject is broken (down and status must still work)."""
    root = project_root(args)
    try:
        return load_settings(root)
    except ConfigError:
        return Settings(root=root, state_dir=root / ".devkit")


def _wait_unlocked(state_dir: Path, timeout: float) -> bool:
    from devkit.core.runstate import lock_is_held

    deadline = time.monotonic() + timeout
    while lock_is_held(state_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run(args: argparse.Namespace) -> int:
    from devkit.core.runstate import clean_leftovers, holder_pid, lock_is_held

    settings = state_settings(args)
    state_dir = settings.state_dir
    timeout = args.timeout if args.timeout is not None else settings.shutdown_timeout + 10
    if lock_is_held(state_dir):
        pid = holder_pid(state_dir)
        if not pid:
            print("devkit is running but its pid is unknown; stop it from its terminal")
            return 1
        print(f"stopping devkit (pid {pid}) ...", flush=True)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not _wait_unlocked(state_dir, timeout):
            print(f"devkit (pid {pid}) did not stop within {timeout:g}s: killing it")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_unlocked(state_dir, 5)
        left = clean_leftovers(state_dir, settings.shutdown_timeout, print)
        print(
            f"devkit (pid {pid}) stopped" + (f"; cleaned {len(left)} leftover(s)" if left else "")
        )
        return 0
    left = clean_leftovers(state_dir, settings.shutdown_timeout, print, strict=True)
    if left:
        print(
            f"cleaned up {len(left)} component(s) left by a devkit that was killed: "
            + ", ".join(item.component for item in left)
        )
    else:
        print("devkit is not running; nothing left to clean up")
    return 0
