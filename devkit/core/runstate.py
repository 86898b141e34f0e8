"""`.devkit/`: the run lock and the state file of a running `devkit up`.

The lock (fcntl.flock on .devkit/devkit.lock) is held for the whole life of `devkit up`; the
kernel drops it when devkit dies, even by kill -9, so "lock free + state file present" means
leftovers. The state file (.devkit/runstate.json, replaced atomically) records devkit's pid and,
per component, pid, process group, process start time (so a reused pid is never killed),
container id, ports and the last known status, for `devkit status` and for cleanup.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.errors import AlreadyRunningError
from devkit.host.docker import open_client

LOCK_NAME = "devkit.lock"
STATE_NAME = "runstate.json"


def process_start_time(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch, psutil's create_time), None if gone.

    Recorded at every component start, so on `up`'s start path: on Linux it is read from
    /proc as psutil computes it, sparing psutil's import there (~25 ms, ~0.15 s without
    bytecode)."""
    if sys.platform.startswith("linux"):
        try:
            return _linux_start_time(pid)
        except (OSError, ValueError, IndexError):
            return None
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return None


_boot_time: float | None = None


def _linux_start_time(pid: int) -> float:
    """psutil's Linux formula: /proc/PID/stat starttime (clock ticks since boot) + btime."""
    global _boot_time
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rpartition(b")")[2].split()
    if _boot_time is None:
        with open("/proc/stat", "rb") as f:
            line = next(x for x in f if x.startswith(b"btime"))
        _boot_time = float(line.split()[1])
    return int(fields[19]) / os.sysconf("SC_CLK_TCK") + _boot_time


class RunLock:
    """An exclusive, non-blocking lock; `acquire` raises AlreadyRunningError naming the pid."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder_pid(self.state_dir)
            who = f" (pid {pid})" if pid else ""
            raise AlreadyRunningError(
                f"devkit is already running{who} for {self.state_dir.parent}",
                "use that one (its dashboard or `devkit status`), or stop it: devkit down",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_is_held(state_dir: Path) -> bool:
    """True while some `devkit up` holds the lock (checked without taking it for long)."""
    path = state_dir / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases our probe lock
    return False


def holder_pid(state_dir: Path) -> int | None:
    try:
        text = (state_dir / LOCK_NAME).read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        state = read_state(state_dir)
        return state.get("pid") if state else None


# --- the state file ----------------------------------------------------------------------------
def read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class RunState:
    """The state file of the running devkit; components update it as they start and stop."""

    state_dir: Path
    pid: int = field(default_factory=os.getpid)
    started_at: float = field(default_factory=time.time)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # lan host, targets, ...
    # write on a thread of its own (`devkit up`'s loop): see _Writer; flush() waits for it
    deferred: bool = False
    _writer: _Writer | None = field(default=None, init=False, repr=False)

    @property
    def path(self) -> Path:
        return self.state_dir / STATE_NAME

    def record(self, component: str, **values: Any) -> None:
        """Merge values for a component (pid -> pgid and start time added); write the file."""
        entry = self.components.setdefault(component, {})
        pid = values.get("pid")
        if "pid" in values and not pid:  # stopped: forget the group, its id may be reused
            values.update(pgid=None, create_time=None)
        if pid and pid != entry.get("pid"):
            try:
                values.setdefault("pgid", os.getpgid(pid))
            except ProcessLookupError:
                values.setdefault("pgid", pid)
            values.setdefault("create_time", process_start_time(pid))
        entry.update(values)
        self.write()

    def write(self) -> None:
        data = {
            "pid": self.pid,
            "started_at": self.started_at,
            "components": self.components,
            **self.extra,
        }
        text = json.dumps(data, indent=1, default=str).encode()
        if not self.deferred:
            _write_file(self.path, text)
            return
        if self._writer is None:
            self._writer = _Writer(self.path)
        self._writer.submit(text)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until what was written is in the file."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def clear(self) -> None:
        self.flush()
        self.path.unlink(missing_ok=True)


def _write_file(path: Path, text: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(text)
    os.replace(tmp, path)


class _Writer:
    """Writes the state file on its own thread, the latest content winning.

    Why: replacing a file costs 1-2 ms on ext4 (a rename over an existing file flushes its
    data first), and a reload changes a component's state about five times: ~6 ms of the
    event loop's time between a save and the new code served. Serialising stays on the
    caller's thread, so the file always holds one consistent moment.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cond = threading.Condition()
        self.pending: bytes | None = None
        self.busy = False
        self.thread: threading.Thread | None = None

    def submit(self, text: bytes) -> None:
        with self.cond:
            self.pending = text
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="runstate", daemon=True)
                self.thread.start()
            self.cond.notify_all()

    def flush(self, timeout: float) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.pending is None and not self.busy, timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.pending is not None)
                text, self.pending, self.busy = self.pending, None, True
            try:
                _write_file(self.path, text or b"")
            except OSError:
                pass  # as before: a state file that cannot be written is not fatal
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()


# --- leftovers of a devkit that was killed ------------------------------------------------------
@dataclass(frozen=True)
class Leftover:
    component: str
    pid: int | None
    pgid: int | None
    container_id: str | None
    docker_host: str = ""  # the engine that runs container_id ("" = the default one)


def _leader(entry: dict[str, Any]) -> str:
    """ "alive" (same process), "gone" (no such pid) or "reused" (another process has the pid)."""
    pid = entry.get("pid")
    if not pid:
        return "gone"
    started = process_start_time(pid)
    if started is None:
        return "gone"
    recorded = entry.get("create_time")
    if recorded is None or abs(started - float(recorded)) < 1.0:
        return "alive"
    return "reused"


def _group_alive(pgid: int) -> bool:
    if pgid == os.getpgid(0):  # never our own group
        return False
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def find_leftovers(state_dir: Path, locked_by_us: bool = False) -> list[Leftover]:
    """What a dead devkit recorded that still runs. Empty while another devkit holds the lock."""
    if not locked_by_us and lock_is_held(state_dir):
        return []
    state = read_state(state_dir) or {}
    found = []
    for name, entry in (state.get("components") or {}).items():
        pgid = entry.get("pgid") or entry.get("pid")
        leader = _leader(entry)
        pid_alive = leader == "alive"
        # The leader may be gone while its group lives on (workers, grandchildren). A pid is
        # never handed out while a group with that id exists, so "reused" means the group died.
        group_alive = bool(pgid) and (pid_alive or (leader == "gone" and _group_alive(pgid)))
        if pid_alive or group_alive or entry.get("container_id"):
            found.append(
                Leftover(
                    name,
                    entry.get("pid") if pid_alive else None,
                    pgid if group_alive else None,
                    entry.get("container_id"),
                    entry.get("docker_host") or "",
                )
            )
    return found


def _stop_container(container_id: str, timeout: float, host: str = "") -> str:
    try:
        from docker.errors import DockerException, NotFound
    except ImportError:
        return f"container {container_id[:12]}: docker SDK missing, not stopped"
    try:
        wait = max(int(timeout) + 5, 10)
        client = open_client(host, wait)
        try:
            container = client.containers.get(container_id)
        except NotFound:
            return ""
        if container.status != "running":
            return ""
        container.stop(timeout=int(timeout))
        return f"stopped container {container.name} ({container_id[:12]})"
    except DockerException as exc:
        return f"container {container_id[:12]} not stopped: {exc}"


def clean_leftovers(
    state_dir: Path,
    timeout: float = 10.0,
    log: Callable[[str], None] = lambda text: None,
    locked_by_us: bool = False,
    strict: bool = False,
) -> list[Leftover]:
    """Stop what a killed devkit left: SIGTERM to each group, SIGKILL after `timeout`.
    strict: a container that cannot be stopped is an error (and the state file is kept)."""
    if not locked_by_us and lock_is_held(state_dir):
        return []
    leftovers = find_leftovers(state_dir, locked_by_us=True)
    groups = [item for item in leftovers if item.pgid]
    for item in groups:
        assert item.pgid is not None
        log(f"stopping {item.component} left by a previous devkit (process group {item.pgid})")
        try:
            os.killpg(item.pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    while groups and time.monotonic() < deadline:
        groups = [item for item in groups if _group_alive(item.pgid or 0)]
        if groups:
            time.sleep(0.02)
    for item in groups:
        log(f"{item.component} did not stop in {timeout:g}s: SIGKILL to group {item.pgid}")
        try:
            os.killpg(item.pgid or 0, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    failed = []
    for item in leftovers:
        if item.container_id:
            message = _stop_container(item.container_id, timeout, item.docker_host)
            if message:
                log(message)
            if " not stopped" in message:
                failed.append(item)
    if failed and strict:  # keep the state file: it is the only record of the container
        from devkit.errors import DevkitError

        raise DevkitError(
            f"{len(failed)} container(s) left by a killed devkit are still "
            "running and could not be stopped",
            "start the Docker engine that runs them (or set DOCKER_HOST) and run devkit down again",
        )
    (state_dir / STATE_NAME).unlink(missing_ok=True)
    return leftovers
