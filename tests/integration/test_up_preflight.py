"""Preflight of a real `devkit up` and friends: bad ports in .env, another clone on the same
ports, the "created .env" message when up stops at the lock, `down` that says "stopped" only
once devkit has exited (issue 15 items 6 and 8, issue 12 item 10)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from devkit.core.runstate import read_state
from tests.support.devkit_proc import Output, alive, devkit, kill_everything_recorded, run_devkit
from tests.support.ports import free_port
from tests.support.standins import make_project, py_command


@pytest.fixture
def clone_a(tmp_path: Path):
    root = make_project(
        tmp_path / "clone-a",
        components=("metro",),
        expo_client=True,
        env={"METRO_PORT": str(free_port()), "PORT": str(free_port())},
    )
    yield root
    kill_everything_recorded(root)


def _up(root: Path):
    proc = devkit(root, "up", "--headless")
    out = Output(proc)
    out.wait("all components healthy", timeout=60)
    return proc, out


@pytest.mark.parametrize(
    ("line", "args", "expect"),
    [
        ("PORT=0", ("up", "--headless"), "PORT=0 in .env: port 0 means 'any free port'"),
        ("PORT=99999", ("up", "--headless"), "PORT=99999 in .env is out of range"),
        ("PORT=99999", ("urls",), "PORT=99999 in .env is out of range"),
        ("METRO_PORT=abc", ("status",), None),  # status must still work on broken settings
        ("POSTGRES_PORT=99999", ("db", "status"), "POSTGRES_PORT=99999 in .env is out of range"),
        ("PORT=abc", ("doctor",), "PORT='abc' in .env is not a port number"),
    ],
)
def test_bad_port_settings_give_one_clear_error(
    tmp_path: Path, line: str, args: tuple[str, ...], expect: str | None
) -> None:
    root = make_project(tmp_path / "p", {"job": {"command": py_command("print('hi')")}})
    with open(root / ".env", "a") as env:
        env.write(line + "\n")
    result = run_devkit(root, *args, timeout=60)
    both = result.stdout + result.stderr
    assert "Traceback" not in both, both
    assert "devkit bug" not in both, both
    if expect is None:
        assert "devkit is not running" in result.stdout, both
        return
    assert result.returncode == 1, both
    assert expect in both
    assert "to a whole number from 1 to 65535" in both
    assert ":99999" not in result.stdout and ":0/" not in result.stdout
    assert read_state(root / ".devkit") is None  # nothing started


def test_another_clone_on_the_same_ports_is_named(clone_a: Path, tmp_path: Path) -> None:
    proc, _ = _up(clone_a)
    try:
        clone_b = make_project(
            tmp_path / "clone-b",
            components=("metro",),
            expo_client=True,
            env=dict(
                line.split("=", 1)
                for line in (clone_a / ".env").read_text().splitlines()
                if line.startswith(("METRO_PORT=", "PORT="))
            ),
        )
        result = run_devkit(clone_b, "up", "--headless", timeout=60)
        assert result.returncode == 1
        assert "of another devkit, running for " + str(clone_a) in result.stderr
        assert f"(devkit pid {proc.pid})" in result.stderr
        assert f"devkit --root {clone_a} down" in result.stderr
        assert "METRO_PORT=" in result.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_created_env_is_said_when_up_stops_at_the_lock(clone_a: Path) -> None:
    proc, _ = _up(clone_a)
    try:
        kept = (clone_a / ".env").read_text()
        (clone_a / ".env").unlink()
        (clone_a / ".env.example").write_text(kept)
        result = run_devkit(clone_a, "up", "--headless", timeout=60)
        assert result.returncode == 1
        assert "already running" in result.stderr
        assert "created .env from .env.example" in result.stdout + result.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_down_says_stopped_only_once_devkit_has_exited(clone_a: Path) -> None:
    proc, _ = _up(clone_a)
    result = run_devkit(clone_a, "down", timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"devkit (pid {proc.pid}) stopped" in result.stdout
    assert alive([proc.pid]) == []  # exited (at most a zombie waiting for us) by then
    proc.wait(timeout=10)
