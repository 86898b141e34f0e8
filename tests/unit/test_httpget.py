"""The probes' HTTP GET (h11 over asyncio streams) against real local servers: kept-alive
connections, servers that close them, HTTP/1.0, slow answers, big bodies."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devkit.host.httpget import MAX_BODY, ProbeClient


class Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    requests: list[tuple[str, str | None]]


@pytest.fixture(params=["HTTP/1.1", "HTTP/1.0"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = request.param

        def setup(self) -> None:
            super().setup()
            self.server.connections += 1  # type: ignore[attr-defined]

        def do_GET(self) -> None:
            self.server.requests.append((self.path, self.headers.get("X-Health-Check")))  # type: ignore[attr-defined]
            if self.path == "/slow":
                threading.Event().wait(2)
            body = b"x" * (MAX_BODY + 10) if self.path == "/big" else b"ok " + self.path.encode()
            self.send_response(503 if self.path == "/down" else 200)
            self.send_header("Content-Length", str(len(body)))
            if self.path == "/close":
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up (the timeout test)
                pass

        def log_message(self, *args: object) -> None:
            pass

    srv = Server(("127.0.0.1", 0), Handler)
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


async def test_gets_status_and_body_and_keeps_the_connection(server: Server) -> None:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client = ProbeClient()
    try:
        for _ in range(5):
            answer = await client.get(f"{base}/status?x=1", headers={"X-Health-Check": "devkit"})
            assert (answer.status_code, answer.text) == (200, "ok /status?x=1")
        assert (await client.get(f"{base}/down")).status_code == 503
        assert server.requests[0] == ("/status?x=1", "devkit")
        http11 = server.RequestHandlerClass.protocol_version == "HTTP/1.1"  # type: ignore[attr-defined]
        assert server.connections == (1 if http11 else 6)  # kept alive only where the server can
    finally:
        await client.aclose()


async def test_a_connection_the_server_closed_is_replaced(server: Server) -> None:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client = ProbeClient()
    try:
        assert (await client.get(f"{base}/close")).status_code == 200
        assert (await client.get(f"{base}/after")).text == "ok /after"
    finally:
        await client.aclose()


async def test_a_timed_out_request_is_not_reused_half_read(server: Server) -> None:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client = ProbeClient()
    try:
        with pytest.raises(TimeoutError):
            await client.get(f"{base}/slow", timeout=0.2)
        assert (await client.get(f"{base}/next")).text == "ok /next"  # not /slow's late answer
        big = await client.get(f"{base}/big")
        assert big.status_code == 200 and len(big.content) == MAX_BODY
    finally:
        await client.aclose()


async def test_refused_connection_raises_an_os_error() -> None:
    from tests.support.ports import free_port

    client = ProbeClient()
    with pytest.raises(OSError):
        await client.get(f"http://127.0.0.1:{free_port()}/")
    await client.aclose()
    await asyncio.sleep(0)
