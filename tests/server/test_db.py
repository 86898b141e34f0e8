"""server.db.connection(): dict rows, commit on success, rollback on error, 503 when down."""

from __future__ import annotations

import contextlib
import dataclasses
import select
from collections.abc import Callable

import pytest
from flask import Flask

from server import db
from server.config import Config
from server.errors import ApiError
from tests.support.ports import free_port


def test_commit_rollback_and_dict_rows(app: Flask) -> None:
    with app.app_context():
        with db.connection() as conn:
            conn.execute("INSERT INTO users (username, password_hash) VALUES ('kept', 'h')")
        with pytest.raises(RuntimeError):
            with db.connection() as conn:
                conn.execute("INSERT INTO users (username, password_hash) VALUES ('gone', 'h')")
                raise RuntimeError("undo")
        with db.connection() as conn:
            rows = conn.execute("SELECT username FROM users ORDER BY id").fetchall()
    assert rows == [{"username": "kept"}]


def test_unreachable_database_is_api_error_503(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    down = dataclasses.replace(
        server_config, database_url=f"postgresql://nobody:x@127.0.0.1:{free_port()}/none"
    )
    app = make_app(down)
    with app.app_context():
        database = db.get_database()
        with pytest.raises(ApiError) as caught:
            with database.connection(timeout=0.3):
                pass
    assert (caught.value.status, caught.value.code) == (503, "db_unavailable")


def test_connection_ended_by_the_server_is_replaced_without_an_error(
    app: Flask, server_config: Config
) -> None:
    """The pool skips the round-trip check for a connection used a moment ago, unless its
    socket has something to say: a backend the server terminated (as a restart does) is
    noticed and replaced before a request gets it."""
    import psycopg

    from tests.support.wait import wait_for

    with app.app_context():
        database = db.get_database()
        with database.connection() as conn:
            victim = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
            socket_fd = conn.pgconn.socket
        with psycopg.connect(server_config.database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (victim,))
        poller = select.poll()
        poller.register(socket_fd, select.POLLIN)
        wait_for(lambda: bool(poller.poll(0)), 10, what="the server's goodbye on the socket")
        # hold as many connections as the pool has: the victim cannot be skipped
        with contextlib.ExitStack() as stack:
            held = [
                stack.enter_context(db.connection())
                for _ in range(max(1, database.stats()["pool_size"]))
            ]
            pids = [c.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"] for c in held]
        assert victim not in pids
        assert database.stats().get("connections_lost", 0) >= 1


def test_single_statement_runs_without_a_transaction(app: Flask) -> None:
    """One read costs one round trip (no BEGIN/COMMIT); the next user of the same pooled
    connection gets a transaction again (its writes roll back on error)."""
    from psycopg.pq import TransactionStatus

    with app.app_context():
        with db.single_statement() as conn:
            conn.execute("SELECT 1").fetchone()
            assert conn.info.transaction_status == TransactionStatus.IDLE
            first = conn
        assert not first.autocommit, "back in the pool in transaction mode"
        with db.connection() as conn:
            assert not conn.autocommit
            conn.execute("SELECT 1").fetchone()
            assert conn.info.transaction_status == TransactionStatus.INTRANS
