"""`devkit status [--json]`: components of the running devkit, live from its control socket;
from its run state file (each pid and port probed) when the socket does not answer."""

from __future__ import annotations

import argparse
import json
import socket
import time
from typing import Any

from devkit.commands import COMMANDS
from devkit.commands.down import state_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help=COMMANDS["status"])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def _port_open(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _uptime(started: float | None, now: float) -> str:
    if not started:
        return "-"
    seconds = int(now - started)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _listeners(open_ports: dict[int, bool]) -> dict[str, int | None]:
    """The pid listening on each open port (None when it cannot be seen, e.g. Docker's proxy
    of another user)."""
    from devkit.host.ports import find_holder

    return {str(port): find_holder(port).pid for port, is_open in open_ports.items() if is_open}


def collect(state_dir: Any) -> dict[str, Any]:
    from devkit.core.runstate import find_leftovers, lock_is_held, read_state

    running = lock_is_held(state_dir)
    state = read_state(state_dir) or {}
    now = time.time()
    components = []
    for name, entry in (state.get("components") or {}).items():
        ports = [int(p) for p in entry.get("ports") or []]
        alive = _pid_alive(entry.get("pid")) if entry.get("pid") else None
        recorded = entry.get("state", "unknown")
        # a crashed component serves nothing even when its socket is still held (the API's
        # warm parent keeps it for the next child): not "open"
        serving = recorded not in ("crashed", "stopped", "waiting")
        open_ports = {p: serving and _port_open(p) for p in ports} if running else {}
        live = recorded
        if running and recorded == "healthy" and (alive is False or not all(open_ports.values())):
            live = "unhealthy"
        components.append(
            {
                "name": name,
                "state": live if running else "stopped",
                "recorded_state": recorded,
                "detail": entry.get("detail", ""),
                "problem": entry.get("problem", ""),  # e.g. Metro's bundling error
                "backend": entry.get("backend", ""),
                "pid": entry.get("pid") if alive else None,
                # the group devkit kills, and who really listens (Metro's node is a grandchild
                # of the `npx expo start` pid above)
                "pgid": entry.get("pgid") if running else None,
                "port_pids": _listeners(open_ports),
                "container_id": entry.get("container_id"),
                "ports": ports,
                "ports_open": {str(p): v for p, v in open_ports.items()},
                "url": entry.get("url", ""),
                "uptime": _uptime(entry.get("started_at"), now)
                if running and alive is not False
                else "-",
                "restarts": entry.get("restarts", 0),
                "last_error": [str(line) for line in entry.get("last_error") or []],
                "crashes": entry.get("crashes", 0),
            }
        )
    leftovers = [] if running else [item.component for item in find_leftovers(state_dir)]
    return {
        "running": running,
        "pid": state.get("pid") if running else None,
        "lan_host": state.get("lan_host"),
        "components": components if running else [],
        "leftovers": leftovers,
    }


def live(state_dir: Any) -> dict[str, Any] | None:
    """The report from the control socket (same shape as collect()), or None."""
    from devkit.core.control.client import ControlClient
    from devkit.errors import DevkitError

    try:
        data = ControlClient(state_dir, timeout=3).status()
    except DevkitError:
        return None
    info = data.get("devkit", {})
    now = time.time()
    components = []
    from devkit.core.runstate import read_state

    # the process group is devkit's bookkeeping (run state), not part of a component's status
    recorded = (read_state(state_dir) or {}).get("components") or {}
    for c in data["components"]:
        running = c["state"] not in ("stopped", "crashed", "disabled", "waiting")
        # a crashed component serves nothing even when its socket is still held (the API's warm
        # parent keeps it for the next child): not "open"
        opened = {int(p): running and _port_open(p) for p in c.get("ports", [])}
        components.append(
            {
                "name": c["name"],
                "state": c["state"],
                "recorded_state": c["state"],
                "detail": c.get("detail", ""),
                "problem": c.get("problem", ""),
                "backend": c.get("backend", ""),
                "pid": c.get("pid"),
                "pgid": (recorded.get(c["name"]) or {}).get("pgid") if running else None,
                "port_pids": _listeners(opened),
                "container_id": c.get("container_id"),
                "ports": c.get("ports", []),
                "ports_open": {str(p): v for p, v in opened.items()},
                "url": c.get("url", ""),
                "uptime": _uptime(c.get("started_at"), now) if running else "-",
                "restarts": c.get("restarts", 0),
                "crashes": c.get("crashes", 0),
                "last_error": [str(line) for line in c.get("last_error") or []],
            }
        )
    return {
        "running": True,
        "source": "control socket",
        "pid": info.get("pid"),
        "lan_host": info.get("lan_host"),
        "components": components,
        "leftovers": [],
    }


def _port_cell(c: dict[str, Any], port: int) -> str:
    if not c["ports_open"].get(str(port)):
        return f"{port}(closed)"
    holder = c["port_pids"].get(str(port))
    return f"{port}(pid {holder})" if holder and holder != c["pid"] else str(port)


def run(args: argparse.Namespace) -> int:
    settings = state_settings(args)
    report = live(settings.state_dir) or {**collect(settings.state_dir), "source": "state file"}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if report["running"] else 3
    if not report["running"]:
        print("devkit is not running")
        if report["leftovers"]:
            print(
                f"  left running by a devkit that was killed: {', '.join(report['leftovers'])}"
                "\n  fix: devkit down"
            )
        return 3
    print(f"devkit is running (pid {report['pid']}); phones use {report['lan_host'] or '-'}")
    header = ("COMPONENT", "STATE", "PID/CONTAINER", "PORTS", "UPTIME", "RESTARTS", "DETAIL")
    rows = [header]
    for c in report["components"]:
        who = str(c["pid"] or "") or (c["container_id"] or "")[:12] or "-"
        ports = ",".join(_port_cell(c, p) for p in c["ports"]) or "-"
        restarts = str(c["restarts"]) + (f" ({c['crashes']} crashes)" if c["crashes"] else "")
        shown = f"error: {c['problem']}" if c["problem"] else c["detail"]
        rows.append((c["name"], c["state"], who, ports, c["uptime"], restarts, shown[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    for c in report["components"]:
        if c["state"] == "crashed" and c["last_error"]:
            print(f"{c['name']} last error:")
            for line in c["last_error"][-5:]:
                print(f"  {line}")
    return 0
