"""devkit's side of one warm parent process (devkit.warmfork's ForkServer): spawn it, send it
commands over a socketpair (fork a child, replace it with a drain, stop it, quit), and turn its
events into state the fork runner reads (ready, child pid, serving, child exit). The messages
are listed in devkit/warmfork/protocol.py."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from devkit.core.service import ServiceContext
from devkit.errors import DevkitError
from devkit.host.proc import ChildProcess, kill_group
from devkit.warmfork import protocol

READY_TIMEOUT = 30.0


class WarmParentClient:
    """devkit's side of one devkit.warmfork process: spawn, commands, events."""

    def __init__(
        self,
        root: Path,
        module: str,
        port: int,
        env: dict[str, str],
        ctx: ServiceContext,
        keep_dir: Path | None = None,
    ) -> None:
        self.root, self.module, self.port, self.env, self.ctx = root, module, port, env, ctx
        self.keep_dir = keep_dir  # learned preloads, compiled sources (warmfork/__main__.py)
        self.proc: ChildProcess | None = None
        self.exited: asyncio.Task[int] | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[dict[str, object]] | None = None
        self.child_pid: int | None = None
        self.child_done: asyncio.Future[int] | None = None
        self.child_serving = False  # the current child accepts (a replaced one may still answer)
        self.preloaded: list[str] = []

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.alive and self.proc else None

    @property
    def child_running(self) -> bool:
        return self.child_done is not None and not self.child_done.done()

    async def spawn(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        argv = [
            sys.executable,
            "-m",
            "devkit.warmfork",
            "--module",
            self.module,
            "--host",
            "0.0.0.0",
            "--port",
            str(self.port),
            "--control-fd",
            str(theirs.fileno()),
        ]
        if self.keep_dir is not None:
            argv += ["--keep-dir", str(self.keep_dir)]
        self.proc = ChildProcess(
            argv,
            cwd=self.root,
            env=self.env,
            on_line=self.ctx.log,
            popen_kwargs={"pass_fds": (theirs.fileno(),)},
        )
        self.ready = loop.create_future()
        try:
            await self.proc.start()
        finally:
            theirs.close()
        self.exited = asyncio.ensure_future(self.proc.wait())
        reader, self.writer = await asyncio.open_unix_connection(sock=ours, limit=4 << 20)
        self.reader_task = asyncio.ensure_future(self._read(reader))
        pending: list[asyncio.Future[Any]] = [self.ready, self.exited]
        await asyncio.wait(pending, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if self.ready.done():
            try:
                info = self.ready.result()  # raises the "fatal" error
            except BaseException:
                await self.quit(0.5)
                raise
            self.preloaded = list(info.get("preloaded", []))  # type: ignore[call-overload]
            return
        code = self.exited.result() if self.exited.done() else None
        await self.quit(1.0)
        if code is None:
            raise DevkitError(
                f"the API's warm parent did not get ready in {READY_TIMEOUT:g}s",
                'look at the api log; set api_reload = "spawn" to bypass it',
            )
        raise DevkitError(
            f"the API's warm parent exited with code {code} before it was ready",
            'see the api log above; set api_reload = "spawn" to bypass it',
        )

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, OSError):
                line = b""
            if not line:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._dispatch(event)
        if self.child_done is not None and not self.child_done.done():
            self.child_done.set_result(-signal.SIGKILL)  # died with its parent (PDEATHSIG)

    def _dispatch(self, event: dict[str, object]) -> None:
        kind = event.get("ev")
        if kind == protocol.LOG:
            self.ctx.log(str(event.get("text", "")), str(event.get("stream", "stdout")))
        elif kind == protocol.CHILD:
            self.child_pid = int(event["pid"])  # type: ignore[call-overload]
        elif kind == protocol.SERVING:
            self.child_serving = event.get("pid") == self.child_pid
        elif kind == protocol.EXIT:
            if (
                event.get("pid") == self.child_pid
                and self.child_done is not None
                and not self.child_done.done()
            ):
                self.child_done.set_result(int(event["code"]))  # type: ignore[call-overload]
        elif kind == protocol.READY and self.ready is not None and not self.ready.done():
            self.ready.set_result(event)
        elif kind == protocol.FATAL and self.ready is not None and not self.ready.done():
            text = str(event.get("text", "the warm parent failed"))
            self.ctx.log(text, "stderr")
            if event.get("errno") == errno.EADDRINUSE:
                from devkit.host.ports import conflict_error, find_holder

                self.ready.set_exception(conflict_error("api", self.port, find_holder(self.port)))
            else:
                self.ready.set_exception(DevkitError(text, "see the api log"))

    def _send(self, **command: object) -> bool:
        if self.writer is None or self.writer.is_closing() or not self.alive:
            return False
        self.writer.write(protocol.encode(**command))
        return True

    def start_child(self, drain: float | None = None) -> None:
        """Fork a new child. drain: the current one (if serving) keeps serving until the new
        one serves, then finishes its requests within `drain` seconds; None: killed now."""
        self.child_pid = None
        self.child_serving = False
        self.child_done = asyncio.get_running_loop().create_future()
        start = protocol.START
        sent = self._send(cmd=start) if drain is None else self._send(cmd=start, drain=drain)
        if not sent:
            self.child_done.set_result(-signal.SIGKILL)

    async def stop_child(self, timeout: float) -> None:
        if not self.child_running:
            return
        assert self.child_done is not None
        if self._send(cmd=protocol.STOP, timeout=timeout):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.child_done), timeout + 2.0)
        if not self.child_done.done():  # the parent does not answer: do it ourselves
            if self.child_pid:
                kill_group(self.child_pid)
            await self.quit(0.5)

    async def quit(self, timeout: float) -> None:
        """Stop the child and the parent; nothing of either is left afterwards."""
        if self.alive and self._send(cmd=protocol.QUIT, timeout=timeout) and self.exited:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), timeout + 2.0)
        if self.child_pid and self.child_running:  # not reported gone: its group may be left
            kill_group(self.child_pid)
        if self.proc is not None:
            await self.proc.stop(0.5)
        if self.writer is not None:
            self.writer.close()
        if self.reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.reader_task, 1.0)
        if self.child_done is not None and not self.child_done.done():
            self.child_done.set_result(-signal.SIGKILL)
