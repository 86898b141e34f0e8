"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free 127.0.0.1 port.

Works as root (the server runs as an unprivileged user, see devkit.host.pgcluster.server_user).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from devkit.host import pgcluster
from tests.support.ports import free_port

USER = "devkit_test"


class ThrowawayCluster:
    def __init__(self) -> None:
        bindir = pgcluster.find_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL binaries: " + pgcluster.INSTALL_HINT)
        self.bindir = bindir
        self.run_as = pgcluster.server_user()
        self.base = Path(tempfile.mkdtemp(prefix="devkit-pg-"))
        self.datadir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.base / "postgres.log"

    # -- lifecycle -----------------------------------------------------------------------
    def init(self) -> ThrowawayCluster:
        self.socket_dir.mkdir(parents=True)
        self.run_as.chown(self.base)
        pgcluster.make_reachable(self.base, self.run_as)
        pgcluster.initdb(self.bindir, self.datadir, USER, self.password, self.run_as)
        self.run_as.chown(self.base)
        return self

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            pgcluster.postgres_command(self.bindir, self.datadir, self.port, self.socket_dir)
            + ["-c", "fsync=off"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.run_as.popen_kwargs(),
        )
        log.close()
        pgcluster.wait_ready(self.url("postgres"), timeout=30, process=self.process)

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """SIGINT = fast shutdown; SIGKILL simulates a crash."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(mode)
        self.process.wait(timeout=30)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            sql = f'CREATE DATABASE "{name}"'
            if template:
                sql += f' TEMPLATE "{template}"'
            conn.execute(sql)
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def started_cluster() -> Iterator[ThrowawayCluster]:
    """A running throwaway cluster, destroyed afterwards; skips without PostgreSQL binaries."""
    if pgcluster.find_bindir() is None:
        pytest.skip("no PostgreSQL binaries: " + pgcluster.INSTALL_HINT)
    cluster = ThrowawayCluster().init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
