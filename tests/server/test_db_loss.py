"""Database loss at process level: `python -m server` keeps running while PostgreSQL stops,
answers /status 503, and recovers to 200 when PostgreSQL is back, without a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server import migrations
from tests.support.live_server import LiveServer, server_env
from tests.support.pg import ThrowawayCluster, started_cluster
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow  # stops and restarts a PostgreSQL server


@pytest.fixture
def own_cluster() -> Iterator[ThrowawayCluster]:
    """A cluster of this test's own: it is stopped and started (never the session cluster)."""
    with started_cluster() as cluster:
        yield cluster


def test_status_follows_the_database(
    own_cluster: ThrowawayCluster, tmp_path: Path, run_server: Callable[..., LiveServer]
) -> None:
    url = own_cluster.url(own_cluster.create_database())
    migrations.apply_pending(url)
    server = run_server(server_env(url, tmp_path / "logs"))
    server.wait_listening()
    pid = server.proc.pid
    wait_for(lambda: server.status_code() == 200, 20, what="/status 200 at start")

    own_cluster.stop()
    wait_for(lambda: server.status_code() == 503, 30, what="/status 503 with the database down")
    body = server.http.get("/status").json()
    assert (body["status"], body["db"]) == ("degraded", "down")
    # other routes that need the database fail cleanly too (503 JSON, not 500)
    response = server.http.post(
        "/api/v1/auth/login", json={"username": "someone", "password": "whatever-123"}
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "db_unavailable"

    own_cluster.start()
    wait_for(lambda: server.status_code() == 200, 30, what="/status 200 after the restart")
    assert server.proc.poll() is None and server.proc.pid == pid
    assert server.http.get("/status").json()["db"] == "ok"


def test_starts_while_the_database_is_down(
    own_cluster: ThrowawayCluster, tmp_path: Path, run_server: Callable[..., LiveServer]
) -> None:
    url = own_cluster.url(own_cluster.create_database())
    migrations.apply_pending(url)
    own_cluster.stop()
    server = run_server(server_env(url, tmp_path / "logs"))
    server.wait_listening()
    assert server.status_code() == 503
    own_cluster.start()
    wait_for(lambda: server.status_code() == 200, 30, what="/status 200 once the database is up")
    assert server.proc.poll() is None
