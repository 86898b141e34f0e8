"""Shown while a component is crashed: its last lines of output (e.g. the traceback)."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from devkit.core.events import ComponentStatus

MAX_LINES = 8


class ErrorPanel(Static):
    def show_status(self, status: ComponentStatus | None) -> None:
        if status is None:
            self.display = False
            return
        self.border_title = Content(
            f"{status.name} crashed" + (f": {status.detail}" if status.detail else "")
        )
        lines = status.last_error[-MAX_LINES:] or ("(no output)",)
        self.update(Text("\n".join(lines), no_wrap=True, overflow="ellipsis"))
        self.display = True
