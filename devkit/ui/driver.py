"""The dashboard's terminal driver on Linux and macOS: input without a 10-per-second poll.

Textual's LinuxDriver reads keys in a thread that wakes every 100 ms (select with a 0.1 s
timeout) to look at its exit flag and at the escape-key timeout: ~0.13 % of a core while
nothing happens. This driver's input thread sleeps in select until the terminal has input or
the exit flag is set (the flag also writes to a pipe the thread selects on), with a timeout
only while the parser waits to tell a lone Escape from the start of a sequence.

Hand-written because Textual has no setting for it: `run_input_thread` is Textual's (8.2.8,
pinned in pyproject.toml) with those two changes. Should a later Textual drop the parser's
`_timeout_time`, the thread falls back to Textual's 0.1 s poll.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL = 0.1  # Textual's own input poll: the fallback, and the last read at exit
_UNKNOWN = object()


class WakingEvent(threading.Event):
    """An Event whose `set()` also makes a pipe readable, so a thread in select sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def set(self) -> None:
        super().set()
        if self.write_fd < 0:
            return
        try:
            os.write(self.write_fd, b"\0")
        except OSError:  # full: already readable
            pass

    def clear(self) -> None:
        super().clear()
        self.drain()

    def drain(self) -> None:
        if self.read_fd < 0:
            return
        try:
            while os.read(self.read_fd, 512):
                pass
        except OSError:  # empty (BlockingIOError)
            pass

    def close(self) -> None:
        """Once the input thread is gone (a closed fd number may be reused: never write it)."""
        fds, self.read_fd, self.write_fd = (self.read_fd, self.write_fd), -1, -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)


class QuietLinuxDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exit_event: WakingEvent = WakingEvent()

    def close(self) -> None:
        super().close()
        self.exit_event.close()

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop, see the module docstring)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        wake = self.exit_event.read_fd
        selector.register(wake, selectors.EVENT_READ)

        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick

        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def timeout() -> float | None:
            deadline = getattr(parser, "_timeout_time", _UNKNOWN)
            if deadline is None:
                return None  # nothing pending: sleep until input or exit
            if not isinstance(deadline, float):
                return POLL
            return max(0.0, deadline - get_time())

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]], final: bool = False
        ) -> None:
            if any(key.fd == wake for key, _ in selector_events):
                self.exit_event.drain()
            terminal = [(key, mask) for key, mask in selector_events if key.fd != wake]
            for last, (_selector_key, mask) in loop_last(terminal):
                if mask & EVENT_READ:
                    unicode_data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        # This can occur if the stdin is piped
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(timeout()))
            selector.unregister(self.fileno)
            selector.unregister(wake)
            process_selector_events(selector.select(POLL), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
