"""The Flask API: a child process restarted when a watched source file changes.

Two reload modes (setting `api_reload`):
- "fork" (default): a warm parent (devkit.warmfork) imports Flask, psycopg and the other
  libraries once and binds the port once; each (re)start forks a child that imports only the
  project's modules. A source change restarts in tens of milliseconds instead of ~150 ms+.
  A change to the dependencies or the environment (pyproject.toml, .env, requirements, lock
  files, the venv's site-packages) restarts the warm parent too, re-reading .env.
- "spawn": `python -m server` in a fresh interpreter each time (the plain, slower way).

A crash (syntax error, import error, failing migration) shows the traceback and leaves the
component crashed until the next change (wait_for_change_after_crash). A manual restart
(from the dashboard) is always a full one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.errors import ConfigError, DevkitError
from devkit.host.proc import ChildProcess
from devkit.host.watch import DEBOUNCE_MS, STEP_MS, describe, watch
from devkit.services.warm_parent import WarmParent
from devkit.settings.config import Settings, read_env_file

# Files of the project root whose change means "dependencies or environment changed".
DEPENDENCY_FILES = (
    "pyproject.toml",
    ".env",
    "requirements*.txt",
    "requirements*.in",
    "setup.py",
    "setup.cfg",
    "uv.lock",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "constraints*.txt",
)


def module_path(root: Path, module: str) -> Path | None:
    """The package folder or .py file of `module` under root (None: not there)."""
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return base
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def has_migrations(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."), "migrations")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


class ApiService(Service):
    name = "api"
    backend = "flask"
    depends_on: tuple[str, ...] = ("postgres",)
    required = True
    restart_policy = "always"
    wait_for_change_after_crash = True
    health_interval_starting = 0.01  # the fork restart serves in a few tens of ms
    health_interval_running = 2.0

    def __init__(self, settings: Settings) -> None:
        if settings.api_reload not in ("fork", "spawn"):
            raise ConfigError(
                f"api_reload = {settings.api_reload!r} is not a reload mode",
                "use fork (fast) or spawn",
            )
        self.settings = settings
        self.root = settings.root
        self.module = settings.api_module
        self.mode = settings.api_reload
        self.port = settings.api_port
        self.status_url = f"http://127.0.0.1:{self.port}/status"
        self.ctx: ServiceContext | None = None
        self.parent: WarmParent | None = None
        self.spawned: ChildProcess | None = None
        self._prewarm: asyncio.Task[None] | None = None
        self.cold = False  # next start needs a new warm parent (dependencies/env changed)
        self.idle_by_command = False  # stopped by a command: changes do not restart it
        self._watch_stop = asyncio.Event()
        self._watch_tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()  # set by a change until the next start

    # --- what the supervisor shows ---------------------------------------------------------
    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        if self.mode == "fork":
            return self.parent.pid if self.parent else None
        child = self.spawned
        return child.pid if child is not None and child.returncode is None else None

    @property
    def child_pid(self) -> int | None:
        """The process serving requests (the forked child in fork mode)."""
        if self.mode == "fork":
            p = self.parent
            return p.child_pid if p is not None and p.child_running else None
        return self.pid

    def run_state(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "container_id": None,
            "ports": [self.port],
            "child_pid": self.child_pid,
            "reload": self.mode,
        }

    def disabled_reason(self) -> str | None:
        if module_path(self.root, self.module) is None:
            shown = self.module.replace(".", "/")
            return f"no {shown}/ package or {shown}.py in {self.root} (set api_module to change it)"
        return None

    # --- watching --------------------------------------------------------------------------
    def watch_paths(self) -> list[Path]:
        return [p if p.is_absolute() else self.root / p for p in self.settings.api_watch]

    def venv_paths(self) -> list[Path]:
        """The site-packages of the interpreter that runs the API (watched, not recursively)."""
        site = Path(sysconfig.get_paths()["purelib"])
        return [site] if site.is_dir() else []

    async def prepare(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._watch_stop = asyncio.Event()
        ignore = self.settings.api_watch_ignore
        self._watch_tasks = [
            asyncio.create_task(self._watch_loop(self.watch_paths(), ignore, "source"))
        ]
        roots_watched = any(p.resolve() == self.root.resolve() for p in self.watch_paths())
        if not roots_watched:
            self._watch_tasks.append(
                asyncio.create_task(
                    self._watch_loop(
                        [self.root],
                        ignore,
                        "dependency",
                        recursive=False,
                        only=DEPENDENCY_FILES,
                        step_ms=100,
                    )
                )
            )  # a full restart takes ~0.5 s anyway; a 5 ms step costs ~1% CPU
        for site in self.venv_paths():  # a pip install adds/removes entries at the top
            self._watch_tasks.append(
                asyncio.create_task(
                    self._watch_loop(
                        [site], (), "venv", recursive=False, step_ms=500, debounce_ms=5000
                    )
                )
            )
        if self.mode == "fork" and self.disabled_reason() is None:
            # import Flask, psycopg & co. while PostgreSQL starts: the first start only forks
            self._prewarm = asyncio.create_task(self._spawn_parent(ctx), name="api-prewarm")
        for path in self.watch_paths():
            if not path.exists():
                ctx.log(f"not watching {path}: it does not exist (setting api_watch)", "devkit")

    async def _watch_loop(
        self,
        paths: Sequence[Path],
        ignore: Sequence[str],
        kind: str,
        *,
        recursive: bool = True,
        only: Sequence[str] | None = None,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        try:
            async for changed in watch(
                paths,
                ignore=ignore,
                stop_event=self._watch_stop,
                recursive=recursive,
                only=only,
                step_ms=step_ms,
                debounce_ms=debounce_ms,
            ):
                self.on_change(changed, kind)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken watcher must not end devkit
            if self.ctx is not None:
                self.ctx.notice(f"api: watching {kind} files stopped: {exc}", "warning")

    def on_change(self, changed: Sequence[Path], kind: str) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        from fnmatch import fnmatchcase

        shown = "the installed packages" if kind == "venv" else describe(changed, self.root)
        dependency = kind != "source" or any(
            fnmatchcase(p.name, pat) for p in changed for pat in DEPENDENCY_FILES
        )
        if self.idle_by_command:  # stopped from the dashboard: stays stopped
            self.cold = self.cold or dependency
            ctx.log(f"changed: {shown} (the API is stopped: not restarted)", "devkit")
            return
        self._changed.set()
        if dependency:
            self.cold = True
            ctx.log(f"changed: {shown} (dependencies or environment: full restart)", "devkit")
            ctx.request_restart(f"changed: {shown} (full restart)")
        else:
            ctx.log(f"changed: {shown}", "devkit")
            ctx.request_restart(f"changed: {shown}")

    # --- environment -----------------------------------------------------------------------
    def child_env(self, ctx: ServiceContext) -> dict[str, str]:
        env = dict(ctx.env or os.environ)
        try:  # .env as it is now: a cold restart after editing it must see the new values
            env.update({k: v for k, v in read_env_file(self.settings.env_file).items() if v})
        except ConfigError as exc:
            ctx.log(f".env: {exc.message} (using the values read at start)", "devkit")
        for key in ("DATABASE_URL", "JWT_SECRET"):
            if not env.get(key) and self.settings.env_value(key):
                env[key] = self.settings.env_value(key)
        env["PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"
        env["DEVKIT_MIGRATE"] = "1" if self.settings.migrate_on_start else "0"
        return env

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.idle_by_command = False
        self._changed.clear()
        if self.mode == "spawn":
            await self._start_spawn(ctx)
            return
        prewarm, self._prewarm = self._prewarm, None
        if prewarm is not None:
            try:
                await prewarm
            except Exception:  # noqa: BLE001 - the normal spawn below reports the cause
                self.parent = None
        if self.parent is not None and (self.cold or not self.parent.alive):
            await self.parent.quit(1.0)
            self.parent = None
        self.cold = False
        if self.parent is None:
            await self._spawn_parent(ctx)
        assert self.parent is not None
        self.parent.start_child()

    async def _spawn_parent(self, ctx: ServiceContext) -> None:
        parent = WarmParent(self.root, self.module, self.port, self.child_env(ctx), ctx)
        self.parent = parent
        try:
            await parent.spawn()
        except BaseException:
            if self.parent is parent:
                self.parent = None
            raise

    async def _start_spawn(self, ctx: ServiceContext) -> None:
        env = self.child_env(ctx)
        if self.settings.migrate_on_start and has_migrations(self.root, self.module):
            await self._migrate_subprocess(ctx, env)
        self.spawned = ChildProcess(
            [sys.executable, "-m", self.module], cwd=self.root, env=env, on_line=ctx.log
        )
        await self.spawned.start()

    async def _migrate_subprocess(self, ctx: ServiceContext, env: dict[str, str]) -> None:
        if not env.get("DATABASE_URL"):
            ctx.log("migrations skipped: DATABASE_URL is not set", "devkit")
            return
        code = (
            f"import os, {self.module}.migrations as m\n"
            "applied = m.apply_pending(os.environ['DATABASE_URL'])\n"
            "print('applied migrations:', applied) if applied else None\n"
        )
        proc = ChildProcess([sys.executable, "-c", code], cwd=self.root, env=env, on_line=ctx.log)
        await proc.start()
        result = await proc.wait()
        if result != 0:
            raise DevkitError(
                f"migrations failed ({self.module}.migrations.apply_pending "
                f"exited with code {result}); the API was not started",
                "see the log: fix the migration, or check DATABASE_URL when "
                "the database is unreachable; saving a file retries",
            )

    async def health(self) -> Health:
        if self.mode == "fork":
            if self.parent is None or not self.parent.child_running:
                return Health(False, "not running")
        elif self.spawned is None or self.spawned.returncode is not None:
            return Health(False, "not running")
        from devkit.host.probes import PROBE_HEADERS, http_client

        # The warm parent keeps the socket listening between children, so a probe sent as
        # the child dies would wait for its timeout: stop waiting when the child exits.
        # A change also ends the wait: the supervisor handles the restart only after the
        # probe returns, and /status can take a second when the database is down.
        exited = self._exit_signal()
        changed = asyncio.ensure_future(self._changed.wait())
        request = asyncio.ensure_future(
            http_client().get(self.status_url, timeout=2.0, headers=PROBE_HEADERS)
        )
        try:
            await asyncio.wait({request, exited, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (request, changed):
                if not task.done():
                    task.cancel()
        if self._changed.is_set():
            return Health(False, "restarting: a file changed")
        if not request.done() or request.cancelled():
            return Health(False, "not running")
        exc = request.exception()
        if exc is not None:
            return Health(False, f"GET /status: {type(exc).__name__} {exc}".strip())
        response = request.result()
        if response.status_code == 503:
            return Health(False, "db down (GET /status answered 503)")
        if response.status_code >= 400:
            return Health(False, f"GET /status: HTTP {response.status_code}")
        return Health(True, f"HTTP {response.status_code}")

    def _exit_signal(self) -> asyncio.Future[object]:
        """A future done when the serving process exits (never done when there is none)."""
        if self.mode == "fork" and self.parent is not None and self.parent.child_done:
            return asyncio.shield(self.parent.child_done)
        loop = asyncio.get_running_loop()
        return loop.create_future()

    async def wait_exit(self) -> int:
        if self.mode == "spawn":
            assert self.spawned is not None
            return await self.spawned.wait()
        parent = self.parent
        assert parent is not None and parent.child_done is not None and parent.exited
        await asyncio.wait({parent.child_done, parent.exited}, return_when=asyncio.FIRST_COMPLETED)
        if parent.exited.done() and not parent.child_done.done():
            return parent.exited.result()
        return parent.child_done.result()

    async def stop(self, timeout: float, reason: StopReason) -> None:
        # A reload (a source change) or a reap (the child died by itself) keeps the warm
        # parent, so the next start only forks. A restart, a stop command or the shutdown stops
        # the whole tree; after a stop command, changes no longer restart the API.
        keep_parent = reason in (StopReason.RELOAD, StopReason.REAP)
        self.idle_by_command = reason is StopReason.COMMAND
        if self.mode == "spawn":
            if self.spawned is not None:
                await self.spawned.stop(timeout)
            return
        parent = self.parent
        if parent is None:
            return
        await parent.stop_child(timeout)
        if not (parent.alive and not self.cold and keep_parent):
            await parent.quit(timeout)
            self.parent = None

    async def close(self) -> None:
        if self._prewarm is not None:  # never started (e.g. PostgreSQL failed): no orphan
            await asyncio.gather(self._prewarm, return_exceptions=True)
            self._prewarm = None
        self._watch_stop.set()
        for task in self._watch_tasks:
            task.cancel()
        await asyncio.gather(*self._watch_tasks, return_exceptions=True)
        self._watch_tasks = []
        if self.parent is not None:
            await self.parent.quit(1.0)
            self.parent = None
        if self.spawned is not None:
            await self.spawned.stop(1.0)
