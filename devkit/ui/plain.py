"""The headless renderer: honcho-style `HH:MM:SS name | line`, coloured per component, state
transitions, and the URL of every device kind once all components are healthy.

It only subscribes to supervisor events; it owns no process. Output is written as whole lines
with one write per event (no interleaving between components).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from devkit.core.events import (
    AllHealthy,
    ComponentStatus,
    Event,
    LogLine,
    Notice,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    TargetsChanged,
)

COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
STATE_COLOURS = {
    State.HEALTHY: "32",
    State.CRASHED: "31",
    State.UNHEALTHY: "33",
    State.RESTARTING: "33",
    State.STARTING: "36",
}
DEVKIT = "devkit"


def use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


class PlainPrinter:
    """Subscribe with `supervisor.subscribe(printer)`."""

    def __init__(
        self,
        stream: TextIO | None = None,
        colour: bool | None = None,
        names: list[str] | None = None,
        api_port: int = 5000,
        metro_port: int = 8081,
        metro_enabled: bool = True,
        api_enabled: bool = True,
        clock: Callable[[], float] = time.time,
        settings_env: Mapping[str, str] | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = use_colour(self.stream) if colour is None else colour
        self.width = max([len(DEVKIT), *(len(n) for n in names or [])])
        self._colours: dict[str, str] = {}
        self.api_port, self.metro_port = api_port, metro_port
        self.metro_enabled = metro_enabled
        self.api_enabled = api_enabled
        self.lan_host = "127.0.0.1"
        self.clock = clock
        self.summaries = 0
        self.settings_env = dict(settings_env or {})  # .env: an explicit EXPO_PUBLIC_API_URL
        self.problems: dict[str, str] = {}  # component -> problem last printed

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self.line(event.component, event.text, event.stream == "stderr")
        elif isinstance(event, StateChanged):
            self._state(event)
        elif isinstance(event, Notice):
            prefix = {"warning": "warning: ", "error": "error: "}.get(event.level, "")
            self.line(event.component or DEVKIT, prefix + event.text)
        elif isinstance(event, TargetsChanged):
            if self.lan_host != event.lan_host and self.summaries:
                self.line(DEVKIT, f"LAN address is now {event.lan_host}")
            self.lan_host = event.lan_host
        elif isinstance(event, AllHealthy):
            self.summary()
        elif isinstance(event, ShutdownProgress):
            pass  # StateChanged already says stopping/stopped
        elif isinstance(event, Stopped):
            self.line(
                DEVKIT, "stopped" + (f" (exit code {event.exit_code})" if event.exit_code else "")
            )

    def _state(self, event: StateChanged) -> None:
        status = event.status
        self._problem(status)
        if event.old == event.new and status.state != State.DISABLED:
            return
        text = f"{status.name} {event.new}"
        if status.detail and status.detail not in (str(status.state), "stopping"):
            text += f": {status.detail}"
        if status.state == State.HEALTHY and status.url:
            text += f"  {status.url}"
        self.line(DEVKIT, self._paint(text, STATE_COLOURS.get(status.state)))
        if status.state == State.CRASHED and status.last_error:
            for error_line in status.last_error[-10:]:
                self.line(status.name, error_line, True)

    def _problem(self, status: ComponentStatus) -> None:
        """One line when a component's problem appears, changes or is gone (the explanation
        itself is in the component's own output, printed already)."""
        before = self.problems.get(status.name, "")
        if status.problem == before:
            return
        self.problems[status.name] = status.problem
        if status.problem:
            self.line(DEVKIT, self._paint(f"{status.name} problem: {status.problem}", "31"))
        elif status.state not in (State.STOPPED, State.STOPPING, State.CRASHED):
            self.line(DEVKIT, self._paint(f"{status.name} problem fixed", "32"))

    def summary(self) -> None:
        from devkit.reach.targets import app_config, device_targets

        self.summaries += 1
        lines = ["all components healthy"]
        if self.metro_enabled:
            lines[0] += ". The app (Metro builds one bundle for every device):"
            app = app_config(self.lan_host, self.api_port, self.metro_port, self.settings_env)
            lines += [f"  {text}" for text in app.lines(api=self.api_enabled)]
        if self.api_enabled:
            title = "The API from a device's browser or other tools:"
            if self.metro_enabled:
                lines.append(title)
            else:
                lines[0] += f". {title}"
            for target in device_targets(self.lan_host, self.api_port, self.metro_port):
                lines.append(f"  {target.label:<34}{target.api_url}")
        for text in lines:
            self.line(DEVKIT, text)

    def _paint(self, text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text

    def _colour_of(self, name: str) -> str:
        if name not in self._colours:
            self._colours[name] = COLOURS[len(self._colours) % len(COLOURS)]
        return self._colours[name]

    def line(self, component: str, text: str, error: bool = False) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        name = component.ljust(self.width)
        prefix = f"{stamp} {name} | "
        if self.colour:
            prefix = self._paint(prefix, "1" if component == DEVKIT else self._colour_of(component))
        try:
            self.stream.write(prefix + text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass
