from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from devkit.core import runstate
from devkit.core.runstate import (
    RunLock,
    RunState,
    clean_leftovers,
    find_leftovers,
    holder_pid,
    lock_is_held,
    process_start_time,
    read_state,
)
from devkit.errors import AlreadyRunningError
from tests.support.wait import wait_for

HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_is_exclusive_and_names_the_holder(tmp_path: Path) -> None:
    state_dir = tmp_path / ".devkit"
    state_dir.mkdir()
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state_dir / "devkit.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout and other.stdout.readline().strip() == "locked"
        assert lock_is_held(state_dir)
        with pytest.raises(AlreadyRunningError) as info:
            RunLock(state_dir).acquire()
        assert f"already running (pid {other.pid})" in info.value.message
        assert "devkit down" in info.value.hint
    finally:
        other.kill()
        other.wait()
    assert not lock_is_held(state_dir)  # the kernel released it with the dead holder
    with RunLock(state_dir) as lock:
        assert lock.held and holder_pid(state_dir) == os.getpid()
    assert not lock_is_held(state_dir)


def test_state_file_records_pid_group_and_start_time(tmp_path: Path) -> None:
    state = RunState(tmp_path / ".devkit")
    state.record("api", pid=os.getpid(), ports=[5000], state="healthy")
    data = read_state(tmp_path / ".devkit")
    assert data is not None and data["pid"] == os.getpid()
    entry = data["components"]["api"]
    assert entry["pgid"] == os.getpgid(0) and entry["ports"] == [5000]
    assert entry["create_time"] == pytest.approx(psutil.Process().create_time())
    state.clear()
    assert read_state(tmp_path / ".devkit") is None


def test_deferred_writes_land_in_order_off_the_callers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = RunState(tmp_path / ".devkit", deferred=True)
    writers: set[str] = set()
    real = runstate._write_file

    def spy(path: Path, text: bytes) -> None:
        writers.add(threading.current_thread().name)
        real(path, text)

    monkeypatch.setattr(runstate, "_write_file", spy)
    for n in range(50):
        state.record("api", state=f"s{n}")
    state.flush()
    data = read_state(tmp_path / ".devkit")
    assert data is not None and data["components"]["api"]["state"] == "s49"  # the latest won
    assert writers == {"runstate"}  # never the caller's thread
    state.clear()
    assert read_state(tmp_path / ".devkit") is None


def test_process_start_time_is_psutils_and_none_once_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = process_start_time(child.pid)
        assert started == pytest.approx(psutil.Process(child.pid).create_time(), abs=0.01)
    finally:
        child.kill()
        child.wait()
    assert process_start_time(child.pid) is None


def _spawn_group() -> subprocess.Popen[bytes]:
    """A leader in its own group with a grandchild (like a server and its worker)."""
    code = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); print('up', flush=True); time.sleep(60)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE
    )


def test_leftovers_of_a_dead_devkit_are_found_and_stopped(tmp_path: Path) -> None:
    state_dir = tmp_path / ".devkit"
    leader = _spawn_group()
    try:
        assert leader.stdout and leader.stdout.readline().strip() == b"up"
        threading.Thread(target=leader.wait, daemon=True).start()  # reap like init would
        members = wait_for(
            lambda: (
                [p for p in psutil.process_iter() if _pgid(p.pid) == leader.pid]
                if len([p for p in psutil.process_iter() if _pgid(p.pid) == leader.pid]) == 2
                else None
            )
        )
        RunState(state_dir, pid=999_999).record("web", pid=leader.pid, ports=[])
        found = find_leftovers(state_dir)
        assert [(f.component, f.pid, f.pgid) for f in found] == [("web", leader.pid, leader.pid)]
        messages: list[str] = []
        cleaned = clean_leftovers(state_dir, timeout=5, log=messages.append)
        assert [c.component for c in cleaned] == ["web"]
        leader.wait(timeout=5)
        wait_for(
            lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members),
            what="group gone",
        )
        assert any("web" in m for m in messages)
        assert read_state(state_dir) is None
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, 9)
            leader.wait()


def test_a_reused_pid_is_not_killed(tmp_path: Path) -> None:
    state_dir = tmp_path / ".devkit"
    RunState(state_dir, pid=999_999).record(
        "web", pid=os.getpid(), pgid=os.getpgid(0), create_time=1.0
    )
    assert find_leftovers(state_dir) == []


def test_nothing_is_cleaned_while_a_devkit_holds_the_lock(tmp_path: Path) -> None:
    state_dir = tmp_path / ".devkit"
    with RunLock(state_dir):
        RunState(state_dir).record("web", pid=os.getpid())
        assert find_leftovers(state_dir) == []
        assert clean_leftovers(state_dir) == []


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
