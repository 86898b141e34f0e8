"""A wrapper whose child outlives it (Metro's `npx expo start` is npm exec -> sh -> node):
kill -9 of the wrapper must end the whole group, stop waiting on the pipes the orphan holds,
and restart the component by its policy."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from devkit.core.events import State
from devkit.core.supervisor import Supervisor
from devkit.services.process import ProcessService
from devkit.settings.config import ProbeSettings, ProcessSettings
from tests.integration.supervisor_helpers import Harness, settings
from tests.support.devkit_proc import (
    Output,
    devkit,
    kill_everything_recorded,
    run_devkit,
    still_alive_after,
)
from tests.support.ports import free_port
from tests.support.standins import install_standin_packages, make_project, metro_command
from tests.support.wait import wait_for


def wrapped_server(port: int) -> ProcessSettings:
    """`sh -c 'SERVER; true'`: the shell forks the server instead of exec-ing it."""
    server = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    return ProcessSettings(
        name="web",
        command=f"sh -c '{server}; true'",
        restart="always",
        readiness=ProbeSettings("http", f"http://127.0.0.1:{port}/", interval=0.2),
    )


def listener(port: int) -> int | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


async def test_kill_9_of_a_wrapper_kills_its_orphan_and_restarts(tmp_path: Path) -> None:
    port = free_port()
    s = settings(tmp_path)
    svc = ProcessService(s, wrapped_server(port))
    async with Harness(Supervisor(s, [svc], network=False)) as h:
        first = await h.state("web", State.HEALTHY)
        wrapper = first.pid
        assert wrapper is not None
        server_pid = await h.until(lambda: listener(port), what="the server to listen")
        assert server_pid != wrapper and os.getpgid(server_pid) == wrapper
        killed_at = time.monotonic()
        os.kill(wrapper, signal.SIGKILL)
        again = await h.until(
            lambda: (st := h.status("web")).state == State.HEALTHY and st.restarts == 1 and st,
            timeout=20,
            what="web healthy again after kill -9 of its wrapper",
        )
        print(f"kill -9 of the wrapper -> healthy again: {time.monotonic() - killed_at:.2f}s")
        assert again.pid not in (None, wrapper)
        assert still_alive_after([server_pid]) == []  # the orphan was ended with its group
        new_server = listener(port)
        assert new_server is not None and os.getpgid(new_server) == again.pid
        assert "killed by SIGKILL" in "\n".join(again.last_error)
    assert still_alive_after([again.pid, new_server]) == []


def test_devkit_up_survives_an_orphaned_metro_and_exits_clean(tmp_path: Path) -> None:
    """End to end, Metro's shape (a shell whose child serves the port): status names the group
    and the pid that really listens, kill -9 of the wrapper restarts Metro, and devkit exits
    without 'Event loop is closed' noise (#12.1, #12.7)."""
    port = free_port()
    make_project(
        tmp_path,
        components=("metro",),
        extra={"metro_command": f"sh -c '{metro_command()}; true'"},
        env={"METRO_PORT": str(port), "PORT": str(free_port())},
    )
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "package.json").write_text('{"dependencies": {"expo": "~51.0.0"}}')
    install_standin_packages(tmp_path / "client")  # Metro's pre-start check looks for them
    proc = devkit(tmp_path, "up", "--headless")
    out = Output(proc)
    try:
        out.wait("metro healthy")
        wrapper = wait_for(lambda: _recorded_pid(tmp_path), what="metro's pid in the run state")
        server = wait_for(lambda: listener(port), what="the stand-in")
        assert server != wrapper
        report = json.loads(run_devkit(tmp_path, "status", "--json").stdout)
        metro = next(c for c in report["components"] if c["name"] == "metro")
        assert (metro["pid"], metro["pgid"]) == (wrapper, wrapper)
        assert metro["port_pids"] == {str(port): server}
        os.kill(wrapper, signal.SIGKILL)
        wait_for(lambda: out.text.count("metro healthy") >= 2, 20, what="metro healthy again")
        assert still_alive_after([server]) == []
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_everything_recorded(tmp_path)
    out._thread.join(timeout=5)
    assert proc.returncode == 0, out.tail()
    assert "Event loop is closed" not in out.text, out.tail()
    assert "Exception ignored" not in out.text, out.tail()
    assert listener(port) is None


def _recorded_pid(root: Path) -> int | None:
    from devkit.core.runstate import read_state

    state = read_state(root / ".devkit") or {}
    entry = (state.get("components") or {}).get("metro") or {}
    pid = entry.get("pid")
    return int(pid) if pid and os.path.exists(f"/proc/{pid}") else None
