"""The dashboard's terminal driver (devkit.ui.driver) on a real pty: keys arrive, a lone Esc
still works (the parser's timeout), quitting ends the input thread, and the input thread
sleeps while nothing is typed (Textual's own driver wakes it 10 times a second)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.support.pty_child import spawn_on_pty
from tests.support.wait import wait_for


def switches(pid: int, tid: int) -> int:
    """Context switches of one thread: one per wake-up of a sleeping thread."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


def test_keys_arrive_and_the_input_thread_sleeps_while_idle(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc, master = spawn_on_pty("tests.ui.driver_child", str(report), unset=("TEXTUAL_DRIVER",))
    os.set_blocking(master, False)

    def facts() -> dict[str, Any]:
        try:
            while os.read(master, 1 << 16):  # read what it draws, as a terminal does
                pass
        except OSError:
            pass
        try:
            return dict(json.loads(report.read_text()))
        except (OSError, ValueError):
            return {}

    def screens(n: int) -> bool:
        return facts().get("screens") == n

    try:
        wait_for(lambda: facts().get("input_thread"), timeout=30, what="dashboard running")
        assert facts()["driver"] == "QuietLinuxDriver"
        os.write(master, b"?")
        wait_for(lambda: screens(2), timeout=10, what="help screen open")
        os.write(master, b"\x1b")  # a lone Esc: told from a sequence by the parser's timeout
        wait_for(lambda: screens(1), timeout=10, what="help screen closed by Esc")

        tid = facts()["input_thread"]
        before = switches(proc.pid, tid)
        time.sleep(1.0)  # observing a quiet second, not waiting for anything
        assert switches(proc.pid, tid) - before < 5  # Textual's driver: ~10

        os.write(master, b"q")
        wait_for(lambda: proc.poll() is not None, timeout=15, what="exit after q")
        assert proc.returncode == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
