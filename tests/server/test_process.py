"""`python -m server` as a real process: one listening line, JSON logs in LOG_DIR, request ids
over HTTP, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.live_server import ROOT, LiveServer, server_env
from tests.support.ports import free_port
from tests.support.wait import wait_for


def test_serves_logs_and_stops_cleanly(
    server_config, tmp_path: Path, run_server: Callable[..., LiveServer]
) -> None:
    log_dir = tmp_path / "proc-logs"
    server = run_server(server_env(server_config.database_url, log_dir, APP_ENV="development"))
    server.wait_listening()
    assert f"listening on http://0.0.0.0:{server.port}" in server.output
    response = server.http.get("/status", headers={"X-Request-ID": "proc-1"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "proc-1"
    # development: a readable console line per request, unbuffered
    wait_for(
        lambda: any("GET /status 200" in line for line in server.lines),
        10,
        what="the console access line",
    )

    def logged() -> bool:
        path = log_dir / "combined.log"
        return path.exists() and any(
            json.loads(line).get("request_id") == "proc-1" for line in path.read_text().splitlines()
        )

    wait_for(logged, 10, what="the access line in combined.log")

    # an oversized body gets JSON 413 over a real socket, and the server keeps serving
    big = server.http.post(
        "/api/v1/auth/login",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    assert server.status_code() == 200

    os.killpg(server.proc.pid, signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    assert "Traceback" not in server.output


def test_port_in_use_is_one_clear_line(
    server_config, tmp_path: Path, run_server: Callable[..., LiveServer]
) -> None:
    first = run_server(server_env(server_config.database_url, tmp_path / "a"))
    first.wait_listening()
    second = run_server(
        server_env(server_config.database_url, tmp_path / "b", PORT=str(first.port))
    )
    assert second.proc.wait(timeout=30) == 1
    wait_for(lambda: any("PORT" in line for line in second.lines), 10, what="the error line")
    assert f"cannot listen on port {first.port}" in second.output
    assert "Traceback" not in second.output


def test_gunicorn_serves_the_wsgi_app(server_config, tmp_path: Path) -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    port = free_port()
    env = server_env(server_config.database_url, tmp_path / "g-logs", PORT=str(port))
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--threads",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "server.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def status() -> int:
            return httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).status_code

        assert wait_for(lambda: status() == 200, 30, what="gunicorn /status 200")
        # log records are written by a background thread: the file follows the request
        wait_for(lambda: (tmp_path / "g-logs" / "combined.log").exists(), 10, what="combined.log")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_gunicorn_config_error_exits(tmp_path: Path) -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JWT_SECRET")}
    proc = subprocess.Popen(
        [str(gunicorn), "--bind", "127.0.0.1:0", "server.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a respawn loop would be the bug: stop the whole group
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode != 0  # the arbiter halts instead of respawning workers
    assert "DATABASE_URL is not set" in err
