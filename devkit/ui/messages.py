"""Every custom Textual message of the dashboard, in one place."""

from __future__ import annotations

from textual.message import Message


class EventsReady(Message):
    """Posted (thread-safely) by the event bridge when its buffer went from empty to non-empty.

    The app answers by draining the buffer a few milliseconds later, so a flood of log lines
    costs one message per flush, not one per line.
    """


class FilterApplied(Message):
    """The person typed a filter (substring or /regex/); empty text clears it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class FilterClosed(Message):
    """The filter input was dismissed (Escape or Enter): focus goes back to the table."""
