"""The app's PostgreSQL pool: opened without waiting, so the API starts while the database is down.

psycopg_pool keeps reconnecting in the background; `check=` tests each connection as it is
handed out, so connections broken by a database restart are replaced, not returned to callers.
The check costs a round trip only for a connection idle longer than RECHECK_IDLE_S (a dropped
network sends nothing) or whose socket has something to read while idle (a restarting or
terminating server sends its FATAL message and closes): a busy API does not pay a round trip
per request.
A short reconnect_timeout makes the pool give up its backoff quickly, after which the next
request starts a fresh connection attempt at once (recovery does not wait minutes).
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from psycopg import Connection, OperationalError
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from server.errors import db_unavailable

CONNECT_TIMEOUT_S = 3  # TCP connect to PostgreSQL (a black-holed host fails this fast)
REQUEST_WAIT_S = 5.0  # a request waits this long for a pooled connection
PROBE_WAIT_S = 1.0  # /status waits this long
RECONNECT_TIMEOUT_S = 4.0  # background backoff gives up after this; next request retries
RECHECK_IDLE_S = 2.0  # a connection idle longer than this is checked with a round trip
EXTENSION = "aios_db"

_last_used: weakref.WeakKeyDictionary[Connection[Any], float] = weakref.WeakKeyDictionary()


def mark_used(conn: Connection[Any]) -> None:
    """Note when a request last used the connection (not a pool `reset=` hook: with one the
    pool hands every returned connection to a worker thread, a thread switch per request)."""
    _last_used[conn] = time.monotonic()


def check_connection(conn: Connection[Any]) -> None:
    """The pool's check: raise if `conn` is not usable; a round trip only when in doubt."""
    used = _last_used.get(conn)
    if (
        used is not None
        and time.monotonic() - used < RECHECK_IDLE_S
        and not conn.broken
        and not _has_input(conn)
    ):
        return
    ConnectionPool.check_connection(conn)


def configure(conn: Connection[Any]) -> None:
    """A new connection's session speaks UTC. psycopg gives a session named exactly 'UTC'
    datetime.timezone.utc; any other name ('Etc/UTC', initdb's usual choice) a ZoneInfo,
    whose conversions made reading a page of notes ~20% slower. Timestamps are the same
    instants either way; the API writes them with a +00:00 offset."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def _has_input(conn: Connection[Any]) -> bool:
    """An idle connection's socket is quiet; readable means a server message (e.g. FATAL:
    terminating connection) or a closed socket."""
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - a closed pgconn: let the full check say
        return True


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
            configure=configure,
            check=check_connection,
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
                try:
                    yield conn
                finally:
                    mark_used(conn)
        except PoolTimeout as exc:
            raise db_unavailable() from exc

    @contextmanager
    def single_statement(self, timeout: float | None = None) -> Iterator[Connection[Any]]:
        """connection() in autocommit mode, for one read-only statement (see the module's
        single_statement). getconn/putconn directly: an autocommit connection has nothing to
        commit or roll back, and the context managers around it were ~5% of a list request."""
        pool = self.pool
        try:
            conn = pool.getconn(timeout)
        except PoolTimeout as exc:
            raise db_unavailable() from exc
        try:
            conn.autocommit = True
            yield conn
        finally:
            mark_used(conn)
            # back to transactions for the next user (a broken one is discarded by the pool)
            if conn.info.transaction_status == TransactionStatus.IDLE:
                conn.autocommit = False
            pool.putconn(conn)

    def ping(self, timeout: float = PROBE_WAIT_S) -> bool:
        """True when a working connection can be had within `timeout`: one round trip on it
        (health probes must notice a database that vanished without closing the socket)."""
        try:
            with self.pool.connection(timeout=timeout) as conn:
                ConnectionPool.check_connection(conn)
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


@contextmanager
def single_statement() -> Iterator[Connection[Any]]:
    """A pooled connection in autocommit mode, for one read-only statement: it is its own
    transaction, so no BEGIN and COMMIT round trips (a request's read costs one round trip).
    Use connection() for anything that writes or runs more than one statement."""
    with get_database().single_statement() as conn:
        yield conn
