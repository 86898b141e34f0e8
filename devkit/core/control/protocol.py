"""The control socket's contract, shared by the server (in `devkit up`) and its clients.

Where: `.devkit/control.sock`, a Unix socket (mode 0600; the server also refuses peers whose
uid differs from its own). What: HTTP/1.1, one request per connection (`Connection: close`),
JSON bodies, and server-sent events for the stream:

    GET  /status                      {"devkit": {...}, "components": [status, ...]}
    GET  /logs?component=A&n=N&since=T  {"lines": [line, ...]}   (history only)
    GET  /events?component=A&n=N&since=T&logs=1  text/event-stream:
         `event: snapshot` first (same body as /status), then `event: log` per history line,
         `event: live` (history done), then every event as it happens (kinds below)
    POST /components/NAME/restart|stop|start   202 {"ok": true}   (404 unknown name)
    POST /restart                     202: restart every component
    POST /down[?force=1]              202: ordered shutdown (force: SIGKILL now)

Event kinds (SSE `event:` field; `data:` is one JSON object): state, log, notice, targets,
all_healthy, shutdown, stopped. Times are Unix seconds (float).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from devkit.core.events import (
    AllHealthy,
    ComponentStatus,
    Event,
    LogLine,
    Notice,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    TargetsChanged,
)

SOCKET_NAME = "control.sock"
LOG_NAME = "devkit.log"  # output of a detached devkit (`up --detach`)
HOST = "devkit"  # the Host header clients send (curl needs some host in the URL)
MAX_REQUEST_BYTES = 16_384  # request line + headers; bodies are not used


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def log_path(state_dir: Path) -> Path:
    return state_dir / LOG_NAME


# --- JSON shapes -------------------------------------------------------------------------------
def status_to_json(status: ComponentStatus) -> dict[str, Any]:
    data = asdict(status)
    data["state"] = str(status.state)
    data["ports"] = list(status.ports)
    data["last_error"] = list(status.last_error)
    return data


def status_from_json(data: dict[str, Any]) -> ComponentStatus:
    return ComponentStatus(
        name=data["name"],
        backend=data.get("backend", ""),
        state=State(data["state"]),
        detail=data.get("detail", ""),
        pid=data.get("pid"),
        container_id=data.get("container_id"),
        ports=tuple(data.get("ports") or ()),
        url=data.get("url", ""),
        started_at=data.get("started_at"),
        restarts=int(data.get("restarts", 0)),
        last_error=tuple(data.get("last_error") or ()),
        required=bool(data.get("required", True)),
    )


def line_to_json(line: LogLine) -> dict[str, Any]:
    return {"component": line.component, "text": line.text, "stream": line.stream, "at": line.at}


def line_from_json(data: dict[str, Any]) -> LogLine:
    return LogLine(data["component"], data["text"], data.get("stream", "stdout"), data["at"])


def event_to_json(event: Event) -> tuple[str, dict[str, Any]]:
    """(SSE event kind, JSON body) of a supervisor event."""
    if isinstance(event, LogLine):
        return "log", line_to_json(event)
    if isinstance(event, StateChanged):
        return "state", {
            "component": event.component,
            "old": str(event.old),
            "new": str(event.new),
            "status": status_to_json(event.status),
            "at": event.at,
        }
    if isinstance(event, Notice):
        return "notice", asdict(event)
    if isinstance(event, TargetsChanged):
        return "targets", asdict(event)
    if isinstance(event, AllHealthy):
        return "all_healthy", asdict(event)
    if isinstance(event, ShutdownProgress):
        return "shutdown", {"component": event.component, "state": str(event.state), "at": event.at}
    return "stopped", asdict(event)


def event_from_json(kind: str, data: dict[str, Any]) -> Event | None:
    """The event of an SSE message; None for kinds that are not supervisor events."""
    if kind == "log":
        return line_from_json(data)
    if kind == "state":
        return StateChanged(
            data["component"],
            State(data["old"]),
            State(data["new"]),
            status_from_json(data["status"]),
            data["at"],
        )
    if kind == "notice":
        return Notice(
            data["text"], data.get("level", "info"), data.get("component", ""), data["at"]
        )
    if kind == "targets":
        return TargetsChanged(data["lan_host"], data["at"])
    if kind == "all_healthy":
        return AllHealthy(data["at"])
    if kind == "shutdown":
        return ShutdownProgress(data["component"], State(data["state"]), data["at"])
    if kind == "stopped":
        return Stopped(int(data.get("exit_code", 0)), data["at"])
    return None


def sse(kind: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (the JSON has no newline, so one `data:` line)."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
