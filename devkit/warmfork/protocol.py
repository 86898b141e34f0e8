"""The JSON-lines messages of the warm parent, in one place.

Control channel (a socketpair between devkit and the parent, one JSON object per line):
  devkit -> parent  {"cmd": "start", "drain": s}   fork a child; a child still serving stops
                                                    accepting (PAUSE) while the new one loads:
                                                    connections wait in the backlog for the new
                                                    code; it accepts again (RESUME) when
                                                    loading takes over PAUSE_LIMIT; once the
                                                    new child
                                                    serves (or fails) it finishes its requests
                                                    within s seconds
                    {"cmd": "start"}                fork a child; one still running is killed
                    {"cmd": "stop", "timeout": s}   SIGTERM the child, SIGKILL after s
                    {"cmd": "quit", "timeout": s}   stop the child, then the parent exits
  parent -> devkit  {"ev": "ready", "pid", "preloaded"}   listening, libraries imported
                    {"ev": "fatal", "text", "errno"}      cannot listen (e.g. EADDRINUSE)
                    {"ev": "child", "pid"}                forked
                    {"ev": "serving", "pid"}              the child accepts connections
                    {"ev": "log", "stream", "text"}       one line of a child's output
                    {"ev": "exit", "pid", "code"}         the current child ended (code < 0:
                                                          killed by signal -code)
                    {"ev": "drained", "pid", "code"}      a replaced child ended
Signals to a child's process group: SIGTERM drain (a second one: exit now), PAUSE stop
accepting, RESUME accept again.
A child's output is relayed as "log" events on the same channel, so a crash's traceback always
arrives before its "exit". End of the channel (devkit gone) = stop everything and exit.

Meta pipe (child -> parent, JSON lines):
  {"serving": true}    the server is built; the child accepts from now on
  {"routes": [...]}    its URL rules (routecache.py)
  {"modules": [...]}   third-party modules the child imported (learned preloads)
  {"crash": {...}}     why the child could not serve: exception, message, file, line,
                       traceback (see child.crash_report); the parent's crash page shows it
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

PAUSE, RESUME = signal.SIGUSR1, signal.SIGUSR2
PAUSE_LIMIT = 0.5  # s a replaced child stays paused when the new one is slow to load

START, STOP, QUIT = "start", "stop", "quit"
READY, FATAL, CHILD, SERVING, LOG, EXIT, DRAINED = (
    "ready",
    "fatal",
    "child",
    "serving",
    "log",
    "exit",
    "drained",
)


def encode(**message: Any) -> bytes:
    return (json.dumps(message) + "\n").encode()


def write_message(fd: int, message: dict[str, Any]) -> None:
    """One message on a pipe whose reader may be gone already (then: nothing)."""
    try:
        os.write(fd, encode(**message))
    except OSError:
        pass


def close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class LineReader:
    """Split a byte stream into JSON objects, one per line; bad lines are skipped."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes, final: bool = False) -> list[dict[str, Any]]:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        if final and self.buffer:
            lines.append(self.buffer)
            self.buffer = b""
        messages = []
        for line in lines:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                messages.append(value)
        return messages
