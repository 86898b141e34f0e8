"""Shown while a component is crashed: its last lines of output (e.g. the traceback); or while a
running component has a problem (Metro's bundling error): the message and its code frame."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from devkit.core.events import ComponentStatus, State
from devkit.services.metro_output import strip_ansi

MAX_LINES = 8
PROBLEM_LINES = 8  # the message and the code frame around the error


class ErrorPanel(Static):
    def show_status(self, status: ComponentStatus | None) -> None:
        if status is None:
            self.display = False
            return
        if status.state == State.CRASHED:
            title = f"{status.name} crashed" + (f": {status.detail}" if status.detail else "")
            lines = status.last_error[-MAX_LINES:] or ("(no output)",)
        else:
            title = f"{status.name}: {status.problem}"
            lines = status.problem_lines[:PROBLEM_LINES] or (status.problem,)
        self.border_title = Content(title)
        text = "\n".join(strip_ansi(line) for line in lines)
        self.update(Text(text, no_wrap=True, overflow="ellipsis"))
        self.display = True
