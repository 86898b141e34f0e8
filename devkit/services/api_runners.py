"""The two ways the API is (re)started, behind one interface: ForkRunner (a warm parent forks a
child per change, the old child drains) and SpawnRunner (a fresh interpreter per change).

ApiService turns the supervisor's StopReason into an Outcome (the names hupper gives a
worker's end) and hands it to the runner; it never branches on the mode itself.
"""

from __future__ import annotations

import asyncio
import sys
from abc import ABC, abstractmethod
from enum import Enum
from pathlib import Path

from devkit.core.service import ServiceContext, StopReason
from devkit.errors import ConfigError, DevkitError
from devkit.host.proc import ChildProcess
from devkit.services.warm_parent_client import WarmParentClient
from devkit.warmfork.serving import UnknownServer, server_name

DRAIN_TIMEOUT = 10.0  # s a replaced child may take to finish its requests


class Outcome(Enum):
    """What a stop does with the running API."""

    RELOAD = "reload"  # new code: the next start swaps in a new child, the old one drains
    WAIT = "wait"  # the run ended by itself: clean up, keep warm state for the next start
    EXIT = "exit"  # stop everything: a restart, a stop command, the shutdown, new dependencies


def outcome_for(reason: StopReason, cold: bool) -> Outcome:
    """cold: the dependencies or the environment changed, so nothing warm may be kept."""
    if cold:
        return Outcome.EXIT
    if reason is StopReason.RELOAD:
        return Outcome.RELOAD
    if reason is StopReason.REAP:
        return Outcome.WAIT
    return Outcome.EXIT


def has_migrations(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."), "migrations")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


class Runner(ABC):
    mode = ""

    def __init__(self, root: Path, module: str, port: int) -> None:
        self.root, self.module, self.port = root, module, port

    @property
    @abstractmethod
    def pid(self) -> int | None:
        """The process devkit started (the warm parent in fork mode)."""

    @property
    @abstractmethod
    def child_pid(self) -> int | None:
        """The process serving requests now."""

    @property
    @abstractmethod
    def running(self) -> bool:
        """A serving process is alive (it may not answer yet)."""

    @property
    def accepting(self) -> bool:
        """The current process accepts connections: a probe reaches it, not a replaced one."""
        return self.running

    def prepare(self, ctx: ServiceContext, env: dict[str, str]) -> None:  # noqa: B027
        """Once per `up`: warm up what can be (default: nothing)."""

    @abstractmethod
    async def start(self, ctx: ServiceContext, env: dict[str, str], cold: bool) -> None:
        """Launch; cold: the environment or the dependencies changed."""

    @abstractmethod
    def exit_signal(self) -> asyncio.Future[object]:
        """Done when the serving process exits (never done when there is none)."""

    @abstractmethod
    async def wait_exit(self) -> int:
        """The exit code of the serving process when it ends."""

    @abstractmethod
    async def stop(self, timeout: float, outcome: Outcome) -> None:
        """End the run as `outcome` says."""

    async def close(self) -> None:  # noqa: B027
        """At shutdown, after stop()."""


class ForkRunner(Runner):
    mode = "fork"

    def __init__(self, root: Path, module: str, port: int, keep_dir: Path | None = None) -> None:
        super().__init__(root, module, port)
        self.keep_dir = keep_dir  # the warm parent keeps what the next one starts with here
        self.client: WarmParentClient | None = None
        self._prewarm: asyncio.Task[None] | None = None
        self._drain: float | None = None  # the next start replaces a serving child with a drain

    @property
    def pid(self) -> int | None:
        return self.client.pid if self.client else None

    @property
    def child_pid(self) -> int | None:
        c = self.client
        return c.child_pid if c is not None and c.child_running else None

    @property
    def running(self) -> bool:
        return self.client is not None and self.client.child_running

    @property
    def accepting(self) -> bool:
        return self.running and self.client is not None and self.client.child_serving

    def prepare(self, ctx: ServiceContext, env: dict[str, str]) -> None:
        # import Flask, psycopg & co. while PostgreSQL starts: the first start only forks
        self._prewarm = asyncio.create_task(self._spawn_parent(ctx, env), name="api-prewarm")

    async def _spawn_parent(self, ctx: ServiceContext, env: dict[str, str]) -> None:
        try:
            server_name(env)
        except UnknownServer as exc:
            raise ConfigError(exc.problem, exc.fix) from None
        client = WarmParentClient(self.root, self.module, self.port, env, ctx, self.keep_dir)
        self.client = client
        try:
            await client.spawn()
        except BaseException:
            if self.client is client:
                self.client = None
            raise

    async def start(self, ctx: ServiceContext, env: dict[str, str], cold: bool) -> None:
        prewarm, self._prewarm = self._prewarm, None
        if prewarm is not None:
            try:
                await prewarm
            except Exception:  # noqa: BLE001 - the normal spawn below reports the cause
                self.client = None
        drain, self._drain = self._drain, None
        if self.client is not None and (cold or not self.client.alive):
            await self.client.quit(1.0)
            self.client = None
        if self.client is None:
            await self._spawn_parent(ctx, env)
            drain = None
        assert self.client is not None
        self.client.start_child(drain=drain)

    def exit_signal(self) -> asyncio.Future[object]:
        c = self.client
        if c is not None and c.child_done is not None:
            return asyncio.shield(c.child_done)
        return asyncio.get_running_loop().create_future()

    async def wait_exit(self) -> int:
        c = self.client
        assert c is not None and c.child_done is not None and c.exited is not None
        await asyncio.wait({c.child_done, c.exited}, return_when=asyncio.FIRST_COMPLETED)
        if c.exited.done() and not c.child_done.done():
            return c.exited.result()
        return c.child_done.result()

    async def stop(self, timeout: float, outcome: Outcome) -> None:
        c = self.client
        if c is None:
            return
        if outcome is Outcome.RELOAD and c.alive and c.child_running:
            self._drain = max(timeout, DRAIN_TIMEOUT)  # it serves on until the new child does
            return
        self._drain = None
        await c.stop_child(timeout)
        if outcome is Outcome.EXIT or not c.alive:
            await c.quit(timeout)
            self.client = None

    async def close(self) -> None:
        if self._prewarm is not None:  # never started (e.g. PostgreSQL failed): no orphan
            await asyncio.gather(self._prewarm, return_exceptions=True)
            self._prewarm = None
        if self.client is not None:
            await self.client.quit(1.0)
            self.client = None


class SpawnRunner(Runner):
    mode = "spawn"

    def __init__(self, root: Path, module: str, port: int, migrate: bool) -> None:
        super().__init__(root, module, port)
        self.migrate = migrate
        self.proc: ChildProcess | None = None

    @property
    def pid(self) -> int | None:
        p = self.proc
        return p.pid if p is not None and p.returncode is None else None

    @property
    def child_pid(self) -> int | None:
        return self.pid

    @property
    def running(self) -> bool:
        return self.pid is not None

    async def start(self, ctx: ServiceContext, env: dict[str, str], cold: bool) -> None:
        if self.migrate and has_migrations(self.root, self.module):
            await self._migrate(ctx, env)
        self.proc = ChildProcess(
            [sys.executable, "-m", self.module], cwd=self.root, env=env, on_line=ctx.log
        )
        await self.proc.start()

    async def _migrate(self, ctx: ServiceContext, env: dict[str, str]) -> None:
        """The same entry point as the fork child's (devkit.warmfork.migrate), run apart."""
        argv = [sys.executable, "-m", "devkit.warmfork.migrate", "--module", self.module]
        proc = ChildProcess(argv, cwd=self.root, env=env, on_line=ctx.log)
        await proc.start()
        result = await proc.wait()
        if result != 0:
            raise DevkitError(
                f"migrations failed ({self.module}.migrations.apply_pending "
                f"exited with code {result}); the API was not started",
                "see the log: fix the migration, or check DATABASE_URL when "
                "the database is unreachable; saving a file retries",
            )

    def exit_signal(self) -> asyncio.Future[object]:
        return asyncio.get_running_loop().create_future()  # the probe times out on its own

    async def wait_exit(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    async def stop(self, timeout: float, outcome: Outcome) -> None:
        if self.proc is not None:
            await self.proc.stop(timeout)

    async def close(self) -> None:
        if self.proc is not None:
            await self.proc.stop(1.0)
