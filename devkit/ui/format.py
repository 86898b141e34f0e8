"""Pure helpers shared by the dashboard widgets: colours, line prefixes, uptime, filters.

No Textual imports here, so these are cheap to unit test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from devkit.core.events import ComponentStatus, LogLine, State
from devkit.services.metro_output import strip_ansi

DEVKIT = "devkit"
# Same order as the headless renderer's ANSI colours (plain.COLOURS).
COMPONENT_COLOURS = (
    "cyan",
    "yellow",
    "green",
    "magenta",
    "blue",
    "bright_cyan",
    "bright_yellow",
    "bright_green",
    "bright_magenta",
    "bright_blue",
)
STATE_STYLES = {
    State.HEALTHY: "bold green",
    State.CRASHED: "bold red",
    State.UNHEALTHY: "bold yellow",
    State.RESTARTING: "yellow",
    State.STARTING: "cyan",
    State.WAITING: "bold yellow",
    State.STOPPING: "yellow",
    State.STOPPED: "dim",
    State.DISABLED: "dim italic",
}
RUNNING = (State.STARTING, State.HEALTHY, State.UNHEALTHY)
PROBLEM_STYLE = "bold red"  # a running component whose output is broken (a bundling error)


class Palette:
    """A stable colour per component name, assigned in order of first appearance."""

    def __init__(self, names: list[str] | None = None) -> None:
        self._colours: dict[str, str] = {}
        for name in names or []:
            self.colour(name)

    def colour(self, name: str) -> str:
        if name == DEVKIT:
            return "bold"
        if name not in self._colours:
            self._colours[name] = COMPONENT_COLOURS[len(self._colours) % len(COMPONENT_COLOURS)]
        return self._colours[name]


_stamp_cache: dict[tuple[int, int], str] = {}


def stamp(at: float) -> str:
    """HH:MM:SS local time; cached per second (a flood has thousands of lines per second)."""
    key = (int(at), time.timezone)
    text = _stamp_cache.get(key)
    if text is None:
        if len(_stamp_cache) > 4096:
            _stamp_cache.clear()
        text = _stamp_cache[key] = time.strftime("%H:%M:%S", time.localtime(key[0]))
    return text


def format_line(line: LogLine, width: int) -> str:
    """`HH:MM:SS name | text`, the headless renderer's layout. Colour codes of the child's
    output are dropped: the log pane is plain text and would count them as width."""
    return f"{stamp(line.at)} {line.component.ljust(width)} | {strip_ansi(line.text)}"


def _uptime_step(seconds: int) -> int:
    """How often the uptime text changes at this age: every redraw of the table costs ~5-9 ms
    of CPU, so a still cell is what keeps the idle dashboard under 1 % of a core."""
    if seconds < 10:
        return 1  # a (re)start just happened: count it
    if seconds < 60:
        return 10  # "10s" .. "50s"
    if seconds < 86_400:
        return 60  # "3m", "1h02m"
    return 3_600  # "1d02h"


def uptime(status: ComponentStatus, now: float) -> str:
    """Floored to its step (see `_uptime_step`): "0s".."9s", "10s".."50s", "3m", "1h02m"."""
    if status.started_at is None or status.state not in RUNNING:
        return "-"
    seconds = max(0, int(now - status.started_at))
    if seconds < 60:
        return f"{seconds - seconds % _uptime_step(seconds)}s"
    minutes = seconds // 60  # minutes only from here: the cell (and the table) stays still
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def uptime_changes_in(status: ComponentStatus, now: float) -> float | None:
    """Seconds until `uptime(status, ...)` shows another text; None while it shows "-"."""
    if status.started_at is None or status.state not in RUNNING:
        return None
    elapsed = now - status.started_at
    seconds = max(0, int(elapsed))
    step = _uptime_step(seconds)
    return seconds - seconds % step + step - elapsed


def where(status: ComponentStatus) -> str:
    """The URL if the component has one, else its ports; nothing for a disabled one (its URL
    would lead nowhere)."""
    if status.state == State.DISABLED:
        return "-"
    if status.url:
        return status.url
    return " ".join(f":{port}" for port in status.ports)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


@dataclass(frozen=True)
class LineFilter:
    """A substring (case-insensitive) or a `/regex/` (case-insensitive). Empty matches all."""

    text: str = ""
    error: str = ""
    _match: Callable[[str], bool] | None = None

    @classmethod
    def parse(cls, text: str) -> LineFilter:
        text = text.strip()
        if not text:
            return cls()
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            try:
                pattern = re.compile(text[1:-1], re.IGNORECASE)
            except re.error as exc:
                return cls(text, f"invalid regex: {exc}", lambda s: False)
            return cls(text, "", lambda s: pattern.search(s) is not None)
        needle = text.lower()
        return cls(text, "", lambda s: needle in s.lower())

    @property
    def active(self) -> bool:
        return self._match is not None

    def __call__(self, text: str) -> bool:
        return True if self._match is None else self._match(text)
