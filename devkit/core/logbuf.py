"""Bounded per-component log buffers, a merged view, and secret masking.

Every line a component prints goes through `LogStore.append`: secrets are masked first (values
of JWT_SECRET, POSTGRES_PASSWORD and other *SECRET*/*PASSWORD*/*TOKEN* variables, and the
password part of any URL), then kept in the component's ring buffer and the merged one.
Memory stays bounded however chatty a component is. Safe to call from any thread.
"""

from __future__ import annotations

import threading
from collections import deque

from devkit.core.events import LogLine
from devkit.settings.masking import Masker, mask_url

__all__ = ["LogStore", "Masker", "mask_url"]


class LogStore:
    """One ring buffer per component (`lines_per_component` lines) plus a merged ring buffer."""

    def __init__(
        self,
        lines_per_component: int = 10_000,
        masker: Masker | None = None,
        merged_lines: int | None = None,
    ) -> None:
        if lines_per_component < 1:
            raise ValueError("lines_per_component must be at least 1")
        self.lines_per_component = lines_per_component
        self.masker = masker or Masker()
        self._merged: deque[LogLine] = deque(maxlen=merged_lines or lines_per_component * 4)
        self._per: dict[str, deque[LogLine]] = {}
        self._lock = threading.Lock()
        self.total = 0  # lines ever appended (the UI uses it to see that something is new)

    def append(self, component: str, text: str, stream: str = "stdout") -> LogLine:
        line = LogLine(component=component, text=self.masker(text), stream=stream)
        with self._lock:
            buffer = self._per.get(component)
            if buffer is None:
                buffer = self._per[component] = deque(maxlen=self.lines_per_component)
            buffer.append(line)
            self._merged.append(line)
            self.total += 1
        return line

    def lines(self, component: str | None = None, limit: int | None = None) -> list[LogLine]:
        """The newest `limit` lines (all when None) of one component, or merged when None."""
        with self._lock:
            source = self._merged if component is None else self._per.get(component, ())
            items = list(source)
        return items[-limit:] if limit else items
