from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devkit.host.probes import (
    ExecProbe,
    HttpProbe,
    LogProbe,
    TcpProbe,
    close_http_clients,
    http_client,
    probe_from_settings,
)
from devkit.settings.config import ProbeSettings
from tests.support.ports import free_port


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = {
                "/status": (200, b"packager-status:running"),
                "/down": (503, b"db down"),
            }.get(self.path, (404, b"no"))
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


async def test_http_probe_checks_status_and_body_with_one_shared_client(http_server: int) -> None:
    base = f"http://127.0.0.1:{http_server}"
    ok = await HttpProbe(f"{base}/status", expect_body="packager-status:running").check()
    assert ok.ok and "200" in ok.detail
    wrong_body = await HttpProbe(f"{base}/status", expect_body="something else").check()
    assert not wrong_body.ok
    down = await HttpProbe(f"{base}/down").check()
    assert not down.ok and "503" in down.detail
    refused = await HttpProbe(f"http://127.0.0.1:{free_port()}/status", timeout=1).check()
    assert not refused.ok and "refused" in refused.detail.lower()
    assert http_client() is http_client()
    await close_http_clients()


async def test_tcp_probe() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert (await TcpProbe.parse(f"127.0.0.1:{port}").check()).ok
    closed = await TcpProbe("127.0.0.1", free_port(), timeout=1).check()
    assert not closed.ok


async def test_exec_probe_uses_exit_code_and_is_bounded() -> None:
    py = sys.executable
    assert (await ExecProbe(f"{py} -c 'print(1)'").check()).ok
    failed = await ExecProbe(f"{py} -c 'print(\"nope\"); raise SystemExit(3)'").check()
    assert not failed.ok and failed.detail == "exit 3: nope"
    slow = await ExecProbe(f"{py} -c 'import time; time.sleep(30)'", timeout=0.3).check()
    assert not slow.ok and "timed out" in slow.detail


async def test_log_probe_matches_a_line_of_the_current_run() -> None:
    probe = probe_from_settings(ProbeSettings(kind="log", target=r"listening on \d+"))
    assert isinstance(probe, LogProbe)
    assert not (await probe.check()).ok
    probe.feed("booting")
    probe.feed("listening on 3000")
    assert (await probe.check()).ok
    probe.reset()
    assert not (await probe.check()).ok
