"""The doctor's data: a check result, and the context every check reads its facts from.

Checks are plain functions `check(ctx) -> CheckResult | list[CheckResult]`. Everything they
observe about the machine (clock, disk usage, versions, Docker, run state, LAN address) comes
through the context, so a test injects a fault by passing a different reading, not by patching.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Literal, NamedTuple

from devkit.host import pgcluster
from devkit.settings.config import Settings

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


class LanReading(NamedTuple):
    host: str
    detail: str
    phones_can_reach: bool = True


class RunReading(NamedTuple):
    """What .devkit/ says: is a `devkit up` alive (holds the lock), and its processes."""

    running: bool
    pids: dict[int, str]  # pid -> component ("devkit" for devkit itself)
    pgids: dict[int, str]  # process group -> component


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def run_version(argv: list[str]) -> str | None:
    """First line of `argv` (e.g. node --version), None when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def docker_engine(root: Path) -> str | None:
    """'Docker 20.10.x at unix://...' when an engine answers, else None."""
    from devkit.host.docker import docker_client, docker_host

    client = docker_client(root)
    if client is None:
        return None
    try:
        version = client.version().get("Version", "?")
    except Exception:  # noqa: BLE001
        version = "?"
    finally:
        client.close()
    return f"Docker {version} at {docker_host(root) or 'the default socket'}"


def read_run_state(settings: Settings) -> RunReading:
    """devkit's own processes from .devkit/runstate.json (devkit.core.runstate)."""
    try:
        from devkit.core import runstate
    except ImportError:
        return RunReading(False, {}, {})
    state = runstate.read_state(settings.state_dir) or {}
    pids: dict[int, str] = {}
    pgids: dict[int, str] = {}
    if isinstance(state.get("pid"), int):
        pids[state["pid"]] = "devkit"
    for name, entry in (state.get("components") or {}).items():
        if isinstance(entry, dict):
            if isinstance(entry.get("pid"), int):
                pids[entry["pid"]] = str(name)
            if isinstance(entry.get("pgid"), int):
                pgids[entry["pgid"]] = str(name)
    return RunReading(runstate.lock_is_held(settings.state_dir), pids, pgids)


def detect_lan(settings: Settings) -> LanReading | None:
    """devkit.reach.lan's choice (it honours DEVKIT_LAN_HOST); None when it finds nothing."""
    try:
        from devkit.reach import lan as net
    except ImportError:
        forced = settings.env_value("DEVKIT_LAN_HOST")
        return LanReading(forced, "DEVKIT_LAN_HOST in .env") if forced else None
    try:
        choice = net.detect_lan(
            settings.env, api_port=settings.api_port, metro_port=settings.metro_port
        )
    except Exception:  # noqa: BLE001 - a detection failure means "none found"
        return None
    if not choice or not choice.host:
        return None
    where = f"{choice.interface}: " if choice.interface else ""
    return LanReading(choice.host, f"{where}{choice.reason}", choice.phones_can_reach)


@dataclass
class DoctorContext:
    """The facts checks read. Defaults observe this machine; tests pass their own."""

    settings: Settings
    now: datetime = field(default_factory=datetime.now)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    python_version: tuple[int, int, int] = tuple(sys.version_info[:3])  # type: ignore[assignment]
    dist_version: Callable[[str], str | None] = installed_version
    version_of: Callable[[list[str]], str | None] = run_version
    disk_usage: Callable[[Path], DiskUsage] = lambda p: DiskUsage(*shutil.disk_usage(p))
    docker: Callable[[], str | None] | None = None
    pg_bindir: Callable[[], Path | None] = pgcluster.find_bindir
    run_state: Callable[[], RunReading] | None = None
    lan: Callable[[], LanReading | None] | None = None
    timeout: float = 2.0
    config_error: str | None = None  # settings could not be read: .env checks skip

    def __post_init__(self) -> None:
        if self.docker is None:
            self.docker = lambda: docker_engine(self.settings.root)
        if self.run_state is None:
            self.run_state = lambda: read_run_state(self.settings)
        if self.lan is None:
            self.lan = lambda: detect_lan(self.settings)
