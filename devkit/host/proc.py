"""A child process in its own process group, its output read line by line, stopped for sure.

Every service that runs a local program (native PostgreSQL, the API, Metro, extra processes)
uses `ChildProcess`, so the rules live in one place: own session/process group, unbuffered
Python output, SIGTERM to the whole group then SIGKILL after a timeout.

The run ends when the direct child exits, not when its pipes close: asyncio's
`Process.wait()` (3.11) returns only once every pipe is closed, and a wrapper's grandchild
(`npx expo start` is npm exec -> sh -> node) that outlives the wrapper keeps them open
forever. So `wait()` watches the exit itself, kills what is left of the process group, gives
the readers a moment for the last lines, then closes the transport (on the loop, so nothing
is left for `__del__` after the loop has closed).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

LineSink = Callable[[str, str], None]  # (text, stream)
READ_GRACE = 1.0  # after the leader exited and its group was killed: time for the last lines


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's stream protocol plus a future that completes when the child itself exits."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


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
        self._protocol: _Protocol | None = None
        self._transport: asyncio.SubprocessTransport | None = None
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

    @property
    def pgid(self) -> int | None:
        """The process group (== the leader's pid): what is killed, even after the leader."""
        return self.process.pid if self.process else None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(1024 * 1024, loop),
            *self.argv,
            cwd=str(self.cwd) if self.cwd else None,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # own session => own process group, pgid == pid
            **self.popen_kwargs,
        )
        self._transport, self._protocol = transport, protocol
        self.process = asyncio.subprocess.Process(transport, protocol, loop)
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

    async def _exited(self) -> None:
        assert self._protocol is not None
        await asyncio.shield(self._protocol.exited)

    async def wait(self) -> int:
        """Wait until the child exits; then end what is left of its group (orphans holding our
        pipes), deliver the last output lines and release the pipes."""
        assert self.process is not None
        await self._exited()
        await self._finish()
        code = self.process.returncode
        assert code is not None
        return code

    async def _finish(self, grace: float = READ_GRACE) -> None:
        assert self.process is not None
        kill_group(self.process.pid)
        pending = [r for r in self._readers if not r.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        for reader in self._readers:
            reader.cancel()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    async def _group_gone(self, deadline: float) -> None:
        """Until no process is left in the group, or the loop's clock passes `deadline`."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            await asyncio.sleep(0.02)

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
            deadline = asyncio.get_running_loop().time() + timeout
            self.signal_group(sig)
            try:
                await asyncio.wait_for(self._exited(), timeout)
                # the rest of the group (a wrapper's child that takes longer, or ignores `sig`)
                # gets the rest of the same grace period before the SIGKILL below
                await self._group_gone(deadline)
            except TimeoutError:
                self.signal_group(signal.SIGKILL)
                await self._exited()
        await self._finish(grace=0.5)  # grandchildren that outlived the leader, then the pipes
        return self.process.returncode


def kill_group(pgid: int, sig: signal.Signals = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when nothing was left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False
