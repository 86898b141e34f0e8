"""The app's PostgreSQL pool: opened without waiting, so the API starts while the database is down.

psycopg_pool keeps reconnecting in the background; `check=` tests each connection as it is
handed out, so connections broken by a database restart are replaced, not returned to callers.
A short reconnect_timeout makes the pool give up its backoff quickly, after which the next
request starts a fresh connection attempt at once (recovery does not wait minutes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from psycopg import Connection, OperationalError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from server.errors import db_unavailable

CONNECT_TIMEOUT_S = 3  # TCP connect to PostgreSQL (a black-holed host fails this fast)
REQUEST_WAIT_S = 5.0  # a request waits this long for a pooled connection
PROBE_WAIT_S = 1.0  # /status waits this long
RECONNECT_TIMEOUT_S = 4.0  # background backoff gives up after this; next request retries
EXTENSION = "aios_db"


class Database:
    """One pool per app, created on first use (create_app never touches the network)."""

    def __init__(self, conninfo: str, min_size: int, max_size: int) -> None:
        self.conninfo = conninfo
        self.min_size = min_size
        self.max_size = max_size
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = self._make_pool()
        return self._pool

    def open(self) -> None:
        """Start connecting in the background; returns at once."""
        self.pool  # noqa: B018 - creating it opens it

    def _make_pool(self) -> ConnectionPool:
        return ConnectionPool(
            self.conninfo,
            min_size=self.min_size,
            max_size=self.max_size,
            kwargs={
                "row_factory": dict_row,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": "aios-api",
            },
            open=True,  # non-blocking: wait() is never called
            check=ConnectionPool.check_connection,
            timeout=REQUEST_WAIT_S,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            name="aios",
        )

    def stats(self) -> dict[str, int]:
        if self._pool is None:
            return {
                "pool_min": self.min_size,
                "pool_max": self.max_size,
                "pool_size": 0,
                "pool_available": 0,
                "requests_waiting": 0,
            }
        return dict(self._pool.get_stats())

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Connection[Any]]:
        try:
            with self.pool.connection(timeout=timeout) as conn:
                yield conn
        except PoolTimeout as exc:
            raise db_unavailable() from exc

    def ping(self, timeout: float = PROBE_WAIT_S) -> bool:
        """True when a working connection can be had within `timeout` (the pool's check ran)."""
        try:
            with self.pool.connection(timeout=timeout):
                pass  # the pool's check already made a round trip on this connection
            return True
        except (PoolTimeout, OperationalError):
            return False

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close(timeout=2.0)
                self._pool = None


def init_app(app: Flask, conninfo: str, min_size: int, max_size: int) -> Database:
    database = Database(conninfo, min_size, max_size)
    app.extensions[EXTENSION] = database
    return database


def get_database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION]


@contextmanager
def connection() -> Iterator[Connection[Any]]:
    """A pooled connection (dict rows): committed on normal exit, rolled back on exception.

    Raises ApiError(503, "db_unavailable") when no working connection can be had.
    """
    with get_database().connection() as conn:
        yield conn
