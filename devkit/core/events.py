"""The supervisor's vocabulary: component states, the events it emits and the bus that carries them.

The supervisor is the only producer. Front ends (Textual UI, headless printer, tests) subscribe
and send commands through `devkit.core.controller.Controller`; they never own a process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    DISABLED = "disabled"  # not started on purpose (e.g. no client/ folder); `detail` says why
    STOPPED = "stopped"
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # running but its health check fails
    RESTARTING = "restarting"
    CRASHED = "crashed"  # exited unexpectedly; `last_error` holds its last lines
    # not running because something outside devkit it needs is gone (the Docker engine
    # stopped): `detail` says what; resumed by itself when that answers again, not a crash
    WAITING = "waiting"
    STOPPING = "stopping"


@dataclass(frozen=True)
class ComponentStatus:
    """A snapshot of one component, as shown by the dashboard and `devkit status`."""

    name: str
    backend: str  # e.g. "postgres · docker", "postgres · native", "flask", "expo"
    state: State
    detail: str = ""  # health detail or why disabled/crashed
    pid: int | None = None
    container_id: str | None = None
    ports: tuple[int, ...] = ()
    url: str = ""
    started_at: float | None = None  # time.time() of the current run; None when not running
    restarts: int = 0  # runs started after the first (crash restarts, reloads, commands)
    last_error: tuple[str, ...] = ()  # last lines of output of a crashed run (an excerpt)
    crashes: int = 0  # runs that ended by themselves with a failure, in this `up`
    required: bool = True
    # running, maybe healthy, but what it serves is broken (e.g. "iOS bundle failed: ...");
    # problem_lines explain it (message, code frame). Empty when there is none.
    problem: str = ""
    problem_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateChanged:
    component: str
    old: State
    new: State
    status: ComponentStatus
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LogLine:
    component: str
    text: str  # one line, no trailing newline, secrets already masked
    stream: str = "stdout"  # "stdout" | "stderr" | "devkit" (devkit's own messages)
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Notice:
    """Something a person should see once (a toast in the TUI, a line in headless mode)."""

    text: str
    level: str = "info"  # "info" | "warning" | "error"
    component: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class TargetsChanged:
    """Network addresses changed (new LAN IP, VPN on/off): new device URLs are available."""

    lan_host: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class AllHealthy:
    """Every enabled component that should run is HEALTHY (a crashed one counts as not
    healthy). Emitted when that becomes true: the first time and after each recovery; front
    ends print the devices block only the first time and when the LAN address changed."""

    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ShutdownProgress:
    component: str
    state: State
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Stopped:
    """The supervisor finished shutting down: every child is gone. Front ends exit on it."""

    exit_code: int = 0
    at: float = field(default_factory=time.time)


Event = StateChanged | LogLine | Notice | TargetsChanged | AllHealthy | ShutdownProgress | Stopped
Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out. Subscribers must be quick and must not block (the UI posts a message)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)
