"""`devkit down`: stop a running devkit (asked over its control socket, SIGTERM when the socket
does not answer; then wait for its ordered shutdown), or clean up what a devkit that was
killed left running (recorded in .devkit/runstate.json)."""

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


def _ask(state_dir: Path) -> bool:
    """The ordered shutdown through the control socket; False when it does not answer."""
    from devkit.core.control.client import ControlClient
    from devkit.errors import DevkitError

    try:
        ControlClient(state_dir, timeout=5).down()
        return True
    except DevkitError:
        return False


def _wait_exited(pid: int, timeout: float) -> bool:
    """Until process `pid` has exited (a zombie counts: it runs nothing any more)."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _kill(pid: int, why: str) -> None:
    print(f"devkit (pid {pid}) {why}: killing it")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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
        if not _ask(state_dir):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not _wait_unlocked(state_dir, timeout):
            _kill(pid, f"did not stop within {timeout:g}s")
            _wait_unlocked(state_dir, 5)
        # the lock is released a moment before the process ends: "stopped" only once it has
        if not _wait_exited(pid, 5):
            _kill(pid, "released its lock but is still running")
            _wait_exited(pid, 5)
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
