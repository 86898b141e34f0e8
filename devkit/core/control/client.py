"""Clients of the control socket: `ControlClient` (one request per call, and the event stream)
and `RemoteController` (the Controller interface over the socket, for `devkit attach`).

Standard library only (http.client over AF_UNIX): `devkit logs` and `devkit restart` start in a
few tens of milliseconds.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from devkit.core.control import protocol
from devkit.core.control.sockpath import connect
from devkit.core.events import (
    ComponentStatus,
    Event,
    EventBus,
    LogLine,
    Notice,
    StateChanged,
    Stopped,
    Subscriber,
    TargetsChanged,
)
from devkit.errors import DevkitError


class NotRunning(DevkitError):
    """No devkit answers on the control socket of this project."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float | None) -> None:
        super().__init__(protocol.HOST, timeout=timeout)
        self.socket_path = path
        self.raw: socket.socket | None = None  # kept: http.client drops .sock on Connection: close

    def connect(self) -> None:
        self.sock = self.raw = connect(self.socket_path, self.timeout)


@dataclass
class Message:
    """One server-sent event: its kind and JSON body."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> Event | None:
        return protocol.event_from_json(self.kind, self.data)


class ControlClient:
    def __init__(self, state_dir: Path, timeout: float = 10.0) -> None:
        self.state_dir = state_dir
        self.path = protocol.socket_path(state_dir)
        self.timeout = timeout

    def _open(
        self, method: str, path: str, timeout: float | None, conn: _UnixConnection | None = None
    ) -> http.client.HTTPResponse:
        conn = conn or _UnixConnection(self.path, timeout)
        try:
            conn.request(method, path, headers={"Accept": "application/json"})
            return conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError):
            conn.close()
            raise NotRunning(
                f"devkit is not running for {self.state_dir.parent}",
                "start it: devkit up (or devkit up --detach)",
            ) from None
        except PermissionError:
            conn.close()
            raise DevkitError(
                f"no permission to use {self.path}",
                "run this command as the user who started devkit",
            ) from None
        except OSError as exc:
            conn.close()
            raise DevkitError(
                f"the control socket {self.path} does not answer: {exc}",
                "devkit status; if devkit hangs: devkit down",
            ) from None

    def request(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        query = _query(params)
        response = self._open(method, path + query, self.timeout)
        try:
            with response:
                body = response.read()
        except OSError as exc:  # devkit went away mid-answer
            raise DevkitError(
                f"devkit closed the control connection: {exc}", "devkit status"
            ) from None
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {"error": body.decode("utf-8", "replace")[:200]}
        if response.status >= 400:
            raise DevkitError(
                data.get("error", f"control API answered {response.status}"),
                "devkit status lists the components" if response.status == 404 else "",
            )
        return data

    def connection(self) -> _UnixConnection:
        return _UnixConnection(self.path, None)

    # --- the endpoints ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return self.request("GET", "/status")

    def logs(
        self, components: list[str] | None = None, n: int | None = None, since: float | None = None
    ) -> list[LogLine]:
        data = self.request("GET", "/logs", component=components or [], n=n, since=since)
        return [protocol.line_from_json(item) for item in data["lines"]]

    def command(self, component: str, action: str) -> None:
        self.request("POST", f"/components/{quote(component, safe='')}/{action}")

    def restart_all(self) -> None:
        self.request("POST", "/restart")

    def down(self, force: bool = False) -> None:
        self.request("POST", "/down", force=1 if force else None)

    def events(
        self,
        components: list[str] | None = None,
        n: int | None = None,
        since: float | None = None,
        logs: bool = True,
        conn: _UnixConnection | None = None,
    ) -> Generator[Message, None, None]:
        """The event stream: snapshot, history, `live`, then events until devkit stops.
        `conn` (from `connection()`) lets another thread end the stream: `conn.raw.shutdown`."""
        params = dict(component=components or [], n=n, since=since, logs=None if logs else 0)
        response = self._open("GET", "/events" + _query(params), None, conn)
        if response.status != 200:
            body = response.read()
            response.close()
            raise DevkitError(json.loads(body or b"{}").get("error", f"HTTP {response.status}"))
        with response:
            kind, data = "message", ""
            while True:
                raw = response.fp.readline(1 << 20)
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield Message(kind, json.loads(data))
                    kind, data = "message", ""
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()


def _query(params: dict[str, Any]) -> str:
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return "?" + urlencode(pairs) if pairs else ""


class RemoteController:
    """The Controller of a devkit running elsewhere: one event stream read on a thread keeps a
    mirror of the statuses and of the last `max_lines` log lines. Lines given to subscribers
    are the very objects `logs()` returns, so the dashboard's de-duplication works unchanged.
    When the stream ends without `stopped` (devkit killed), subscribers get a Notice and
    Stopped(1)."""

    def __init__(self, state_dir: Path, max_lines: int = 10_000) -> None:
        self.client = ControlClient(state_dir)
        self.bus = EventBus()
        self._lock = threading.Lock()
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._conn = self.client.connection()
        self._stream = self.client.events(n=max_lines, conn=self._conn)
        first = next(self._stream, None)
        if first is None or first.kind != "snapshot":
            raise NotRunning("devkit closed the control connection at once", "devkit status")
        self.info: dict[str, Any] = first.data.get("devkit", {})
        self._statuses = {
            item["name"]: protocol.status_from_json(item) for item in first.data["components"]
        }
        self._order = list(self._statuses)
        self._closed = False
        self.live = threading.Event()  # history received
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, name="devkit-remote", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        ended = False
        try:
            for message in self._stream:
                if message.kind == "live":
                    self.live.set()
                    continue
                event = message.event
                if event is None:
                    continue
                with self._lock:
                    if isinstance(event, LogLine):
                        self._lines.append(event)
                    elif isinstance(event, StateChanged):
                        if event.component not in self._statuses:
                            self._order.append(event.component)
                        self._statuses[event.component] = event.status
                    elif isinstance(event, TargetsChanged):
                        self.info["lan_host"] = event.lan_host
                self.bus.publish(event)
                if isinstance(event, Stopped):
                    ended = True
                    return
        except (OSError, ValueError, DevkitError):
            pass
        finally:
            self.live.set()
            if not ended and not self._closed:
                self.bus.publish(Notice("lost the connection to devkit", "error"))
                self.bus.publish(Stopped(1))
            self.stopped.set()

    # --- Controller ---------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(subscriber)

    def snapshot(self) -> list[ComponentStatus]:
        with self._lock:
            return [self._statuses[name] for name in self._order]

    def logs(self, component: str | None = None, limit: int | None = None) -> list[LogLine]:
        with self._lock:
            lines = [x for x in self._lines if component is None or x.component == component]
        return lines[-limit:] if limit else lines

    def _send(self, fn: Callable[[], None]) -> None:
        """Commands must not raise into the UI: failures become a Notice."""
        try:
            fn()
        except DevkitError as exc:
            self.bus.publish(Notice(exc.message, "error"))

    def request_start(self, component: str) -> None:
        self._send(lambda: self.client.command(component, "start"))

    def request_stop(self, component: str) -> None:
        self._send(lambda: self.client.command(component, "stop"))

    def request_restart(self, component: str) -> None:
        self._send(lambda: self.client.command(component, "restart"))

    def request_restart_all(self) -> None:
        self._send(self.client.restart_all)

    def request_shutdown(self, force: bool = False) -> None:
        self._send(lambda: self.client.down(force))

    def close(self) -> None:
        """Stop reading (the connection is closed; the devkit keeps running)."""
        self._closed = True
        sock = self._conn.raw
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
            except OSError:
                pass
        self._thread.join(2)
