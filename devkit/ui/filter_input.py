"""The `/` filter box: applies as you type, Enter or Esc closes it (Esc also clears it)."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Input

from devkit.ui.messages import FilterApplied, FilterClosed


class FilterInput(Input):
    BINDINGS = [Binding("escape", "cancel", "close filter", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(placeholder="filter: text or /regex/  (Enter keeps, Esc clears)", **kwargs)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(FilterApplied(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(FilterClosed())

    def action_cancel(self) -> None:
        self.value = ""
        self.post_message(FilterApplied(""))
        self.post_message(FilterClosed())
