"""The Controller: what a front end may ask of a running devkit.

Two implementations: `Supervisor` (in-process, `devkit up`) and
`devkit.core.control.client.RemoteController` (over the control socket, `devkit attach`). The
dashboard, the headless printer and the CLI clients only use this interface, so the dashboard
runs the same code in-process and attached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from devkit.core.events import ComponentStatus, LogLine, Subscriber


class Controller(Protocol):
    """All methods are safe to call from any thread; `request_*` return at once (the effect
    arrives later as events)."""

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]: ...

    def snapshot(self) -> list[ComponentStatus]: ...

    def logs(self, component: str | None = None, limit: int | None = None) -> list[LogLine]: ...

    def request_start(self, component: str) -> None: ...

    def request_stop(self, component: str) -> None: ...

    def request_restart(self, component: str) -> None: ...

    def request_restart_all(self) -> None: ...

    def request_shutdown(self, force: bool = False) -> None: ...
