"""Run a Supervisor on the test's loop with real `sys.executable -c` children."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from devkit.core.events import Event, State, StateChanged
from devkit.core.service import Service
from devkit.core.supervisor import Supervisor
from devkit.services.process import CommandService
from devkit.settings.config import Settings
from tests.support.devkit_proc import alive as descendants_alive  # noqa: F401 - re-exported


def settings(tmp_path: Path, **values: Any) -> Settings:
    base: dict[str, Any] = dict(
        shutdown_timeout=3.0,
        restart_backoff_max=1.0,
        crash_loop_limit=5,
        crash_loop_window=60.0,
        adb_reverse=False,
    )
    base.update(values)
    return Settings(root=tmp_path, state_dir=tmp_path / ".devkit", **base)


def py(name: str, code: str, **kwargs: Any) -> CommandService:
    return CommandService(name, [sys.executable, "-c", code], **kwargs)


class Harness:
    def __init__(self, supervisor: Supervisor) -> None:
        self.sup = supervisor
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        supervisor.subscribe(self._on_event)
        self.task: asyncio.Task[int] | None = None

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def __aenter__(self) -> Harness:
        self.task = asyncio.create_task(self.sup.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> int:
        assert self.task is not None
        if not self.task.done():
            self.sup.request_shutdown()
        return await asyncio.wait_for(self.task, 30)

    async def until(
        self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition"
    ) -> Any:
        async def loop() -> Any:
            while True:
                value = predicate()
                if value:
                    return value
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            states = {s.name: (str(s.state), s.detail) for s in self.sup.snapshot()}
            raise AssertionError(f"timed out waiting for {what}; states: {states}") from None

    def status(self, name: str):
        return next(s for s in self.sup.snapshot() if s.name == name)

    async def state(self, name: str, state: State, timeout: float = 15.0) -> Any:
        return await self.until(
            lambda: self.status(name).state == state and self.status(name),
            timeout,
            f"{name} {state}",
        )

    def transitions(self, name: str | None = None) -> list[tuple[str, State]]:
        return [
            (e.component, e.new)
            for e in self.events
            if isinstance(e, StateChanged)
            and e.old != e.new
            and (name is None or e.component == name)
        ]


def own_children() -> list[int]:
    return [p.pid for p in psutil.Process().children(recursive=True)]


SERVE = """
import socket, sys, time
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("listening", sys.argv[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
"""


def server(name: str, port: int, delay: float = 0.0, **kwargs: Any) -> Service:
    from devkit.host.probes import TcpProbe

    return CommandService(
        name,
        [sys.executable, "-c", SERVE, str(port), str(delay)],
        probe=TcpProbe("127.0.0.1", port, 1.0),
        ports=(port,),
        **kwargs,
    )


SLEEP_FOREVER = "import time; print('up', flush=True); time.sleep(60)"
