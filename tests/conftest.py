"""Shared fixtures: a real throwaway PostgreSQL cluster per test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.live_server import LiveServer
from tests.support.pg import ThrowawayCluster, started_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster]:
    with started_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: ThrowawayCluster) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(scope="session")
def migrated_template(pg_cluster: ThrowawayCluster) -> str:
    """A database with every server migration applied, created once per session as a template."""
    from server import migrations

    name = pg_cluster.create_database("aios_migrated_template")
    migrations.apply_pending(pg_cluster.url(name))
    return name


@pytest.fixture
def migrated_url(pg_cluster: ThrowawayCluster, migrated_template: str) -> Iterator[str]:
    """A fresh database with the schema in place (a copy of the template: no migration run)."""
    name = pg_cluster.create_database(template=migrated_template)
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def run_server() -> Iterator[Callable[..., LiveServer]]:
    """Start `python -m server` children with a given environment; all stopped at teardown."""
    servers: list[LiveServer] = []

    def start(env: dict[str, str]) -> LiveServer:
        server = LiveServer(env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
