"""Shown while a component is crashed: its last lines of output (e.g. the traceback), labelled
as an excerpt of what it printed before it exited (not new output)."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from devkit.core.events import ComponentStatus
from devkit.ui import text as words

MAX_LINES = 8


class ErrorPanel(Static):
    def show_status(self, status: ComponentStatus | None) -> None:
        if status is None:
            self.display = False
            return
        self.border_title = Content(words.crash_title(status))
        body = Text(words.excerpt_label(status) + "\n", style="dim italic", no_wrap=True)
        body.append("\n".join(words.excerpt(status, MAX_LINES)), style="")
        body.overflow = "ellipsis"
        self.update(body)
        self.display = True
