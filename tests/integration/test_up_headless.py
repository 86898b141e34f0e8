"""A real `python -m devkit up --headless` in a temp project (extra processes + stand-in Metro):
signals, leftovers after kill -9, port conflicts, a malformed .env, a second `up`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.core.runstate import read_state
from tests.support.devkit_proc import (
    Output,
    alive,
    devkit,
    kill_everything_recorded,
    process_tree,
    run_devkit,
)
from tests.support.ports import free_port
from tests.support.standins import make_project, py_command
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow  # `devkit up` as a real process, start to shutdown

SERVE = (
    "import socket, sys, time; s = socket.socket(); "
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('listening', flush=True); "
    "time.sleep(600)"
)
# a child that ignores SIGTERM and has a grandchild: only group SIGKILL gets rid of both
STUBBORN = (
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print('stubborn ready', flush=True); time.sleep(600)"
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    web_port, metro_port = free_port(), free_port()
    root = make_project(
        tmp_path / "proj",
        {
            "web": {
                "command": py_command(SERVE) + f" {web_port}",
                "readiness": {"tcp": f"127.0.0.1:{web_port}"},
                "required": True,
            },
            "stubborn": {
                "command": py_command(STUBBORN),
                "depends_on": ["web"],
                "readiness": {"log": "stubborn ready"},
            },
        },
        components=("metro",),
        expo_client=True,
        env={"METRO_PORT": str(metro_port), "PORT": str(free_port())},
    )
    yield root, web_port, metro_port
    kill_everything_recorded(root)


def _start_healthy(root: Path) -> tuple[subprocess.Popen[str], Output, list[int]]:
    proc = devkit(root, "up", "--headless")
    out = Output(proc)
    out.wait("all components healthy")
    tree = wait_for(
        lambda: (t := process_tree(proc.pid)) and len(t) >= 5 and t,
        10,
        what="devkit, web, stubborn + grandchild, metro",
    )
    return proc, out, tree


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_gives_ordered_shutdown_and_leaves_no_process(project, sig) -> None:
    root, web_port, metro_port = project
    proc, out, tree = _start_healthy(root)
    assert out.has(f"exp://127.0.0.1:{metro_port}")  # the summary of device URLs
    assert out.has("stand-in metro") and out.has("host=127.0.0.1")
    state = read_state(root / ".devkit")
    assert state and state["pid"] == proc.pid and set(state["components"]) >= {"web", "metro"}
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0, out.text
    assert alive(tree) == [], out.text
    stopped = [line.split("| ")[1] for line in out.lines if "stopped" in line and "| " in line]
    order = [s.split()[0] for s in stopped if s.endswith("stopped") and " " in s]
    assert order.index("stubborn") < order.index("web")  # dependents first
    assert read_state(root / ".devkit") is None  # clean exit clears the run state


def test_second_ctrl_c_forces(project) -> None:
    root, _, _ = project
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml")
        .read_text()
        .replace("shutdown_timeout = 3", "shutdown_timeout = 60")
    )
    proc, out, tree = _start_healthy(root)
    proc.send_signal(signal.SIGINT)
    out.wait("stubborn stopping")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    out.wait("second Ctrl-C")  # the reader thread may still hold the last lines: drained here
    assert alive(tree) == []


def test_kill_9_of_devkit_then_down_cleans_up(project) -> None:
    root, _, _ = project
    proc, _out, tree = _start_healthy(root)
    proc.kill()
    proc.wait()
    children = [pid for pid in tree if pid != proc.pid]
    assert alive(children)  # the children outlived devkit...
    status = run_devkit(root, "status")
    assert status.returncode == 3 and "devkit down" in status.stdout
    down = run_devkit(root, "down")
    assert down.returncode == 0 and "cleaned up" in down.stdout, down.stdout + down.stderr
    wait_for(lambda: not alive(children), 10, what="leftovers gone")
    again = run_devkit(root, "down")
    assert "nothing left" in again.stdout


def test_kill_9_of_devkit_then_up_cleans_up_and_starts(project) -> None:
    root, _, _ = project
    proc, _out, tree = _start_healthy(root)
    proc.kill()
    proc.wait()
    children = [pid for pid in tree if pid != proc.pid]
    second, out2, tree2 = _start_healthy(root)
    try:
        assert out2.has("cleaned up")
        assert not alive(children)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert alive(tree2) == []


def test_second_up_says_already_running_and_status_and_down_work(project) -> None:
    root, web_port, _ = project
    proc, _out, tree = _start_healthy(root)
    second = run_devkit(root, "up", "--headless")
    assert second.returncode == 1
    assert f"already running (pid {proc.pid})" in second.stderr
    status = run_devkit(root, "status", "--json")
    report = json.loads(status.stdout)
    assert report["running"] and report["pid"] == proc.pid
    web = next(c for c in report["components"] if c["name"] == "web")
    assert web["state"] == "healthy" and web["pid"] and web["restarts"] == 0
    table = run_devkit(root, "status")
    assert "web" in table.stdout and "healthy" in table.stdout
    down = run_devkit(root, "down")
    assert down.returncode == 0 and f"pid {proc.pid}) stopped" in down.stdout
    assert proc.wait(timeout=5) == 0
    assert alive(tree) == []


def test_port_conflict_names_the_holder_and_starts_nothing(project) -> None:
    root, _, metro_port = project
    holder = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(metro_port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "listening"
        result = run_devkit(root, "up", "--headless")
        assert result.returncode == 1
        assert f"port {metro_port} (metro) is held by python" in result.stderr
        assert f"(pid {holder.pid})" in result.stderr and "METRO_PORT=" in result.stderr
        assert read_state(root / ".devkit") is None
    finally:
        holder.kill()
        holder.wait()


def test_malformed_env_is_a_clear_error(project) -> None:
    root, _, _ = project
    with open(root / ".env", "a") as env:
        env.write("this line is wrong\n")
    result = run_devkit(root, "up", "--headless")
    assert result.returncode == 1
    assert "error: .env line" in result.stderr and "is not NAME=value" in result.stderr
    assert "fix:" in result.stderr


def test_required_process_that_cannot_start_fails_the_run(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", {"db": {"command": "/nonexistent/binary --serve", "required": True}}
    )
    result = run_devkit(root, "up", "--headless")
    assert result.returncode == 1
    assert "cannot run '/nonexistent/binary'" in result.stdout


def test_first_run_creates_env_from_example(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"job": {"command": py_command("print('hi')")}})
    (root / ".env").unlink()
    (root / ".env.example").write_text(
        "JWT_SECRET=dev_secret_change_in_production\n"
        "POSTGRES_PASSWORD=change_me\nDEVKIT_LAN_HOST=127.0.0.1\n"
    )
    proc = devkit(root, "up", "--headless")
    out = Output(proc)
    out.wait("created .env from .env.example")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    text = (root / ".env").read_text()
    assert "dev_secret_change_in_production" not in text and "change_me" not in text
    assert (root / ".env").stat().st_mode & 0o777 == 0o600
