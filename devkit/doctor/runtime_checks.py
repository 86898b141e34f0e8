"""Checks of what runs (or would run): API and Metro /status, ports, LAN address, disk space."""

from __future__ import annotations

import os
import socket

import httpx
import psutil

from devkit.doctor.model import CheckResult, DoctorContext, RunReading

DOCKER_PROXIES = {
    "docker-proxy",
    "dockerd",
    "com.docker.backend",
    "vpnkit",
    "rootlesskit",
    "com.docker.vpnkit",
}
DISK_WARN, DISK_FAIL = 0.80, 0.90


def listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _get_status(
    ctx: DoctorContext, name: str, port: int, fix: str
) -> tuple[str, httpx.Response | CheckResult]:
    """GET /status on a local port: the response, or the skip/fail result that ends the check."""
    url = f"http://127.0.0.1:{port}/status"
    if not listening("127.0.0.1", port):
        return url, CheckResult(name, "skip", f"not running (nothing on port {port})")
    try:
        return url, httpx.get(url, timeout=ctx.timeout)
    except httpx.HTTPError as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return url, CheckResult(name, "fail", f"{url}: {why}", fix)


def check_api(ctx: DoctorContext) -> CheckResult:
    port = ctx.settings.api_port
    url, response = _get_status(ctx, "api", port, "see the api log in devkit up (or devkit status)")
    if isinstance(response, CheckResult):
        return response
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "status" not in body:
        return CheckResult(
            "api",
            "fail",
            f"port {port} answers ({response.status_code}) but not as the AIOS API",
            f"another program holds port {port}: see the port-api check",
        )
    if response.status_code == 200 and body.get("status") == "ok":
        return CheckResult("api", "pass", f"{url}: status ok")
    detail = ", ".join(f"{k}={v}" for k, v in body.items() if isinstance(v, str | int | float))
    return CheckResult(
        "api",
        "fail",
        f"{url}: {response.status_code} {detail}",
        "the API cannot reach the database: see the database check",
    )


def check_metro(ctx: DoctorContext) -> CheckResult:
    port = ctx.settings.metro_port
    url, response = _get_status(ctx, "metro", port, "see the metro log in devkit up")
    if isinstance(response, CheckResult):
        return response
    if "packager-status:running" in response.text:
        return CheckResult("metro", "pass", f"{url}: packager-status:running")
    return CheckResult(
        "metro",
        "fail",
        f"port {port} answers ({response.status_code}) but not as Metro",
        f"another program holds port {port}: see the port-metro check",
    )


# --- ports ---------------------------------------------------------------------------------------
def _free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def holders(port: int) -> list[psutil.Process] | None:
    """Processes listening on `port` (None: not allowed to know, e.g. macOS without root)."""
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError):
        return None
    found: list[psutil.Process] = []
    for conn in conns:
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.laddr
            and conn.laddr.port == port
            and conn.pid
            and all(p.pid != conn.pid for p in found)
        ):
            try:
                found.append(psutil.Process(conn.pid))
            except psutil.Error:
                continue
    return found


def _devkit_component(process: psutil.Process, run: RunReading) -> str | None:
    """The devkit component `process` belongs to (itself, an ancestor, or its group)."""
    try:
        chain = [process, *process.parents()]
    except psutil.Error:
        chain = [process]
    for member in chain:
        if member.pid in run.pids:
            return run.pids[member.pid]
    try:
        return run.pgids.get(os.getpgid(process.pid))
    except OSError:
        return None


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.name()} (pid {process.pid})"
    except psutil.Error:
        return f"pid {process.pid}"


def _port_check(
    ctx: DoctorContext, component: str, port: int, variable: str, host: str
) -> CheckResult:
    name = f"port-{component}"
    if _free(host, port):
        return CheckResult(name, "pass", f"{port} ({variable}) is free")
    found = holders(port)
    run = ctx.run_state() if ctx.run_state else RunReading(False, {}, {})
    if found:
        owners = {_devkit_component(p, run) for p in found}
        if None not in owners:
            held_by = ", ".join(_describe(p) for p in found)
            owner = "/".join(sorted(o for o in owners if o))
            if run.running:
                return CheckResult(name, "pass", f"{port} is held by devkit's {owner}: {held_by}")
            return CheckResult(
                name,
                "fail",
                f"{port} is held by {held_by}, left running by a devkit that was killed ({owner})",
                "devkit down (stops what it left)",
            )
        docker = [p for p in found if _name(p) in DOCKER_PROXIES]
        if docker and len(docker) == len(found):
            publisher = _publisher(ctx, port)
            if component == "postgres" and publisher == ctx.settings.compose_service:
                return CheckResult(
                    name,
                    "pass",
                    f"{port} is published by the dev PostgreSQL container ({_describe(docker[0])})",
                )
            who = (
                f"Docker container {publisher}"
                if publisher
                else f"a Docker container ({_describe(docker[0])})"
            )
            return CheckResult(
                name,
                "fail",
                f"{port} ({variable}) is held by {who}",
                f"stop that container (docker ps shows it), or set "
                f"{variable}={port + 1} (any free port) in .env",
            )
        foreign = [p for p in found if _devkit_component(p, run) is None]
        if len(foreign) == 1:
            advice = _port_advice(component, port, foreign[0])
            if advice:
                return CheckResult(name, "fail", *advice)
        who = ", ".join(_describe(p) for p in foreign)
    else:
        who = "another process (run as root to see which)" if found is None else "another process"
    stop = f"stop {who}" if found else "stop the program using it"
    return CheckResult(
        name,
        "fail",
        f"{port} ({variable}) is held by {who}",
        f"{stop}, or set {variable}={port + 1} (any free port) in .env",
    )


def _port_advice(component: str, port: int, holder: psutil.Process) -> tuple[str, str] | None:
    """devkit.host.ports' wording (the same as `devkit up`'s, incl. macOS AirPlay advice)."""
    try:
        from devkit.host.ports import Holder, conflict_error
    except ImportError:
        return None
    error = conflict_error(component, port, Holder(holder.pid, _name(holder) or None))
    return error.message, error.hint


def _publisher(ctx: DoctorContext, port: int) -> str | None:
    """The compose service (project aios) or container name publishing `port`, if any."""
    from devkit.host.docker import COMPOSE_PROJECT, docker_client

    client = docker_client(ctx.settings.root)
    if client is None:
        return None
    try:
        for container in client.containers.list():
            bindings = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
            ports = {
                int(b.get("HostPort") or 0) for items in bindings.values() for b in items or []
            }
            if port in ports:
                labels = container.labels or {}
                if labels.get("com.docker.compose.project") == COMPOSE_PROJECT:
                    return labels.get("com.docker.compose.service", container.name)
                return container.name
    except Exception:  # noqa: BLE001 - engine trouble: owner unknown
        return None
    finally:
        client.close()
    return None


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def check_ports(ctx: DoctorContext) -> list[CheckResult]:
    settings = ctx.settings
    return [
        _port_check(ctx, "api", settings.api_port, "PORT", "0.0.0.0"),
        _port_check(ctx, "metro", settings.metro_port, "METRO_PORT", "0.0.0.0"),
        _port_check(ctx, "postgres", settings.postgres_port, "POSTGRES_PORT", "127.0.0.1"),
    ]


# --- LAN and disk -------------------------------------------------------------------------------
def check_lan(ctx: DoctorContext) -> CheckResult:
    reading = ctx.lan() if ctx.lan else None
    if reading is None or not reading.phones_can_reach:
        shown = f" (only {reading.host}: {reading.detail})" if reading else ""
        return CheckResult(
            "lan",
            "warn",
            f"no LAN address found{shown}: phones on Wi-Fi cannot "
            "reach the API (simulators and emulators still can)",
            "join a Wi-Fi/Ethernet network or set DEVKIT_LAN_HOST in .env",
        )
    port = ctx.settings.api_port
    if not listening("127.0.0.1", port):
        return CheckResult(
            "lan",
            "pass",
            f"LAN address {reading.host} ({reading.detail}); the API is not running, so not tried",
        )
    local = _local_answer(ctx, port)
    if local:  # not the network's fault: the API itself does not answer
        return CheckResult(
            "lan",
            "skip",
            f"LAN address {reading.host} ({reading.detail}); not tried: the API does not "
            f"answer on 127.0.0.1:{port} either ({local})",
            "see the api check and devkit status (its last error); fix the API first",
        )
    error, fix = _lan_reach(ctx, reading.host, port)
    if error:
        return CheckResult(
            "lan", "fail", f"LAN address {reading.host} ({reading.detail}), but {error}", fix
        )
    return CheckResult(
        "lan",
        "pass",
        f"LAN address {reading.host} ({reading.detail}); the API "
        f"answers at http://{reading.host}:{port}/status",
    )


def _local_answer(ctx: DoctorContext, port: int) -> str:
    """ "" when GET /status on loopback gets any HTTP answer, else why not (crashed, hanging)."""
    try:
        httpx.get(f"http://127.0.0.1:{port}/status", timeout=ctx.timeout, trust_env=False)
    except httpx.TimeoutException:
        return f"no answer within {ctx.timeout:g}s: crashed or still starting"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return ""


def _lan_reach(ctx: DoctorContext, host: str, port: int) -> tuple[str, str]:
    """("", "") when the API answers on host:port, else (what is wrong, the fix)."""
    from devkit.reach import lan as net
    from devkit.reach import lancheck

    reach = lancheck.check_lan_reach(
        host, port, net.read_platform(), extra_ports=(ctx.settings.metro_port,), timeout=ctx.timeout
    )
    return ("", "") if reach.ok else (reach.detail, reach.hint)


def check_disk(ctx: DoctorContext) -> CheckResult:
    usage = ctx.disk_usage(ctx.settings.root)
    # like df's Use%: blocks reserved for root do not count as available to us
    space = usage.used + usage.free
    used = usage.used / space if space else 0.0
    free_gib = usage.free / 2**30
    detail = f"{used:.0%} used, {free_gib:.1f} GiB free on the disk of {ctx.settings.root}"
    fix = "free disk space (devkit db prune, docker system prune, old node_modules)"
    if used >= DISK_FAIL:
        return CheckResult("disk", "fail", detail, fix)
    if used >= DISK_WARN:
        return CheckResult("disk", "warn", detail, fix)
    return CheckResult("disk", "pass", detail)
