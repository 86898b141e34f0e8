"""Shared fixtures: a real throwaway PostgreSQL cluster per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit import pgcluster
from tests.support.pg import ThrowawayCluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster]:
    if pgcluster.find_bindir() is None:
        pytest.skip("no PostgreSQL binaries: " + pgcluster.INSTALL_HINT)
    cluster = ThrowawayCluster().init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: ThrowawayCluster) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)
