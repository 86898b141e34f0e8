"""server.db.connection(): dict rows, commit on success, rollback on error, 503 when down."""

from __future__ import annotations

import dataclasses
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
