"""A Controller test double: fixed statuses and logs, events published on demand, commands
recorded. Implements devkit.core.controller.Controller, so the dashboard cannot tell it from the
supervisor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

from devkit.core.events import (
    ComponentStatus,
    Event,
    EventBus,
    LogLine,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    Subscriber,
)

T0 = 1_700_000_000.0  # fixed "now" for deterministic screens (2023-11-14 22:13:20 UTC)


def default_statuses() -> list[ComponentStatus]:
    return [
        ComponentStatus(
            "postgres",
            "postgres · native",
            State.HEALTHY,
            "accepting connections",
            pid=101,
            ports=(5432,),
            url="postgresql://localhost:5432",
            started_at=T0 - 125,
        ),
        ComponentStatus(
            "api",
            "flask",
            State.HEALTHY,
            "GET /status 200",
            pid=102,
            ports=(5000,),
            url="http://localhost:5000",
            started_at=T0 - 61,
            restarts=1,
        ),
        ComponentStatus(
            "metro",
            "expo",
            State.HEALTHY,
            "",
            pid=103,
            ports=(8081,),
            url="exp://192.168.1.23:8081",
            started_at=T0 - 30,
        ),
    ]


def default_logs() -> list[LogLine]:
    texts = [
        ("postgres", "database system is ready to accept connections"),
        ("api", " * Serving Flask app 'server'"),
        ("api", " * Running on http://0.0.0.0:5000"),
        ("metro", "Starting Metro Bundler"),
        ("api", '127.0.0.1 - - "GET /status HTTP/1.1" 200 -'),
        ("metro", "Waiting on http://localhost:8081"),
        ("postgres", "checkpoint starting: time"),
        ("api", '127.0.0.1 - - "GET /api/items HTTP/1.1" 200 -'),
    ]
    return [LogLine(name, text, "stdout", T0 - 20 + i) for i, (name, text) in enumerate(texts)]


class ScriptedController:
    """`emit(event)` publishes like the supervisor (callers may use any thread)."""

    def __init__(
        self,
        statuses: Iterable[ComponentStatus] | None = None,
        logs: Iterable[LogLine] | None = None,
        *,
        stop_on_shutdown: bool = True,
    ) -> None:
        self.statuses = {s.name: s for s in (default_statuses() if statuses is None else statuses)}
        self.history = list(default_logs() if logs is None else logs)
        self.bus = EventBus()
        self.commands: list[tuple[str, ...]] = []
        self.stop_on_shutdown = stop_on_shutdown
        self._lock = threading.Lock()

    # --- Controller ---------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(subscriber)

    def snapshot(self) -> list[ComponentStatus]:
        return list(self.statuses.values())

    def logs(self, component: str | None = None, limit: int | None = None) -> list[LogLine]:
        lines = [line for line in self.history if component is None or line.component == component]
        return lines[-limit:] if limit else lines

    def request_start(self, component: str) -> None:
        self._record("start", component)

    def request_stop(self, component: str) -> None:
        self._record("stop", component)

    def request_restart(self, component: str) -> None:
        self._record("restart", component)

    def request_restart_all(self) -> None:
        self._record("restart_all")

    def request_shutdown(self, force: bool = False) -> None:
        self._record("shutdown", "force" if force else "")
        if self.stop_on_shutdown:
            for name in reversed(list(self.statuses)):
                self.set_state(name, State.STOPPING)
                self.emit(ShutdownProgress(name, State.STOPPING))
                self.set_state(name, State.STOPPED)
                self.emit(ShutdownProgress(name, State.STOPPED))
            self.emit(Stopped(0))

    # --- scripting ----------------------------------------------------------------------------
    def _record(self, *command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def emit(self, event: Event) -> None:
        self.bus.publish(event)

    def set_state(self, name: str, state: State, **changes: object) -> ComponentStatus:
        old = self.statuses[name]
        new = replace(old, state=state, **changes)  # type: ignore[arg-type]
        self.statuses[name] = new
        self.emit(StateChanged(name, old.state, state, new))
        return new

    def line(self, component: str, text: str, at: float | None = None) -> LogLine:
        line = LogLine(component, text, "stdout", T0 if at is None else at)
        self.emit(line)
        return line

    def flood(
        self, count: int, component: str = "api", per_second: float | None = None
    ) -> threading.Thread:
        """Emit `count` lines from another thread (paced when `per_second` is given)."""
        import time

        def run() -> None:
            start = time.perf_counter()
            for i in range(count):
                self.bus.publish(LogLine(component, f"flood line {i}", "stdout", T0))
                if per_second and i % 100 == 99:
                    ahead = (i + 1) / per_second - (time.perf_counter() - start)
                    if ahead > 0:
                        time.sleep(ahead)

        thread = threading.Thread(target=run, name="flood", daemon=True)
        thread.start()
        return thread
