"""Check, before anything starts, that the ports devkit needs are free; name who holds them."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from devkit.errors import PortInUseError

AIRPLAY_NAMES = ("controlcenter", "airplayxpchelper", "airplayuiagent")
PORT_SETTING = {"api": "PORT", "metro": "METRO_PORT", "postgres": "POSTGRES_PORT"}


@dataclass(frozen=True)
class Holder:
    pid: int | None
    name: str | None


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
                return Holder(conn.pid, psutil.Process(conn.pid).name())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return Holder(conn.pid, None)
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
    stop = f"stop it (kill {holder.pid}) or " if holder.pid else "stop it or "
    return PortInUseError(f"port {port} ({component}) is held by {who}", f"{stop}{move}")


def check_ports(wanted: Iterable[tuple[str, int]]) -> None:
    """Raise PortInUseError for the first taken port (component, port); all others untouched."""
    for component, port in wanted:
        if port and not port_is_free(port):
            raise conflict_error(component, port, find_holder(port))
