"""Closing the terminal (SIGHUP, then the kernel's SIGCONT) ends the dashboard process.

Regression: Textual's output thread died on the first write to the dead terminal, its queue
filled up and the app blocked forever in shutdown, leaving `devkit up` running with no tty.
"""

from __future__ import annotations

import fcntl
import os
import termios
from pathlib import Path

from tests.support.pty_child import spawn_on_pty
from tests.support.wait import wait_for


def _take_terminal() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_dashboard_exits_when_its_terminal_is_closed(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    proc, master = spawn_on_pty("tests.ui.hangup_child", str(marker), preexec_fn=_take_terminal)
    received = [0]

    def drain() -> None:  # read what it draws, as a terminal does
        try:
            received[0] += len(os.read(master, 1 << 16))
        except OSError:
            pass

    try:
        os.set_blocking(master, False)

        def ready() -> bool:
            drain()
            return marker.exists() or proc.poll() is not None

        wait_for(ready, timeout=30, what="dashboard running")
        assert proc.poll() is None, "dashboard exited before the terminal was closed"
        start = received[0]

        def drawing() -> bool:  # the flood is on screen: frames keep coming
            drain()
            return received[0] - start > 50_000

        wait_for(drawing, timeout=30, what="frames of the flood")
        os.close(master)
        master = -1
        wait_for(lambda: proc.poll() is not None, timeout=15, what="exit after hang-up")
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
