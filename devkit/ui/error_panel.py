"""Shown while a component is crashed: its last lines of output (e.g. the traceback), labelled
as an excerpt of what it printed before it exited (not new output); or while a running
component has a problem (Metro's bundling error): the message and its code frame."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from devkit.core.events import ComponentStatus, State
from devkit.services.metro_output import strip_ansi
from devkit.ui import text as words

MAX_LINES = 8
PROBLEM_LINES = 8  # the message and the code frame around the error


class ErrorPanel(Static):
    def show_status(self, status: ComponentStatus | None) -> None:
        if status is None:
            self.display = False
            return
        if status.state == State.CRASHED:
            self.border_title = Content(words.crash_title(status))
            body = Text(words.excerpt_label(status) + "\n", style="dim italic", no_wrap=True)
            excerpt = (strip_ansi(line) for line in words.excerpt(status, MAX_LINES))
            body.append("\n".join(excerpt), style="")
        else:
            self.border_title = Content(f"{status.name}: {status.problem}")
            lines = status.problem_lines[:PROBLEM_LINES] or (status.problem,)
            body = Text("\n".join(strip_ansi(line) for line in lines), no_wrap=True)
        body.overflow = "ellipsis"
        self.update(body)
        self.display = True
