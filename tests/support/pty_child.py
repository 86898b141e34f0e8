"""Start a Python module on a fresh pseudo-terminal, as a real terminal runs the dashboard."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spawn_on_pty(
    module: str,
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    preexec_fn: Callable[[], None] | None = None,
    size: tuple[int, int] = (80, 24),
) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m module args` on an xterm pty of `size` (columns, rows) in a session of its
    own: (process, master)."""
    master, slave = os.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT), **(env or {})}
    for name in unset:
        full_env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=full_env,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )
    os.close(slave)
    return proc, master
