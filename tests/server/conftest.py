"""Fixtures for the API server: a migrated database, a Config, an app and its test client, and
`run_server` for process-level tests (`python -m server` as a real child process)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import close_app, create_app
from server.config import Config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server_config(migrated_url: str, tmp_path: Path) -> Config:
    """A test Config on a fresh database with every migration applied."""
    return Config(
        database_url=migrated_url,
        jwt_secret=secrets.token_urlsafe(48),
        app_env="test",
        log_dir=tmp_path / "logs",
        log_level="INFO",
    )


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build apps from a Config (with optional field changes); all closed at teardown."""
    apps: list[Flask] = []

    def make(config: Config, **changes: object) -> Flask:
        app = create_app(dataclasses.replace(config, **changes) if changes else config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def app(server_config: Config, make_app: Callable[..., Flask]) -> Flask:
    return make_app(server_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
