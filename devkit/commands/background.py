"""Shared by `up --detach`, `run`, `restart`, `start` and `stop`: wait on a running devkit
through its control socket (never by polling its processes), and start one in the background.

Not a command itself (absent from COMMANDS).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devkit.core.control.client import ControlClient, NotRunning
from devkit.core.control.protocol import log_path, socket_path, status_from_json
from devkit.core.events import ComponentStatus, Notice, State, StateChanged, Stopped
from devkit.errors import DevkitError

Check = Callable[[dict[str, ComponentStatus]], "bool | str"]  # True: done; str: failed (why)


def all_healthy(statuses: dict[str, ComponentStatus]) -> bool | str:
    active = [s for s in statuses.values() if s.state != State.DISABLED]
    return bool(active) and all(s.state == State.HEALTHY for s in active)


def wait_until(
    client: ControlClient,
    check: Check,
    timeout: float,
    then: Callable[[], None] | None = None,
) -> dict[str, ComponentStatus]:
    """Follow the event stream until `check(statuses)` is True; `then` runs once the stream is
    open (so a command sent there cannot be missed). DevkitError on failure or timeout."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, ComponentStatus] = {}
    errors: list[str] = []
    conn = client.connection()
    stream = client.events(logs=False, conn=conn)
    try:
        first = next(stream)
        statuses = {c["name"]: status_from_json(c) for c in first.data["components"]}
        if then is not None:
            then()
        while True:
            verdict = check(statuses)
            if verdict is True:
                return statuses
            if isinstance(verdict, str) and verdict:
                raise DevkitError(verdict, "devkit logs shows what the components printed")
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                assert conn.raw is not None
                conn.raw.settimeout(left)
                message = next(stream)
            except TimeoutError:
                raise DevkitError(
                    f"not done within {timeout:g}s: " + describe(statuses),
                    "devkit logs shows what the components printed; --timeout waits longer",
                ) from None
            except StopIteration:
                raise DevkitError(
                    "devkit stopped" + (f": {'; '.join(errors)}" if errors else ""),
                    f"see {log_path(client.state_dir)} or run devkit up in a terminal",
                ) from None
            event = message.event
            if isinstance(event, StateChanged):
                statuses[event.component] = event.status
            elif isinstance(event, Notice) and event.level == "error":
                errors.append(event.text)
            elif isinstance(event, Stopped):
                raise DevkitError(
                    f"devkit stopped (exit code {event.exit_code})"
                    + (f": {'; '.join(errors)}" if errors else ""),
                    f"see {log_path(client.state_dir)}",
                )
    finally:
        stream.close()
        conn.close()


def describe(statuses: dict[str, ComponentStatus]) -> str:
    return ", ".join(
        f"{s.name} {s.state}" + (f" ({s.detail})" if s.detail and s.state != State.HEALTHY else "")
        for s in statuses.values()
    )


def print_urls(report: dict[str, Any], stream: Any = None) -> None:
    """The device URLs, exactly as headless `devkit up` prints them once all is healthy."""
    from devkit.ui.plain import PlainPrinter

    statuses = [status_from_json(c) for c in report["components"]]
    info = report["devkit"]
    enabled = {s.name for s in statuses if s.state != State.DISABLED}
    printer = PlainPrinter(
        stream=stream or sys.stdout,
        names=[s.name for s in statuses],
        api_port=info["api_port"],
        metro_port=info["metro_port"],
        metro_enabled="metro" in enabled,
        api_enabled="api" in enabled,
    )
    printer.lan_host = info.get("lan_host") or printer.lan_host
    for s in statuses:
        if s.url and s.state == State.HEALTHY:
            printer.line(s.name, f"{s.state}  {s.url}")
    printer.summary()


def log_tail(state_dir: Path, count: int = 20) -> str:
    try:
        lines = log_path(state_dir).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("  " + line for line in lines[-count:])


def start_detached(
    root: Path, state_dir: Path, up_args: list[str], timeout: float
) -> subprocess.Popen[bytes]:
    """Start `devkit up --headless` in the background and wait until every component is
    healthy. On failure the background devkit is stopped and the error carries the reason
    and the last lines of its log."""
    from devkit.core.hosting import spawn_detached

    proc = spawn_detached(root, state_dir, up_args)
    client = ControlClient(state_dir)
    deadline = time.monotonic() + timeout
    try:
        while not socket_path(state_dir).exists() or not _answers(client):
            if proc.poll() is not None:
                raise DevkitError(
                    f"devkit exited with code {proc.returncode} before it was ready:\n"
                    + log_tail(state_dir),
                    "fix what the lines above say, then try again",
                )
            if time.monotonic() > deadline:
                raise DevkitError(f"devkit did not start within {timeout:g}s", "")
            time.sleep(0.05)  # waiting for another process to create its socket
        wait_until(client, all_healthy, max(deadline - time.monotonic(), 1.0))
    except DevkitError as exc:
        stop_background(client, proc)
        tail = log_tail(state_dir)
        raise DevkitError(
            exc.message
            + ("" if "\n" in exc.message or not tail else f"\nlast lines of the log:\n{tail}"),
            exc.hint or f"full log: {log_path(state_dir)}",
        ) from None
    return proc


def _answers(client: ControlClient) -> bool:
    try:
        client.status()
        return True
    except NotRunning:
        return False


def stop_background(
    client: ControlClient, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0
) -> None:
    """Ordered shutdown over the socket; SIGKILL to the process group if it does not end."""
    try:
        client.down()
    except DevkitError:
        pass
    if proc is None:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        import os
        import signal

        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def steer(state_dir: Path, action: str, names: list[str], timeout: float | None) -> int:
    """restart/stop/start NAME... (restart with no name: all) and, unless timeout is None,
    wait for the effect: restarted or started and healthy again, or stopped."""
    client = ControlClient(state_dir)
    known = [c["name"] for c in client.status()["components"]]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DevkitError(
            f"no component named {', '.join(unknown)}", f"components: {', '.join(known)}"
        )

    def send() -> None:
        if action == "restart" and not names:
            client.restart_all()
        else:
            for name in names:
                client.command(name, action)

    if timeout is None:
        send()
        print(f"{action} requested: {', '.join(names) or 'all'}")
        return 0
    left: set[str] = set()  # seen leaving HEALTHY since the command (restart)
    before: dict[str, ComponentStatus] = {}

    def check(statuses: dict[str, ComponentStatus]) -> bool | str:
        if not before:
            before.update(statuses)
        targets = names or [n for n, s in statuses.items() if s.state != State.DISABLED]
        done = True
        for name in targets:
            s = statuses[name]
            if s.state == State.DISABLED:
                return f"{name} is disabled: {s.detail}"
            if s.state != State.HEALTHY:
                left.add(name)
            if action == "stop":
                done &= s.state == State.STOPPED
                continue
            if s.state == State.CRASHED and s.restarts > before[name].restarts:
                return f"{name} crashed: {s.detail}"
            ok = s.state == State.HEALTHY
            if action == "restart":
                ok &= name in left
            done &= ok
        return done

    started = time.monotonic()
    statuses = wait_until(client, check, timeout, then=send)
    took = time.monotonic() - started
    for name in names or [n for n, s in statuses.items() if s.state != State.DISABLED]:
        s = statuses[name]
        print(f"{name} {s.state}" + (f" (restarts: {s.restarts})" if action != "stop" else ""))
    print(f"done in {took:.1f}s")
    return 0


def register_steer(
    subparsers: argparse._SubParsersAction, action: str, names_help: str, need_names: bool
) -> None:
    """`devkit restart|stop|start NAME...`: the same arguments, one steer() call."""
    from devkit.commands import COMMANDS

    parser = subparsers.add_parser(action, help=COMMANDS[action])
    parser.add_argument("names", nargs="+" if need_names else "*", metavar="NAME", help=names_help)
    parser.add_argument("--no-wait", action="store_true", help="return once the request is sent")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait (default 120)"
    )

    def run(args: argparse.Namespace) -> int:
        from devkit.commands.down import state_settings

        timeout = None if args.no_wait else args.timeout
        return steer(state_settings(args).state_dir, action, list(args.names), timeout)

    parser.set_defaults(run=run)
