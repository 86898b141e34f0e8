"""GET /status against a real database, and the app starting while the database is down."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

from server.config import Config
from tests.support.ports import free_port


def test_status_ok(client: FlaskClient) -> None:
    response = client.get("/status")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["db"] == "ok"
    assert isinstance(body["version"], str) and body["version"]
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.tzinfo is not None


def test_app_starts_without_a_database_and_reports_503(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    # nothing listens on this port: the app is still created and answers
    down = dataclasses.replace(
        server_config, database_url=f"postgresql://nobody:x@127.0.0.1:{free_port()}/none"
    )
    client = make_app(down).test_client()
    response = client.get("/status")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["db"]) == ("degraded", "down")
    assert "timestamp" in body and "version" in body
