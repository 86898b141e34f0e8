"""JSON lines in LOG_DIR/combined.log and error.log; one access line per request with its id."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from server.config import Config
from server.logs import EXTENSION, QuietRepeats, get_logger


def flushed(app: Flask) -> None:
    """Records are written by a background thread: wait until what was logged is written."""
    assert app.extensions[EXTENSION].flush(10), "the log writer wrote within 10 s"


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def access_lines(path: Path) -> list[dict]:
    return [entry for entry in read_lines(path) if entry.get("type") == "access"]


def test_access_line_per_request(client, server_config: Config) -> None:
    first = client.get("/status", headers={"X-Request-ID": "abc-123"})
    second = client.get("/nowhere")
    assert first.headers["X-Request-ID"] == "abc-123"
    generated = second.headers["X-Request-ID"]
    assert generated and generated != "abc-123"
    flushed(client.application)
    lines = access_lines(server_config.log_dir / "combined.log")
    assert [(e["method"], e["path"], e["status"], e["request_id"]) for e in lines] == [
        ("GET", "/status", 200, "abc-123"),
        ("GET", "/nowhere", 404, generated),
    ]
    for entry in lines:
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
        assert entry["level"] == "INFO" and entry["ts"].endswith("+00:00")


def test_unsafe_request_ids_are_replaced(client) -> None:
    response = client.get("/status", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\twith spaces"


def test_errors_reach_error_log(server_config: Config, make_app: Callable[..., Flask]) -> None:
    app = make_app(server_config)

    @app.get("/bug")
    def bug() -> None:
        raise ValueError("kaboom")

    client = app.test_client()
    assert client.get("/status").status_code == 200
    response = client.get("/bug")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    flushed(app)
    errors = read_lines(server_config.log_dir / "error.log")
    assert errors, "error.log has the failure"
    assert all(e["level"] in ("ERROR", "CRITICAL") for e in errors)
    crash = next(e for e in errors if "kaboom" in e["message"])
    assert crash["request_id"] == request_id and "Traceback" in crash["exc"]
    # the 200 is only in combined.log, which also has the error
    combined = read_lines(server_config.log_dir / "combined.log")
    assert any(e.get("path") == "/status" for e in combined)
    assert not any(e.get("path") == "/status" for e in errors)
    assert any("kaboom" in e["message"] for e in combined)


def test_blueprint_logger_writes_json(app: Flask, server_config: Config) -> None:
    with app.app_context():
        get_logger().warning("note this", extra={"fields": {"user_id": 7}})
    flushed(app)
    entry = read_lines(server_config.log_dir / "combined.log")[-1]
    assert (entry["message"], entry["level"], entry["user_id"]) == ("note this", "WARNING", 7)


def test_development_console_is_readable(
    server_config: Config, make_app: Callable[..., Flask], capsys
) -> None:
    app = make_app(server_config, app_env="development")
    app.test_client().get("/status", headers={"X-Request-ID": "rid-1"})
    flushed(app)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "/status" in line)
    assert "GET /status 200" in line and not line.startswith("{")


def test_library_repeats_are_one_line_and_rate_limited() -> None:
    quiet = QuietRepeats(interval=60)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("psycopg.pool", logging.WARNING, __file__, 1, msg, None, None)

    first = record("error connecting:\n\tIs the server running?")
    assert quiet.filter(first) and first.getMessage() == "error connecting: Is the server running?"
    assert not quiet.filter(record("error connecting:\n\tIs the server running?"))
    assert quiet.filter(record("a different warning"))


def test_health_probes_are_logged_quietly(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    """devkit probes /status every 2 s with X-Health-Check: those lines stay at DEBUG."""
    app = make_app(server_config)
    client = app.test_client()
    assert (
        client.get(
            "/status", headers={"X-Health-Check": "devkit", "X-Request-ID": "probe-1"}
        ).status_code
        == 200
    )
    assert client.get("/status", headers={"X-Request-ID": "person-1"}).status_code == 200
    flushed(app)
    ids = [e.get("request_id") for e in read_lines(server_config.log_dir / "combined.log")]
    assert "person-1" in ids and "probe-1" not in ids


def test_forked_process_writes_its_own_records(tmp_path: Path) -> None:
    """Warm-fork and gunicorn workers fork after the app logged: each process starts its own
    writer, and what the parent had queued is written once (by the parent)."""
    from server.logs import AppLogs

    logs = AppLogs(tmp_path, "INFO", None)
    try:
        logs.logger.info("before fork")
        pid = os.fork()
        if pid == 0:
            logs.logger.info("from child")
            os._exit(0 if logs.flush(10) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child's writer wrote its record"
        logs.logger.info("from parent")
        assert logs.flush(10)
        messages = [e["message"] for e in read_lines(tmp_path / "combined.log")]
        assert sorted(messages) == ["before fork", "from child", "from parent"]
    finally:
        logs.close()
