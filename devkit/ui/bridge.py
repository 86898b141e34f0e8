"""The only code that runs on the supervisor's thread: buffer events, wake the app once.

The subscriber callback must be quick and must never touch widgets. It appends to bounded
buffers under a lock and posts one `EventsReady` message when the buffer was empty; the app
drains everything in one go (`drain`). Log lines beyond `max_lines` are dropped oldest-first
and counted, so a flood can never grow memory.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from devkit.core.events import Event, LogLine


@dataclass
class Batch:
    lines: list[LogLine] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # everything that is not a LogLine
    dropped: int = 0


class EventBridge:
    def __init__(self, wake: Callable[[], object], max_lines: int = 10_000) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._events: list[Event] = []
        self._dropped = 0
        self._pending = False
        self.received = 0  # log lines seen (for benchmarks and tests)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, LogLine):
                self.received += 1
                if len(self._lines) == self._lines.maxlen:
                    self._dropped += 1
                self._lines.append(event)
            else:
                self._events.append(event)
            if self._pending:
                return
            self._pending = True
        self._wake()

    def drain(self) -> Batch:
        with self._lock:
            batch = Batch(list(self._lines), self._events, self._dropped)
            self._lines.clear()
            self._events = []
            self._dropped = 0
            self._pending = False
        return batch
