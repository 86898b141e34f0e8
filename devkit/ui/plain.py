"""The headless renderer: honcho-style `HH:MM:SS name | line`, coloured per component, state
transitions, and the URL of every device kind once all components are healthy (once per `up`,
again when the LAN address changes). The words come from devkit.ui.text.

A crashed run's last lines were already printed when they happened: they are shown again only
as a labelled, indented excerpt without timestamps of their own, never as fresh output.

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
from devkit.ui import text as words

COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
STATE_COLOURS = {
    State.HEALTHY: "32",
    State.CRASHED: "31",
    State.UNHEALTHY: "33",
    State.RESTARTING: "33",
    State.STARTING: "36",
    State.WAITING: "33",
}
DEVKIT = "devkit"
EXCERPT_LINES = 10


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
        self.summaries = 0  # devices blocks printed
        self.healthy_now = False
        self._tracker = words.SummaryTracker()
        self.settings_env = dict(settings_env or {})  # .env: an explicit EXPO_PUBLIC_API_URL
        self.problems: dict[str, str] = {}  # component -> problem last printed

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self.line(event.component, event.text, event.stream == "stderr")
        elif isinstance(event, StateChanged):
            self._state(event)
        elif isinstance(event, Notice):
            self.line(event.component or DEVKIT, words.notice(event))
        elif isinstance(event, TargetsChanged):
            changed = self.lan_host != event.lan_host
            self.lan_host = event.lan_host
            if changed and self.summaries:
                self.line(DEVKIT, words.lan_changed(event.lan_host))
                if self.healthy_now:
                    self.summary()
        elif isinstance(event, AllHealthy):
            self.healthy_now = True
            self.summary()
        elif isinstance(event, ShutdownProgress):
            pass  # StateChanged already says stopping/stopped
        elif isinstance(event, Stopped):
            self.line(DEVKIT, words.stopped(event.exit_code))

    def _state(self, event: StateChanged) -> None:
        status = event.status
        self._problem(status)
        if status.state != State.HEALTHY:
            self.healthy_now = False
        text = words.state_change(event)
        if text is None:
            return
        self.line(DEVKIT, self._paint(text, STATE_COLOURS.get(status.state)))
        if status.state == State.CRASHED and status.last_error:
            self.excerpt(status)

    def excerpt(self, status: ComponentStatus) -> None:
        """The label with a time stamp, then the old lines indented under it, unstamped."""
        self.line(DEVKIT, words.excerpt_label(status))
        indent = " " * (len("HH:MM:SS ") + self.width) + " ┆ "
        body = "".join(f"{indent}{text}\n" for text in words.excerpt(status, EXCERPT_LINES))
        self._write(self._paint(body, "2") if self.colour else body)

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
        lines = self._tracker.lines(
            self.lan_host,
            self.api_port,
            self.metro_port,
            self.api_enabled,
            self.metro_enabled,
            self.settings_env,
        )
        if len(lines) > 1 or lines[0] != words.healthy_again():
            self.summaries += 1
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
        self._write(prefix + text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass
