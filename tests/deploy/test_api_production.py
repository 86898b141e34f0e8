"""The API's production behaviour behind a proxy: *_FILE secrets, trusted proxy hops, failed-login
limits (429 + Retry-After) and size-rotated log files. Real app, real PostgreSQL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from server.config import Config, ConfigError
from server.logs import EXTENSION, get_logger

PASSWORD = "correct horse battery"


def register(client, username: str) -> None:
    response = client.post(
        "/api/v1/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 201, response.get_json()


def login(client, username: str, password: str, addr: str = "198.51.100.7"):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_secrets_are_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("postgresql://aios:pw@db:5432/aios\n")
    (tmp_path / "jwt").write_text(secrets.token_urlsafe(48) + "\n")
    config = Config.from_env(
        {
            "DATABASE_URL_FILE": str(tmp_path / "url"),
            "JWT_SECRET_FILE": str(tmp_path / "jwt"),
            "APP_ENV": "production",
        }
    )
    assert config.database_url == "postgresql://aios:pw@db:5432/aios"
    assert config.jwt_secret == (tmp_path / "jwt").read_text().strip()
    # production turns the login limits on by default
    assert config.login_limit_address and config.login_limit_username


def test_secret_file_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_FILE=.*cannot be read"):
        Config.from_env(
            {"DATABASE_URL": "postgresql://a@b/c", "JWT_SECRET_FILE": str(tmp_path / "none")}
        )
    (tmp_path / "jwt").write_text("x" * 40)
    with pytest.raises(ConfigError, match="both JWT_SECRET and JWT_SECRET_FILE"):
        Config.from_env(
            {
                "DATABASE_URL": "postgresql://a@b/c",
                "JWT_SECRET": "y" * 40,
                "JWT_SECRET_FILE": str(tmp_path / "jwt"),
            }
        )
    with pytest.raises(ConfigError, match="LOGIN_LIMIT_PER_USERNAME"):
        Config.from_env(
            {
                "DATABASE_URL": "postgresql://a@b/c",
                "JWT_SECRET": "y" * 40,
                "LOGIN_LIMIT_PER_USERNAME": "often",
            }
        )


def test_wrong_passwords_get_429_with_retry_after(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    app = make_app(server_config, login_limit_address="20/minute", login_limit_username="5/minute")
    client = app.test_client()
    register(client, "alice")
    statuses = [login(client, "alice", f"wrong-{i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    refused = login(client, "alice", "wrong-again")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    # the username is locked from every address, even with the right password ...
    assert login(client, "ALICE", PASSWORD, addr="192.0.2.1").status_code == 429
    # ... while other accounts still log in
    register(client, "bob")
    assert login(client, "bob", PASSWORD).status_code == 200


def test_one_address_guessing_many_usernames_is_limited(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    app = make_app(server_config, login_limit_address="3/minute", login_limit_username="")
    client = app.test_client()
    statuses = [login(client, f"user{i}", "nope-nope").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login(client, "user9", "nope-nope", addr="192.0.2.50").status_code == 401


def test_no_limit_outside_production(server_config: Config, make_app: Callable[..., Flask]) -> None:
    client = make_app(server_config).test_client()
    register(client, "carol")
    assert {login(client, "carol", f"bad-{i}").status_code for i in range(30)} == {401}


def access_entries(log_dir: Path) -> list[dict]:
    lines = (log_dir / "combined.log").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("type") == "access"]


def test_client_address_from_trusted_proxy_hops(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    behind_app = make_app(server_config, proxy_hops=1)
    behind = behind_app.test_client()
    # the client claims 203.0.113.66; nginx appended the address it saw (198.51.100.20)
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.20", "X-Forwarded-Proto": "https"}
    behind.get("/status", headers=headers, environ_base={"REMOTE_ADDR": "10.0.9.5"})
    direct_dir = server_config.log_dir.parent / "direct"
    direct_app = make_app(server_config, log_dir=direct_dir)
    direct = direct_app.test_client()
    direct.get("/status", headers=headers, environ_base={"REMOTE_ADDR": "10.0.9.5"})
    for app in (behind_app, direct_app):  # log records are written by a background thread
        assert app.extensions[EXTENSION].flush()
    assert access_entries(server_config.log_dir)[-1]["remote_addr"] == "198.51.100.20"
    # without PROXY_HOPS the header is not trusted: the peer's own address is logged
    assert access_entries(direct_dir)[-1]["remote_addr"] == "10.0.9.5"


def test_log_files_rotate_by_size(server_config: Config, make_app: Callable[..., Flask]) -> None:
    app = make_app(server_config, log_max_bytes=4096, log_backup_count=2)
    logger = get_logger(app)
    for i in range(400):
        logger.info("line %d %s", i, "x" * 100)
    assert app.extensions[EXTENSION].flush()  # records are written by a background thread
    files = sorted(p.name for p in server_config.log_dir.glob("combined.log*"))
    assert files == ["combined.log", "combined.log.1", "combined.log.2"]
    for path in server_config.log_dir.glob("combined.log*"):
        assert path.stat().st_size <= 4096 + 512
    last = json.loads((server_config.log_dir / "combined.log").read_text().splitlines()[-1])
    assert last["message"].startswith("line 399 ")
