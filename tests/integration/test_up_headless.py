"""A real `python -m devkit up --headless` in a temp project (extra processes + stand-in Metro):
signals, leftovers after kill -9, port conflicts, a malformed .env, a second `up`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devkit.runstate import read_state
from tests.support.ports import free_port
from tests.support.standins import make_project, py_command
from tests.support.wait import wait_for

SERVE = ("import socket, sys, time; s = socket.socket(); "
         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
         "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('listening', flush=True); "
         "time.sleep(600)")
# a child that ignores SIGTERM and has a grandchild: only group SIGKILL gets rid of both
STUBBORN = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            "print('stubborn ready', flush=True); time.sleep(600)")


def devkit(root: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "devkit", "--root", str(root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True, **kwargs)  # type: ignore[arg-type]


def run_devkit(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devkit", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1"})


class Output:
    """Collects a process's output lines on a thread, so waits never block on a pipe."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.proc = proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait(self, text: str, timeout: float = 20) -> None:
        wait_for(lambda: self.has(text), timeout, what=f"{text!r} in output:\n"
                 + "\n".join(self.lines[-30:]))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    web_port, metro_port = free_port(), free_port()
    root = make_project(tmp_path / "proj", {
        "web": {"command": py_command(SERVE) + f" {web_port}",
                "readiness": {"tcp": f"127.0.0.1:{web_port}"}, "required": True},
        "stubborn": {"command": py_command(STUBBORN), "depends_on": ["web"],
                     "readiness": {"log": "stubborn ready"}},
    }, components=("metro",), expo_client=True,
        env={"METRO_PORT": str(metro_port), "PORT": str(free_port())})
    yield root, web_port, metro_port
    _kill_everything_recorded(root)


def _kill_everything_recorded(root: Path) -> None:
    """Safety net so a failing test never leaves processes behind."""
    state = read_state(root / ".devkit") or {}
    for entry in (state.get("components") or {}).values():
        try:
            os.killpg(int(entry.get("pgid") or 0), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass


def _tree(pid: int) -> list[int]:
    try:
        proc = psutil.Process(pid)
        return [pid] + [p.pid for p in proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _start_healthy(root: Path) -> tuple[subprocess.Popen[str], Output, list[int]]:
    proc = devkit(root, "up", "--headless")
    out = Output(proc)
    out.wait("all components healthy")
    tree = wait_for(lambda: (t := _tree(proc.pid)) and len(t) >= 5 and t, 10,
                    what="devkit, web, stubborn + grandchild, metro")
    return proc, out, tree


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_gives_ordered_shutdown_and_leaves_no_process(project, sig) -> None:  # noqa: ANN001
    root, web_port, metro_port = project
    proc, out, tree = _start_healthy(root)
    assert out.has(f"exp://127.0.0.1:{metro_port}")  # the summary of device URLs
    assert out.has("stand-in metro") and out.has("host=127.0.0.1")
    state = read_state(root / ".devkit")
    assert state and state["pid"] == proc.pid and set(state["components"]) >= {"web", "metro"}
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0, out.text
    assert _alive(tree) == [], out.text
    stopped = [line.split("| ")[1] for line in out.lines if "stopped" in line and "| " in line]
    order = [s.split()[0] for s in stopped if s.endswith("stopped") and " " in s]
    assert order.index("stubborn") < order.index("web")  # dependents first
    assert read_state(root / ".devkit") is None  # clean exit clears the run state


def test_second_ctrl_c_forces(project) -> None:  # noqa: ANN001
    root, _, _ = project
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace("shutdown_timeout = 3",
                                                      "shutdown_timeout = 60"))
    proc, out, tree = _start_healthy(root)
    proc.send_signal(signal.SIGINT)
    out.wait("stubborn stopping")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    assert out.has("second Ctrl-C")
    assert _alive(tree) == []


def test_kill_9_of_devkit_then_down_cleans_up(project) -> None:  # noqa: ANN001
    root, _, _ = project
    proc, _out, tree = _start_healthy(root)
    proc.kill()
    proc.wait()
    children = [pid for pid in tree if pid != proc.pid]
    assert _alive(children)  # the children outlived devkit...
    status = run_devkit(root, "status")
    assert status.returncode == 3 and "devkit down" in status.stdout
    down = run_devkit(root, "down")
    assert down.returncode == 0 and "cleaned up" in down.stdout, down.stdout + down.stderr
    wait_for(lambda: not _alive(children), 10, what="leftovers gone")
    again = run_devkit(root, "down")
    assert "nothing left" in again.stdout


def test_kill_9_of_devkit_then_up_cleans_up_and_starts(project) -> None:  # noqa: ANN001
    root, _, _ = project
    proc, _out, tree = _start_healthy(root)
    proc.kill()
    proc.wait()
    children = [pid for pid in tree if pid != proc.pid]
    second, out2, tree2 = _start_healthy(root)
    try:
        assert out2.has("cleaned up")
        assert not _alive(children)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert _alive(tree2) == []


def test_second_up_says_already_running_and_status_and_down_work(project) -> None:  # noqa: ANN001
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
    assert _alive(tree) == []


def test_port_conflict_names_the_holder_and_starts_nothing(project) -> None:  # noqa: ANN001
    root, _, metro_port = project
    holder = subprocess.Popen([sys.executable, "-c", SERVE, str(metro_port)],
                              stdout=subprocess.PIPE, text=True)
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


def test_malformed_env_is_a_clear_error(project) -> None:  # noqa: ANN001
    root, _, _ = project
    with open(root / ".env", "a") as env:
        env.write("this line is wrong\n")
    result = run_devkit(root, "up", "--headless")
    assert result.returncode == 1
    assert "error: .env line" in result.stderr and "is not NAME=value" in result.stderr
    assert "fix:" in result.stderr


def test_required_process_that_cannot_start_fails_the_run(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {
        "db": {"command": "/nonexistent/binary --serve", "required": True}})
    result = run_devkit(root, "up", "--headless")
    assert result.returncode == 1
    assert "cannot run '/nonexistent/binary'" in result.stdout


def test_first_run_creates_env_from_example(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"job": {"command": py_command("print('hi')")}})
    (root / ".env").unlink()
    (root / ".env.example").write_text("JWT_SECRET=dev_secret_change_in_production\n"
                                       "POSTGRES_PASSWORD=change_me\nDEVKIT_LAN_HOST=127.0.0.1\n")
    proc = devkit(root, "up", "--headless")
    out = Output(proc)
    out.wait("created .env from .env.example")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    text = (root / ".env").read_text()
    assert "dev_secret_change_in_production" not in text and "change_me" not in text
    assert (root / ".env").stat().st_mode & 0o777 == 0o600

