"""A child process in its own process group, its output read line by line, stopped for sure.

Every service that runs a local program (native PostgreSQL, the API, Metro, extra processes)
uses `ChildProcess`, so the rules live in one place: own session/process group, unbuffered
Python output, SIGTERM to the whole group then SIGKILL after a timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

LineSink = Callable[[str, str], None]  # (text, stream)


class ChildProcess:
    """One run of a command. `on_line` receives every output line (without newline)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineSink | None = None,
        popen_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env) if env is not None else dict(os.environ)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.on_line = on_line or (lambda text, stream: None)
        self.popen_kwargs = dict(popen_kwargs or {})
        self.process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    @property
    def running_pid(self) -> int | None:
        """The pid while the process runs; None before start and after exit."""
        return self.pid if self.process is not None and self.returncode is None else None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=str(self.cwd) if self.cwd else None,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # own session => own process group, pgid == pid
            limit=1024 * 1024,
            **self.popen_kwargs,
        )
        assert self.process.stdout and self.process.stderr
        self._readers = [
            asyncio.create_task(self._pump(self.process.stdout, "stdout")),
            asyncio.create_task(self._pump(self.process.stderr, "stderr")),
        ]

    async def _pump(self, stream: asyncio.StreamReader, name: str) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the limit: take what is there
                raw = await stream.read(64 * 1024)
            if not raw:
                return
            self.on_line(raw.decode("utf-8", "replace").rstrip("\r\n"), name)

    async def wait(self) -> int:
        """Wait for exit and for the last output line to be delivered."""
        assert self.process is not None
        code = await self.process.wait()
        if self._readers:
            await asyncio.wait(self._readers, timeout=2)
        return code

    def signal_group(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            self.process.send_signal(sig)

    async def stop(self, timeout: float = 5.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """`sig` to the process group, SIGKILL to the group after `timeout`. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.signal_group(sig)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.signal_group(signal.SIGKILL)
                await self.process.wait()
        kill_group(self.process.pid)  # grandchildren that outlived the leader
        for reader in self._readers:
            reader.cancel()
        return self.process.returncode


def kill_group(pgid: int, sig: signal.Signals = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when nothing was left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False
