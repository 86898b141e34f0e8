"""The control socket's JSON shapes: every supervisor event survives the trip; durations for
`devkit logs --since`; long socket paths are shortened through /proc/self/fd."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devkit.commands.logs import parse_since
from devkit.core.control import protocol
from devkit.core.control.sockpath import connect, short_path
from devkit.core.events import (
    AllHealthy,
    ComponentStatus,
    LogLine,
    Notice,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    TargetsChanged,
)
from devkit.errors import DevkitError

STATUS = ComponentStatus(
    "api", "flask", State.CRASHED, "exited with code 1", pid=12, ports=(5000,),
    url="http://localhost:5000", started_at=1.5, restarts=3, last_error=("boom", "x"),
    required=False,
)  # fmt: skip
EVENTS = [
    LogLine("api", "GET / 200", "stderr", 10.25),
    StateChanged("api", State.HEALTHY, State.CRASHED, STATUS, 11.0),
    Notice("port taken", "warning", "api", 12.0),
    TargetsChanged("192.168.1.9", 13.0),
    AllHealthy(14.0),
    ShutdownProgress("api", State.STOPPING, 15.0),
    Stopped(2, 16.0),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_round_trips(event: object) -> None:
    kind, data = protocol.event_to_json(event)  # type: ignore[arg-type]
    frame = protocol.sse(kind, data).decode()
    assert frame.startswith(f"event: {kind}\ndata: ") and frame.endswith("\n\n")
    assert frame.count("\n") == 3  # one data line: no newline inside the JSON
    import json

    body = json.loads(frame.split("data: ", 1)[1])
    assert protocol.event_from_json(kind, body) == event


def test_unknown_kinds_are_not_events() -> None:
    assert protocol.event_from_json("live", {}) is None


def test_since_durations() -> None:
    assert parse_since("5m", 1000.0) == 700.0
    assert parse_since("1h30m", 10_000.0) == 10_000.0 - 5400
    assert parse_since("90", 100.0) == 10.0
    for bad in ("five", "5x", "m5", "5m junk"):
        with pytest.raises(DevkitError):
            parse_since(bad, 0.0)


def test_a_socket_path_too_long_for_sun_path_still_binds_and_connects(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = deep / "control.sock"
    assert len(str(path)) > 108
    server = socket.socket(socket.AF_UNIX)
    with short_path(path) as address:
        assert len(address) < 100
        server.bind(address)
    server.listen()
    try:
        assert path.exists()
        client = connect(path, timeout=5)
        conn, _ = server.accept()
        client.sendall(b"hi")
        assert conn.recv(2) == b"hi"
        client.close()
        conn.close()
    finally:
        server.close()
