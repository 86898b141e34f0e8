"""The native PostgreSQL backend under the real supervisor: a real cluster in .devkit/postgres.

Start to healthy, data across stop/start, kill -9 -> restarted with committed data, a stale
postmaster.pid, a server left running by a killed devkit, running as root, backend choice.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import psutil
import psycopg
import pytest

from devkit.core.events import State
from devkit.core.supervisor import Supervisor
from devkit.errors import BackendUnavailableError, DevkitError
from devkit.host import pgcluster
from devkit.services.postgres import choose_backend, make_postgres_service
from devkit.services.postgres_native import NativePostgresService
from tests.integration.supervisor_helpers import Harness, settings
from tests.support.ports import free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.skipif(
    pgcluster.find_bindir() is None, reason="no PostgreSQL binaries: " + pgcluster.INSTALL_HINT
)

PASSWORD = "s3cret-pw_for-tests"


def pg_settings(tmp_path: Path, port: int | None = None, dbname: str = "aios_app", **values):
    port = port or free_port()
    env = {
        "POSTGRES_USER": "aios",
        "POSTGRES_PASSWORD": PASSWORD,
        "POSTGRES_DB": dbname,
        "POSTGRES_PORT": str(port),
        "DATABASE_URL": f"postgresql://aios:{PASSWORD}@127.0.0.1:{port}/{dbname}",
    }
    values.setdefault("db_backend", "native")
    return settings(tmp_path, env=env, components=("postgres",), **values)


def url_of(s) -> str:
    return s.env["DATABASE_URL"]


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def supervisor(s) -> Supervisor:
    plan_service = make_postgres_service(s, choose_backend(s, "native"))
    assert isinstance(plan_service, NativePostgresService)
    return Supervisor(s, [plan_service], network=False)


def server_processes(datadir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == "postgres" and str(datadir) in cmd:
            found.append(proc)
    return found


@pytest.mark.slow
async def test_start_to_healthy_creates_cluster_and_database(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    datadir = s.state_dir / "postgres"
    async with Harness(supervisor(s)) as h:
        status = await h.state("postgres", State.HEALTHY, timeout=60)
        assert status.backend == "postgres · native"
        assert status.ports == (s.postgres_port,) and status.pid
        assert (datadir / "PG_VERSION").is_file()
        assert query(url_of(s), "SELECT current_database(), current_user") == [("aios_app", "aios")]
        # scram-sha-256 with the .env password: a wrong password is refused
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            query(url_of(s).replace(PASSWORD, "wrong"), "SELECT 1")
        # 127.0.0.1 only, no unix socket
        server = psutil.Process(status.pid)
        listening = [
            c.laddr for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
        assert server.net_connections(kind="unix") == []
        if os.geteuid() == 0:  # PostgreSQL refuses root: it runs as `postgres` and owns the data
            owner = pgcluster.server_user()
            assert server.uids().real == owner.uid
            assert datadir.stat().st_uid == owner.uid
        record = h.sup.components["postgres"].service.run_state()
        assert record["pid"] == status.pid and record["ports"] == [s.postgres_port]
    assert server_processes(datadir) == []
    assert not (datadir / "postmaster.pid").exists()  # fast shutdown finished cleanly


@pytest.mark.slow
async def test_data_survives_stop_and_start(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    async with Harness(supervisor(s)) as h:
        await h.state("postgres", State.HEALTHY, timeout=60)
        query(url_of(s), "CREATE TABLE notes (id int PRIMARY KEY, body text)")
        query(url_of(s), "INSERT INTO notes VALUES (1, 'kept')")
    async with Harness(supervisor(s)) as h:
        await h.state("postgres", State.HEALTHY, timeout=30)
        assert query(url_of(s), "SELECT body FROM notes") == [("kept",)]
        logs = "\n".join(line.text for line in h.sup.logs("postgres"))
        assert "initdb" not in logs  # the cluster is created once


@pytest.mark.slow
async def test_kill_9_is_restarted_with_committed_data(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    async with Harness(
        Supervisor(s, [NativePostgresService(s)], network=False, backoff_initial=0.05)
    ) as h:
        first = await h.state("postgres", State.HEALTHY, timeout=60)
        query(url_of(s), "CREATE TABLE t (v text)")
        query(url_of(s), "INSERT INTO t VALUES ('committed')")
        os.kill(first.pid, signal.SIGKILL)
        again = await h.until(
            lambda: (
                (st := h.status("postgres")).state == State.HEALTHY and st.pid != first.pid and st
            ),
            timeout=60,
            what="postgres healthy again with a new pid",
        )
        assert again.restarts == 1
        assert query(url_of(s), "SELECT v FROM t") == [("committed",)]
        assert State.CRASHED in [state for _, state in h.transitions("postgres")]


async def test_stale_postmaster_pid_is_ignored(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    svc = NativePostgresService(s)
    svc.ensure_cluster()
    # a postmaster.pid naming a live process that is not PostgreSQL (pid reuse after a crash)
    sleeper = subprocess.Popen(["sleep", "60"], **pgcluster.server_user().popen_kwargs())
    try:
        (svc.datadir / "postmaster.pid").write_text(
            f"{sleeper.pid}\n{svc.datadir}\n1700000000\n{s.postgres_port}\n\n127.0.0.1\n"
        )
        async with Harness(Supervisor(s, [svc], network=False)) as h:
            await h.state("postgres", State.HEALTHY, timeout=30)
            assert query(url_of(s), "SELECT 1") == [(1,)]
    finally:
        sleeper.kill()
        sleeper.wait()


async def test_server_left_by_a_killed_devkit_is_replaced(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    old = NativePostgresService(s)
    old.ensure_cluster()
    leftover = subprocess.Popen(
        pgcluster.postgres_command(old.bindir, old.datadir, s.postgres_port, old.datadir)
        + ["-c", "unix_socket_directories="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **old.run_as.popen_kwargs(),
    )
    try:
        wait_for(lambda: query(url_of(s), "SELECT 1"), timeout=30, what="the leftover server")
        async with Harness(Supervisor(s, [NativePostgresService(s)], network=False)) as h:
            status = await h.state("postgres", State.HEALTHY, timeout=30)
            assert status.pid != leftover.pid
            assert leftover.wait(timeout=10) is not None
            assert query(url_of(s), "SELECT 1") == [(1,)]
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()


@pytest.mark.slow
async def test_cluster_created_early_is_joined_by_start(tmp_path: Path) -> None:
    """`up` calls prepare_early before the engine exists: initdb runs in a thread, start()
    joins it, and what it logged before there was a context reaches the log."""
    s = pg_settings(tmp_path)
    svc = make_postgres_service(s, choose_backend(s, "native"))
    svc.prepare_early()
    async with Harness(Supervisor(s, [svc], network=False)) as h:
        await h.state("postgres", State.HEALTHY, timeout=60)
        lines = [line.text for line in h.sup.logs("postgres")]
        assert any("creating the PostgreSQL cluster" in text for text in lines)
        assert any("created database aios_app" in text for text in lines)
        assert query(url_of(s), "SELECT current_database()") == [("aios_app",)]
    assert server_processes(s.state_dir / "postgres") == []


async def test_an_early_cluster_error_is_the_start_error(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    (s.state_dir / "postgres").mkdir(parents=True)
    (s.state_dir / "postgres" / "notes.txt").write_text("mine")
    svc = NativePostgresService(s)
    svc.prepare_early()
    async with Harness(Supervisor(s, [svc], network=False)) as h:
        status = await h.until(
            lambda: h.status("postgres").state == State.CRASHED and h.status("postgres"),
            what="postgres crashed",
        )
        assert "not a PostgreSQL cluster" in status.detail
    assert (s.state_dir / "postgres" / "notes.txt").read_text() == "mine"


def test_a_folder_that_is_not_a_cluster_is_a_clear_error(tmp_path: Path) -> None:
    s = pg_settings(tmp_path)
    (s.state_dir / "postgres").mkdir(parents=True)
    (s.state_dir / "postgres" / "notes.txt").write_text("mine")
    with pytest.raises(DevkitError, match="not a PostgreSQL cluster") as info:
        NativePostgresService(s).ensure_cluster()
    assert "rm -rf" in info.value.hint


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (devkit running as root)")
def test_root_cluster_in_a_private_folder_is_reachable(tmp_path: Path) -> None:
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    s = pg_settings(private)
    svc = NativePostgresService(s)
    assert svc.ensure_cluster() is True
    assert svc.ensure_cluster() is False  # created once
    owner = pwd.getpwuid((svc.datadir).stat().st_uid).pw_name
    assert owner == pgcluster.server_user().name != "root"
    assert not (svc.datadir.parent / "postgres.initdb").exists()


# --- backend choice ------------------------------------------------------------------------------
def test_auto_without_docker_engine_chooses_native(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    choice = choose_backend(pg_settings(tmp_path, db_backend="auto"))
    assert choice.kind == "native"
    assert "no Docker engine" in choice.reason and "binaries" in choice.reason


def test_neither_backend_names_both_fixes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    s = pg_settings(tmp_path, db_backend="auto")
    with pytest.raises(BackendUnavailableError) as info:
        choose_backend(s, bindir_lookup=lambda: None)
    assert "Docker" in info.value.hint and "install PostgreSQL" in info.value.hint
    with pytest.raises(BackendUnavailableError, match="db backend docker") as forced:
        choose_backend(s, "docker")
    assert "--db-backend native" in forced.value.hint
    with pytest.raises(BackendUnavailableError, match="no PostgreSQL server binaries"):
        choose_backend(s, "native", bindir_lookup=lambda: None)


async def test_known_database_is_healthy_on_ready_and_credentials_are_rechecked(
    tmp_path: Path,
) -> None:
    """The second start trusts 'ready' for a database devkit created with these credentials
    (no psycopg on the start-up path); changed credentials go through the real check again."""
    s = pg_settings(tmp_path)
    marker = s.state_dir / "postgres.verified"
    async with Harness(supervisor(s)) as h:
        await h.state("postgres", State.HEALTHY, timeout=60)
    assert marker.is_file() and PASSWORD not in marker.read_text()
    async with Harness(supervisor(s)) as h:
        await h.state("postgres", State.HEALTHY, timeout=30)
        svc = h.sup.components["postgres"].service
        assert isinstance(svc, NativePostgresService) and svc._verified()
        assert query(url_of(s), "SELECT current_database()") == [("aios_app",)]
    env = {k: v.replace(PASSWORD, "changed-pw") for k, v in s.env.items()}
    other = replace(s, env=env)
    svc = NativePostgresService(other)
    assert not svc._verified()
    async with Harness(Supervisor(other, [svc], network=False)) as h:
        await h.until(
            lambda: "created with other credentials" in h.status("postgres").detail,
            timeout=30,
            what="the credentials hint",
        )
