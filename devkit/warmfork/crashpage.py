"""The crashed API's answer: while no child can serve, the warm parent itself answers every
request at once with 503 and a JSON body naming the exception, file and line (and the last
traceback lines when APP_ENV is development), instead of letting it wait in the backlog
forever. The backend's equivalent of Expo's red error screen.

Runs inside the parent's selector loop (no threads: the parent forks). Each connection: read
the request head (bounded), answer, shut down our side, read what the client still sends for a
moment (so unread request data does not turn our close into a reset), close.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import time
from dataclasses import dataclass
from typing import Any

HEAD_LIMIT = 64 * 1024
READ_TIMEOUT = 2.0  # s for a client to send its request head
LINGER = 0.5  # s to read what a client sends after our answer before closing


def body(crash: dict[str, Any], development: bool) -> bytes:
    where = f"{crash.get('file') or '?'}, line {crash.get('line') or '?'}"
    error: dict[str, Any] = {
        "code": "api_crashed",
        "message": (
            f"the API cannot start: {crash.get('exception', 'Error')}: "
            f"{crash.get('message', '')} ({where}); fix the file and save: "
            "requests are served again the moment the new code loads"
        ),
        "exception": crash.get("exception", ""),
        "file": crash.get("file", ""),
        "line": crash.get("line", 0),
    }
    if development:
        error["traceback"] = list(crash.get("traceback", []))
    return json.dumps({"error": error}).encode()


def response(payload: bytes) -> bytes:
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + payload


@dataclass
class _Conn:
    sock: socket.socket
    deadline: float
    head: bytes = b""
    out: bytes = b""
    answered: bool = False


class CrashPage:
    """Accepts on the shared listening socket while `crash` is set and no child serves."""

    def __init__(self, sel: selectors.BaseSelector, listener: socket.socket) -> None:
        self.sel = sel
        self.listener = listener
        self.crash: dict[str, Any] | None = None
        self.accepting = False
        self.conns: dict[int, _Conn] = {}
        self.development = (os.environ.get("APP_ENV") or "development").lower() == "development"

    def show(self, crash: dict[str, Any]) -> None:
        self.crash = crash
        if not self.accepting:
            self.sel.register(self.listener, selectors.EVENT_READ, self)
            self.accepting = True

    def hide(self) -> None:
        """A new child is on its way: connections wait in the backlog for it (those already
        accepted still get the last error)."""
        if self.accepting:
            self.sel.unregister(self.listener)
            self.accepting = False

    def next_deadline(self) -> float | None:
        return min((c.deadline for c in self.conns.values()), default=None)

    def on_ready(self, key: selectors.SelectorKey) -> None:
        if key.fileobj is self.listener:
            self._accept()
        else:
            self._step(self.conns[key.fd])

    def expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self.conns.values() if c.deadline <= now]:
            self._close(conn)

    def close(self) -> None:
        self.hide()
        for conn in list(self.conns.values()):
            self._close(conn)

    def _accept(self) -> None:
        for _ in range(64):  # a burst: take what is there, then back to the loop
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            conn = _Conn(sock, time.monotonic() + READ_TIMEOUT)
            self.conns[sock.fileno()] = conn
            self.sel.register(sock, selectors.EVENT_READ, self)

    def _step(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if conn.answered:
            if not data:  # the client closed: done
                self._close(conn)
            return  # read and dropped
        if not data:
            self._close(conn)
            return
        conn.head += data
        if b"\r\n\r\n" in conn.head or len(conn.head) > HEAD_LIMIT:
            self._answer(conn)

    def _answer(self, conn: _Conn) -> None:
        payload = body(self.crash or {"exception": "Error", "message": "crashed"}, self.development)
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(1.0)  # ~1 KB into an empty socket buffer: immediate
            conn.sock.sendall(response(payload))
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            self._close(conn)
            return
        conn.answered = True
        conn.deadline = time.monotonic() + LINGER

    def _close(self, conn: _Conn) -> None:
        self.conns.pop(conn.sock.fileno(), None)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
