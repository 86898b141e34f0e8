"""Fixtures for the API server: a migrated database, a Config, an app and its test client, and
`run_server` for process-level tests (`python -m server` as a real child process)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import close_app, create_app
from server.config import Config
from tests.support.ports import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server_config(migrated_url: str, tmp_path: Path) -> Config:
    """A test Config on a fresh database with every migration applied."""
    return Config(database_url=migrated_url, jwt_secret=secrets.token_urlsafe(48), app_env="test",
                  log_dir=tmp_path / "logs", log_level="INFO")


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


class LiveServer:
    """`python -m server` in its own process group, its output collected on a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_listening(self, timeout: float = 30) -> None:
        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n"
                                     + self.output)
            return any("listening on" in line for line in self.lines)
        wait_for(listening, timeout, what="python -m server to listen")

    def status_code(self) -> int:
        return self.http.get("/status").status_code

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def server_env(database_url: str, log_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("MIN_APP_VERSION", "LOG_LEVEL", "MAX_BODY_BYTES")}
    env.update({"DATABASE_URL": database_url, "JWT_SECRET": secrets.token_urlsafe(48),
                "APP_ENV": "test", "PORT": str(free_port()), "LOG_DIR": str(log_dir),
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


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
