"""The components table: one row per component with a coloured state.

Narrow terminals (< WIDE columns) get a compact column set: the backend and the health detail
fold into the state cell. Only cells whose text changed are updated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from devkit.core.events import ComponentStatus, State
from devkit.ui import text as words
from devkit.ui.format import (
    PROBLEM_STYLE,
    RUNNING,
    STATE_STYLES,
    Palette,
    shorten,
    uptime,
    uptime_changes_in,
    where,
)

WIDE = 110
UPTIME_BATCH = 1.0  # seconds an uptime cell may lag its change (the old once-a-second tick's)
WIDE_COLUMNS = (
    ("name", "component"),
    ("backend", "backend"),
    ("state", "state"),
    ("detail", "health"),
    ("uptime", "uptime"),
    ("restarts", "↻"),
    ("where", "ports / URL"),
)
COMPACT_COLUMNS = (
    ("name", "component"),
    ("state", "state"),
    ("uptime", "uptime"),
    ("restarts", "↻"),
    ("where", "ports / URL"),
)


class ComponentsTable(DataTable):
    """Rows keyed by component name."""

    def __init__(
        self,
        palette: Palette,
        statuses: list[ComponentStatus],
        clock: Callable[[], float],
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_cursor=True, **kwargs)
        self.palette = palette
        self.statuses: dict[str, ComponentStatus] = {s.name: s for s in statuses}
        self.wide = False
        self.clock = clock
        self._cells: dict[tuple[str, str], str] = {}

    @property
    def selected(self) -> str | None:
        if not self.statuses or self.row_count == 0:
            return None
        names = list(self.statuses)
        return names[min(self.cursor_row, len(names) - 1)]

    def set_layout(self, wide: bool) -> None:
        if wide == self.wide and self.columns:
            return
        row = self.cursor_row
        self.wide = wide
        self.clear(columns=True)
        self._cells.clear()
        for key, label in WIDE_COLUMNS if wide else COMPACT_COLUMNS:
            self.add_column(label, key=key)
        for status in self.statuses.values():
            self.add_row(*self._texts(status).values(), key=status.name)
            self._remember(status.name)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))

    def update_status(self, status: ComponentStatus) -> None:
        known = status.name in self.statuses
        self.statuses[status.name] = status
        if not self.columns:
            return
        if not known:
            self.add_row(*self._texts(status).values(), key=status.name)
            self._remember(status.name)
            return
        self._refresh_row(status.name)

    def tick(self) -> None:
        """Refresh the uptime cells (the app calls it when `next_uptime_change` says)."""
        now = self.clock()
        for name, status in self.statuses.items():
            self._set_cell(name, "uptime", Text(uptime(status, now)))

    def next_uptime_change(self) -> float | None:
        """Seconds until the uptime cells should be refreshed; None if none is running.

        Changes due within UPTIME_BATCH of the first one are shown together, at the last of
        them: one redraw per second while several components count seconds (their seconds
        start at different instants), and no cell is ever more than UPTIME_BATCH late.
        """
        now = self.clock()
        waits = [w for s in self.statuses.values() if (w := uptime_changes_in(s, now)) is not None]
        if not waits:
            return None
        first = min(waits)
        return max(w for w in waits if w < first + UPTIME_BATCH)

    def _refresh_row(self, name: str) -> None:
        for key, value in self._texts(self.statuses[name]).items():
            self._set_cell(name, key, value)

    def _set_cell(self, name: str, key: str, value: Text) -> None:
        if not self.columns or self._cells.get((name, key)) == value.plain:
            return
        self._cells[(name, key)] = value.plain
        # an uptime ("59s", "1h05m") never outgrows its header ("uptime"): skipping the width
        # pass saves a relayout of the whole table
        fits = key == "uptime" and len(value.plain) <= len("uptime")
        self.update_cell(name, key, value, update_width=not fits)

    def _remember(self, name: str) -> None:
        for key, value in self._texts(self.statuses[name]).items():
            self._cells[(name, key)] = value.plain

    def _texts(self, status: ComponentStatus) -> dict[str, Text]:
        style = STATE_STYLES.get(status.state, "")
        name = Text(status.name, style=self.palette.colour(status.name))
        state = Text(str(status.state), style=style)
        detail = words.detail(status)
        loud = status.state in (State.CRASHED, State.UNHEALTHY, State.WAITING)
        if status.problem and status.state in RUNNING:  # serving, but what it serves is broken
            detail, loud, style = status.problem, True, PROBLEM_STYLE
        texts: dict[str, Text] = {"name": name}
        if self.wide:
            texts["backend"] = Text(status.backend)
            texts["state"] = state
            texts["detail"] = Text(
                shorten(detail, 28), style=PROBLEM_STYLE if status.problem else ""
            )
        else:
            if detail:
                state.append(f" {shorten(detail, 18)}", style=style if loud else "dim")
            texts["state"] = state
        texts["uptime"] = Text(uptime(status, self.clock()))
        texts["restarts"] = Text(words.restarts(status))
        texts["where"] = Text(shorten(where(status), 40 if self.wide else 24))
        return texts
