"""Run `python -m devkit` as a real child process and watch what it leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from devkit.core.runstate import read_state
from tests.support.wait import wait_for


def devkit(root: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    # devkit runs as on a developer's machine: under CI=1 (set by .ci/run) Expo CLI turns
    # Metro's file watching and reloads off, which the real-Expo tests exercise
    env.pop("CI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "devkit", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        **kwargs,
    )  # type: ignore[arg-type]


def run_devkit(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )


class Output:
    """Collects a process's output lines on a thread, so waits never block on a pipe."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.proc = proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait(self, text: str, timeout: float = 20) -> None:
        """Until `text` is printed; fails at once (with the output) when devkit exits first."""
        try:
            wait_for(
                lambda: self.has(text) or self.proc.poll() is not None, timeout, what=repr(text)
            )
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {timeout}s:\n{self.tail()}") from None
        if not self.has(text):
            self._thread.join(timeout=5)
            if not self.has(text):
                raise AssertionError(
                    f"devkit exited ({self.proc.returncode}) before {text!r}:\n{self.tail()}"
                )

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def kill_everything_recorded(root: Path) -> None:
    """Safety net so a failing test never leaves processes behind."""
    state = read_state(root / ".devkit") or {}
    for entry in (state.get("components") or {}).values():
        try:
            pgid = int(entry.get("pgid") or 0)
        except (TypeError, ValueError):
            continue
        # killpg(0) would be our own group: a component without a pgid (a container, or not
        # started yet) must not take the test runner down with it
        if pgid <= 1 or pgid == os.getpgrp():
            continue
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def process_tree(pid: int) -> list[int]:
    try:
        proc = psutil.Process(pid)
        return [pid] + [p.pid for p in proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def still_alive_after(pids: list[int], timeout: float = 5.0) -> list[int]:
    """The pids still alive once `timeout` has passed (or [] as soon as all are gone): a killed
    grandchild takes a moment to die, and nothing waits for it but init."""
    try:
        wait_for(lambda: not alive(pids), timeout, what="processes to end")
    except TimeoutError:
        pass
    return alive(pids)
