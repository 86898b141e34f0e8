"""The Flask API: a child process restarted when a watched source file changes.

Two reload modes (setting `api_reload`):
- "fork" (default): a warm parent (devkit.warmfork) imports Flask, psycopg and the other
  libraries once and binds the port once; each (re)start forks a child that imports only the
  project's modules. A source change restarts in tens of milliseconds instead of ~150 ms+.
  A change to the dependencies or the environment (pyproject.toml, .env, requirements, lock
  files, the venv's site-packages) restarts the warm parent too, re-reading .env.
  A save swaps children without dropping a request: the new child accepts first, the old
  one finishes what it holds (drain). While the code cannot load, the warm parent answers
  every request with 503 and the error (devkit/warmfork/crashpage.py).
- "spawn": `python -m server` in a fresh interpreter each time (the plain, slower way).
The two are runner objects with one interface (api_runners.py).

A crash (syntax error, import error, failing migration) shows the traceback and leaves the
component crashed until the next change (wait_for_change_after_crash). A manual restart
(from the dashboard) is always a full one.
"""

from __future__ import annotations

import asyncio
import os
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.errors import ConfigError
from devkit.host.watch import DEBOUNCE_MS, SETTLE_MS, STEP_MS, describe, watch
from devkit.services.api_runners import ForkRunner, Runner, SpawnRunner, outcome_for
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
        self.runner: Runner = (
            ForkRunner(self.root, self.module, self.port, settings.state_dir)
            if self.mode == "fork"
            else SpawnRunner(self.root, self.module, self.port, settings.migrate_on_start)
        )
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
        return self.runner.pid

    @property
    def child_pid(self) -> int | None:
        """The process serving requests (the forked child in fork mode)."""
        return self.runner.child_pid

    def run_state(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "container_id": None,
            "ports": [self.port],
            "child_pid": self.child_pid,
            "reload": self.runner.mode,
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
        if self.disabled_reason() is None:
            # first: the warm parent's imports are the longest step of `up`, and setting up
            # the watchers (watchfiles, anyio) holds the loop for a while
            self.runner.prepare(ctx, self.child_env(ctx))
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
                        settle_ms=100,
                        debounce_ms=200,
                        step_ms=100,
                    )
                )
            )  # a full restart takes ~0.5 s anyway: collect what `uv lock`/`pip` write together
        for site in self.venv_paths():  # a pip install adds/removes entries at the top
            self._watch_tasks.append(
                asyncio.create_task(
                    self._watch_loop(
                        [site],
                        (),
                        "venv",
                        recursive=False,
                        settle_ms=500,
                        step_ms=500,
                        debounce_ms=5000,
                    )
                )
            )
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
        settle_ms: float = SETTLE_MS,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        ctx = self.ctx

        def log(line: str) -> None:  # about the watcher itself: a fallback, its end
            if ctx is not None:
                ctx.log(f"{kind} files: {line}", "devkit")

        existed = any(p.exists() for p in paths)
        try:
            async for changed in watch(
                paths,
                ignore=ignore,
                stop_event=self._watch_stop,
                recursive=recursive,
                only=only,
                settle_ms=settle_ms,
                step_ms=step_ms,
                debounce_ms=debounce_ms,
                log=log,
            ):
                self.on_change(changed, kind)
            if existed and not self._watch_stop.is_set():  # the watched folders were removed
                log("no longer watched: the folders were removed (restart devkit to watch again)")
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
        cold, self.cold = self.cold, False
        if self.mode == "fork":
            from devkit.host.probes import http_client

            # its import (~10 ms) now, while the warm parent still imports: the first probe
            # follows the first child's "serving" at once
            http_client()
        await self.runner.start(ctx, self.child_env(ctx), cold)

    async def health(self) -> Health:
        if not self.runner.running:
            return Health(False, "not running")
        if not self.runner.accepting:
            return Health(False, "loading the new code")
        from devkit.host.probes import PROBE_HEADERS, http_client

        # The warm parent keeps the socket listening between children, so a probe sent as
        # the child dies would wait for its timeout: stop waiting when the child exits.
        # A change also ends the wait: the supervisor handles the restart only after the
        # probe returns, and /status can take a second when the database is down.
        exited = self.runner.exit_signal()
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

    async def wait_exit(self) -> int:
        return await self.runner.wait_exit()

    async def stop(self, timeout: float, reason: StopReason) -> None:
        # A reload (a source change) swaps children and keeps the warm parent; a reap (the
        # child died by itself) keeps it for the next start. A restart, a stop command, the
        # shutdown or new dependencies stop the whole tree; after a stop command, changes no
        # longer restart the API.
        self.idle_by_command = reason is StopReason.COMMAND
        await self.runner.stop(timeout, outcome_for(reason, self.cold))

    async def close(self) -> None:
        self._watch_stop.set()
        for task in self._watch_tasks:
            task.cancel()
        await asyncio.gather(*self._watch_tasks, return_exceptions=True)
        self._watch_tasks = []
        await self.runner.close()
