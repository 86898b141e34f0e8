"""The log pane: a `Log` fed in batches, plus the model behind it (all lines, mode, filter).

All lines received are kept in a bounded deque so the view can be rebuilt when the mode
(all / one component) or the filter changes; the widget itself also has `max_lines`.
Follow mode is `Log.auto_scroll`: new lines scroll to the end only while the view is at the
end, so scrolling up pauses following until the person scrolls back down (or presses `f`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

from devkit.core.events import LogLine
from devkit.services.metro_output import strip_ansi
from devkit.ui.format import LineFilter, Palette, format_line

PREFIX_START = 9  # after "HH:MM:SS "


class PrefixHighlighter(Highlighter):
    """Colours the `name |` prefix of a formatted line (only lines on screen are highlighted)."""

    def __init__(self, palette: Palette, width: int) -> None:
        self.palette = palette
        self.width = width

    def highlight(self, text: Text) -> None:
        end = PREFIX_START + self.width
        name = text.plain[PREFIX_START:end].rstrip()
        if not name:
            return
        text.stylize("dim", 0, PREFIX_START - 1)
        text.stylize(self.palette.colour(name), PREFIX_START, end + 2)


class LogView(Log):
    def __init__(
        self, palette: Palette, names: list[str], max_lines: int = 10_000, **kwargs: Any
    ) -> None:
        super().__init__(highlight=True, max_lines=max_lines, auto_scroll=True, **kwargs)
        self.width_names = max([len("devkit"), *(len(n) for n in names)])
        self.highlighter = PrefixHighlighter(palette, self.width_names)
        self.all_lines: deque[LogLine] = deque(maxlen=max_lines)
        self.component: str | None = None  # None: merged view of every component
        self.line_filter = LineFilter()
        self.written = 0  # lines handed to the widget (tests and benchmarks read it)

    # --- model --------------------------------------------------------------------------------
    def shows(self, line: LogLine) -> bool:
        if self.component is not None and line.component != self.component:
            return False
        return self.line_filter(strip_ansi(line.text))

    def add(self, lines: Iterable[LogLine]) -> None:
        """Append a batch: one `write_lines` call for the lines that pass mode and filter."""
        lines = list(lines)
        self.all_lines.extend(lines)
        shown = [format_line(line, self.width_names) for line in lines if self.shows(line)]
        if shown:
            self.written += len(shown)
            self.write_lines(shown)

    def rebuild(self) -> None:
        self.clear()
        shown = [format_line(line, self.width_names) for line in self.all_lines if self.shows(line)]
        if shown:
            self.write_lines(shown, scroll_end=self.auto_scroll)

    def show_component(self, component: str | None) -> None:
        if component != self.component:
            self.component = component
            self.rebuild()

    def set_filter(self, line_filter: LineFilter) -> None:
        self.line_filter = line_filter
        self.rebuild()

    def clear_all(self) -> None:
        self.all_lines.clear()
        self.clear()

    @property
    def paused(self) -> bool:
        """Following, but scrolled up by the person."""
        return self.auto_scroll and not self.is_vertical_scroll_end and self.line_count > 0
