"""Check, before anything starts, that the ports devkit needs are free; name who holds them."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import PortInUseError

AIRPLAY_NAMES = ("controlcenter", "airplayxpchelper", "airplayuiagent")
PORT_SETTING = {"api": "PORT", "metro": "METRO_PORT", "postgres": "POSTGRES_PORT"}


STATE_FILE = Path(".devkit") / "runstate.json"  # devkit.core.runstate's file (default place)


@dataclass(frozen=True)
class OtherDevkit:
    """A `devkit up` of another project (another clone) whose component holds the port."""

    root: Path
    pid: int | None


@dataclass(frozen=True)
class Holder:
    pid: int | None
    name: str | None
    devkit: OtherDevkit | None = None


def _state_near(folder: Path) -> Path | None:
    """The nearest .devkit/runstate.json at or above `folder` (a component's working folder)."""
    for place in (folder, *folder.parents):
        if (place / STATE_FILE).is_file():
            return place
        if place.name == ".devkit" and (place / STATE_FILE.name).is_file():
            return place.parent
    return None


def other_devkit(pid: int) -> OtherDevkit | None:
    """The devkit whose run state lists `pid`'s process group or an ancestor of `pid`."""
    import psutil

    try:
        proc = psutil.Process(pid)
        chain = [proc, *proc.parents()]
        group = os.getpgid(pid)
    except (psutil.Error, OSError):
        return None
    for member in chain:
        try:
            root = _state_near(Path(member.cwd()))
        except (psutil.Error, OSError):
            continue
        if root is None:
            continue
        try:
            state = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        owner = state.get("pid") if isinstance(state.get("pid"), int) else None
        entries = [e for e in (state.get("components") or {}).values() if isinstance(e, dict)]
        ours = {e.get("pid") for e in entries} | {e.get("pgid") for e in entries}
        if group in ours or pid in ours or any(p.pid == owner for p in chain):
            return OtherDevkit(root, owner if owner and psutil.pid_exists(owner) else None)
    return None


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    """True when a listening socket could be bound (what the component will try to do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def find_holder(port: int) -> Holder:
    """The process listening on `port` (psutil; may be unknown without privileges)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError, OSError):
        connections = []
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return Holder(None, None)
            try:
                name: str | None = psutil.Process(conn.pid).name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                name = None
            return Holder(conn.pid, name, other_devkit(conn.pid))
    return Holder(None, None)


def conflict_error(
    component: str, port: int, holder: Holder, platform: str = sys.platform
) -> PortInUseError:
    who = "another process"
    if holder.name and holder.pid:
        who = f"{holder.name} (pid {holder.pid})"
    elif holder.pid:
        who = f"pid {holder.pid}"
    setting = PORT_SETTING.get(component)
    move = f"set {setting}={port + 1} in .env" if setting else "change the port in its settings"
    airplay = platform == "darwin" and (
        port == 5000 or (holder.name or "").lower() in AIRPLAY_NAMES
    )
    if airplay:
        return PortInUseError(
            f"port {port} ({component}) is held by {who}: macOS AirPlay Receiver",
            f"{move}, or turn AirPlay Receiver off (System Settings > General > AirDrop & Handoff)",
        )
    if holder.devkit is not None:
        running = f" (devkit pid {holder.devkit.pid})" if holder.devkit.pid else ""
        return PortInUseError(
            f"port {port} ({component}) is held by {who} of another devkit, running for "
            f"{holder.devkit.root}{running}",
            f"stop that one (devkit --root {holder.devkit.root} down), or {move} to run both",
        )
    stop = f"stop it (kill {holder.pid}) or " if holder.pid else "stop it or "
    return PortInUseError(f"port {port} ({component}) is held by {who}", f"{stop}{move}")


def check_ports(wanted: Iterable[tuple[str, int]]) -> None:
    """Raise PortInUseError for the first taken port (component, port); all others untouched."""
    for component, port in wanted:
        if port and not port_is_free(port):
            raise conflict_error(component, port, find_holder(port))
