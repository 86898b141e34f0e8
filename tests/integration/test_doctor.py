"""`devkit doctor` on a healthy stack (real PostgreSQL, a stand-in API on a free port), then with
one fault injected at a time: each gives the right failing check and fix."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devkit.core import runstate
from devkit.dbtools import select_tools
from devkit.dbtools.backup import backup_database
from devkit.dbtools.target import DbTarget
from devkit.doctor import (
    CheckResult,
    DiskUsage,
    DoctorContext,
    LanReading,
    by_name,
    run_checks,
)
from devkit.settings.config import load_settings
from server import migrations
from tests.support.pg import ThrowawayCluster
from tests.support.ports import free_port
from tests.support.wait import wait_for

STAND_IN = r"""
import http.server, json, sys
status, body = int(sys.argv[2]), sys.argv[3].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status if self.path == "/status" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

PYPROJECT = """\
[project]
name = "aios-app"
version = "0"
requires-python = ">=3.11"
dependencies = ["flask>=3.0,<4", "psycopg[binary]>=3.1,<4", "httpx>=0.27,<1",
                "pywin32>=300; sys_platform == 'win32'"]
"""


def stand_in(
    port: int, status: int = 200, body: str = '{"status": "ok", "db": "ok"}'
) -> subprocess.Popen:
    # its own process group, like every child devkit starts
    proc = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, str(port), str(status), body], start_new_session=True
    )
    import socket

    def up() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(up, timeout=15, what=f"stand-in server on {port}")
    return proc


@dataclass
class Project:
    root: Path
    cluster: ThrowawayCluster
    url: str
    env: dict[str, str]
    children: list[subprocess.Popen] = field(default_factory=list)
    lock: runstate.RunLock | None = None

    def write_env(self, **changes: str | None) -> None:
        values = {**self.env, **changes}
        text = "".join(f"{k}={v}\n" for k, v in values.items() if v is not None)
        path = self.root / ".env"
        path.write_text(text)
        os.chmod(path, 0o600)

    def context(self, **readings) -> DoctorContext:
        readings.setdefault("disk_usage", lambda _p: DiskUsage(100, 40, 60))
        # tests reach only loopback: the LAN address is a reading pointing there
        readings.setdefault("lan", lambda: LanReading("127.0.0.1", "test: loopback as LAN"))
        return DoctorContext(load_settings(self.root), **readings)

    def check(self, **readings) -> dict[str, CheckResult]:
        return by_name(run_checks(self.context(**readings)))

    def record_devkit_run(self, **pids: int) -> None:
        """What a running `devkit up` leaves in .devkit/: the held lock and runstate.json."""
        self.lock = runstate.RunLock(self.root / ".devkit")
        self.lock.acquire()
        # devkit's own pid: not pytest's (the foreign listeners are pytest's children too)
        state = runstate.RunState(self.root / ".devkit", pid=next(iter(pids.values())))
        for component, pid in pids.items():
            state.record(component, pid=pid)


@pytest.fixture
def project(tmp_path: Path, pg_cluster: ThrowawayCluster, pg_url: str) -> Iterator[Project]:
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    target = DbTarget.from_url(pg_url)
    migrations.apply_pending(pg_url)
    api_port = free_port()
    env = {
        "APP_ENV": "development",
        "PORT": str(api_port),
        "METRO_PORT": str(free_port()),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_DB": target.dbname,
        "POSTGRES_PORT": str(target.port),
        "DATABASE_URL": pg_url,
        "BACKUP_DIR": "backups",
    }
    proj = Project(root, pg_cluster, pg_url, env)
    proj.write_env()
    backup_database(target, select_tools(target, find_container=lambda: None), root / "backups")
    api = stand_in(api_port)
    proj.children.append(api)
    assert pg_cluster.process is not None
    proj.record_devkit_run(api=api.pid, postgres=pg_cluster.process.pid)
    try:
        yield proj
    finally:
        if proj.lock is not None:
            proj.lock.release()
        for child in proj.children:
            child.kill()
            child.wait()


# no client/ folder, Metro not running
HEALTHY_NOT_PASS = {"node": "skip", "client-deps": "skip", "metro": "skip"}


def expected_healthy() -> dict[str, str]:
    names = [
        "python",
        "dependencies",
        "node",
        "client-deps",
        "postgres-backend",
        "env-file",
        "env-required",
        "env-secrets",
        "env-mode",
        "database",
        "schema",
        "api",
        "metro",
        "port-api",
        "port-metro",
        "port-postgres",
        "lan",
        "disk",
        "backups",
    ]
    return {name: HEALTHY_NOT_PASS.get(name, "pass") for name in names}


def test_healthy_stack_passes(project: Project) -> None:
    results = project.check()
    assert {name: r.status for name, r in results.items()} == expected_healthy(), results
    assert "answers" in results["database"].detail
    assert project.env["POSTGRES_PASSWORD"] not in json.dumps(
        [r.as_dict() for r in results.values()]
    )
    assert "held by devkit's api" in results["port-api"].detail
    assert "held by devkit's postgres" in results["port-postgres"].detail
    assert "the API answers at http://127.0.0.1:" in results["lan"].detail


def test_database_stopped(project: Project) -> None:
    own = ThrowawayCluster().init()
    own.start()
    try:
        url = own.url(own.create_database())
        project.write_env(DATABASE_URL=url, POSTGRES_PORT=str(own.port))
        assert project.check()["database"].status == "pass"
        own.stop()
        results = project.check()
    finally:
        own.destroy()
    assert results["database"].status == "fail"
    assert results["database"].detail.endswith(
        f"127.0.0.1:{own.port}/{url.rsplit('/', 1)[1]}: Connection refused"
    )
    assert results["database"].fix.startswith("start it: devkit up")
    assert own.password not in results["database"].detail
    assert results["schema"].status == "skip"
    assert results["port-postgres"].status == "pass"  # the stopped server freed its port


def test_env_missing_a_variable(project: Project) -> None:
    project.write_env(JWT_SECRET=None)
    result = project.check()["env-required"]
    assert result.status == "fail"
    assert result.detail == "not set in .env: JWT_SECRET"
    assert result.fix == "set JWT_SECRET in .env (see .env.example for each)"


def test_env_file_missing(project: Project) -> None:
    (project.root / ".env").unlink()
    results = project.check()
    assert results["env-file"].status == "fail"
    assert "cp .env.example .env" in results["env-file"].fix
    assert results["database"].status == "fail"  # no DATABASE_URL without .env


@pytest.mark.parametrize("value", ["dev_secret_change_in_production", "short-but-random-9f3a"])
def test_weak_secret(project: Project, value: str) -> None:
    project.write_env(JWT_SECRET=value)
    result = project.check()["env-secrets"]
    assert result.status == "fail"
    assert "JWT_SECRET is a default or shorter than 32 characters" == result.detail
    assert "secrets.token_urlsafe(48)" in result.fix
    assert value not in result.detail + result.fix


def test_env_world_readable(project: Project) -> None:
    os.chmod(project.root / ".env", 0o644)
    result = project.check()["env-mode"]
    assert (result.status, result.fix) == ("fail", f"chmod 600 {project.root / '.env'}")


def test_port_held_by_a_foreign_process(project: Project) -> None:
    port = int(project.env["METRO_PORT"])
    intruder = stand_in(port, 200, "hello")
    project.children.append(intruder)
    results = project.check()
    held = results["port-metro"]
    assert held.status == "fail"
    assert held.detail == f"port {port} (metro) is held by python (pid {intruder.pid})"
    assert held.fix == f"stop it (kill {intruder.pid}) or set METRO_PORT={port + 1} in .env"
    assert results["metro"].status == "fail"  # it answers, but not as Metro
    assert results["port-api"].status == "pass"  # devkit's own API is fine


def test_port_held_without_run_state_is_foreign(project: Project) -> None:
    (project.root / ".devkit" / runstate.STATE_NAME).unlink()
    results = project.check()
    assert results["port-api"].status == "fail"
    assert "PORT=" in results["port-api"].fix


def test_port_held_by_what_a_killed_devkit_left(project: Project) -> None:
    assert project.lock is not None
    project.lock.release()  # as if devkit up died: lock gone, its API still running
    result = project.check()["port-api"]
    assert result.status == "fail"
    assert "left running by a devkit that was killed (api)" in result.detail
    assert result.fix.startswith("devkit down")


def test_lan_from_devkit_net(project: Project) -> None:
    project.write_env(DEVKIT_LAN_HOST="127.0.0.1")  # devkit.reach.lan honours it; phones cannot
    ctx = DoctorContext(load_settings(project.root), disk_usage=lambda _p: DiskUsage(1, 0, 1))
    result = by_name(run_checks(ctx))["lan"]
    assert result.status == "warn"
    assert result.detail.startswith("no LAN address found (only 127.0.0.1")
    assert "DEVKIT_LAN_HOST" in result.fix


@pytest.mark.parametrize(
    ("used", "status"), [(79, "pass"), (80, "warn"), (89, "warn"), (90, "fail"), (97, "fail")]
)
def test_disk_threshold(project: Project, used: int, status: str) -> None:
    result = project.check(
        disk_usage=lambda _p: DiskUsage(100 * 2**30, used * 2**30, (100 - used) * 2**30)
    )
    assert result["disk"].status == status
    assert result["disk"].detail.startswith(f"{used}% used, {100 - used}.0 GiB free")
    assert ("prune" in result["disk"].fix) == (status != "pass")


def test_api_degraded(project: Project) -> None:
    port = free_port()
    project.children.append(stand_in(port, 503, '{"status": "degraded", "db": "down"}'))
    project.write_env(PORT=str(port))
    result = project.check()["api"]
    assert result.status == "fail"
    assert "503" in result.detail and "db=down" in result.detail


def test_pending_migrations_fail(project: Project, pg_cluster: ThrowawayCluster) -> None:
    fresh = pg_cluster.create_database()
    try:
        project.write_env(DATABASE_URL=pg_cluster.url(fresh))
        result = project.check()["schema"]
    finally:
        pg_cluster.drop_database(fresh)
    assert result.status == "fail" and "pending migration(s)" in result.detail
    assert result.fix.startswith("devkit db push")


def test_old_backup_warns(project: Project) -> None:
    result = project.check(now=datetime.now() + timedelta(hours=30))["backups"]
    assert result.status == "warn"
    assert result.detail.startswith("newest backup is 30 h old")


@pytest.mark.slow
def test_node_readings(project: Project) -> None:
    (project.root / "client").mkdir()
    versions = {"node": "v20.11.0", "npm": "10.2.4"}
    ok = project.check(version_of=lambda argv: versions.get(argv[0]))["node"]
    assert (ok.status, ok.detail) == ("pass", "Node.js v20.11.0, npm 10.2.4")
    old = project.check(version_of=lambda argv: "v16.20.0")["node"]
    assert old.status == "fail" and "18" in old.fix
    missing = project.check(version_of=lambda argv: None)["node"]
    assert missing.status == "fail" and missing.detail.startswith("Node.js not found")


def test_dependency_and_python_readings(project: Project) -> None:
    versions = {"flask": "2.3.0", "httpx": "0.27.2"}
    results = project.check(dist_version=versions.get, python_version=(3, 10, 4))
    assert results["python"].status == "fail"
    deps = results["dependencies"]
    assert deps.status == "fail"
    assert deps.detail == "missing: psycopg; wrong version: flask 2.3.0 (needs <4,>=3.0)"


def test_backend_readings(project: Project) -> None:
    none = project.check(docker=lambda: None, pg_bindir=lambda: None)["postgres-backend"]
    assert none.status == "fail" and "Docker" in none.fix and "apt-get" in none.fix
    docker = project.check(
        docker=lambda: "Docker 20.10.24 at unix:///x.sock", pg_bindir=lambda: None
    )["postgres-backend"]
    assert docker.status == "pass" and "Docker 20.10.24" in docker.detail


@pytest.mark.slow
def test_cli_json_and_exit_code(project: Project) -> None:
    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devkit", "--root", str(project.root), "doctor", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = run()
    report = json.loads(done.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert done.returncode == (1 if "fail" in statuses.values() else 0)
    assert statuses["env-required"] == "pass" and statuses["database"] == "pass"
    assert project.env["POSTGRES_PASSWORD"] not in done.stdout + done.stderr
    project.write_env(POSTGRES_DB=None)
    done = run()
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    failing = [c for c in report["checks"] if c["status"] == "fail"]
    assert any(c["name"] == "env-required" and "POSTGRES_DB" in c["detail"] for c in failing)


def test_malformed_env_is_a_failed_check_not_a_crash(project: Project) -> None:
    env_file = project.root / ".env"
    env_file.write_text(env_file.read_text() + "this line is broken\n")
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(project.root), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    checks = json.loads(done.stdout)["checks"]
    assert checks[0]["name"] == "config" and checks[0]["status"] == "fail"
    assert "is not NAME=value" in checks[0]["detail"] and "line" in checks[0]["fix"]
    statuses = {c["name"]: c["status"] for c in checks}
    assert statuses["env-required"] == "skip" and statuses["python"] == "pass"
