"""The warm-fork child's servers on an inherited socket. waitress: serves, and drains on
request: a request in flight completes, a kept-alive connection still gets its answer (with
`Connection: close`), an idle one is closed after the keep-alive idle time; paused, it leaves
new connections in the backlog and takes them once resumed. granian (the default): the same
drain for requests in flight; paused, it stops accepting for good. make_serving picks by
DEVKIT_API_SERVER."""

from __future__ import annotations

import http.client
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.warmfork.serving import (
    ChildServer,
    UnknownServer,
    WaitressServing,
    make_serving,
    server_name,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(60)


class App:
    """/slow waits until released; anything else answers at once."""

    def __init__(self) -> None:
        self.in_slow = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            self.in_slow.set()
            self.release.wait(30)
            body = b"slow done"
        else:
            body = b"fast " + environ.get("REMOTE_ADDR", "").encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)  # as the warm parent leaves it
    yield sock
    sock.close()


class ServingLoop:
    """`serve_until` on a thread, as a child's main thread runs it; what its signal handlers
    do (set draining or paused, write the wake-up byte) is done by hand."""

    def __init__(self, serving: ChildServer) -> None:
        self.serving = serving
        self.draining, self.paused = threading.Event(), threading.Event()
        self.wake_r, self.wake_w = os.pipe()
        self.thread = threading.Thread(
            target=serving.serve_until, args=(self.draining, self.wake_r, self.paused), daemon=True
        )
        self.thread.start()

    def wake(self) -> None:
        os.write(self.wake_w, b"x")

    def end(self) -> None:
        """What SIGTERM does: the loop returns (the drain is finish(), called after)."""
        self.draining.set()
        self.wake()
        self.thread.join(10)

    def close(self, timeout: float | None = None) -> None:
        """End the loop, finish within `timeout` (None: the test finished it), free the pipe."""
        self.end()
        if timeout is not None:
            self.serving.finish(timeout)
        os.close(self.wake_w)
        os.close(self.wake_r)


def start_slow_request(port: int) -> tuple[threading.Thread, list[tuple[int, bytes, str | None]]]:
    """GET /slow on a thread of its own; its (status, body, Connection header) once answered."""
    result: list[tuple[int, bytes, str | None]] = []

    def slow() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", "/slow")
        response = conn.getresponse()
        result.append((response.status, response.read(), response.getheader("Connection")))

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    return thread, result


def test_serves_then_drains(listener: socket.socket) -> None:
    app = App()
    serving = WaitressServing(app, listener, threads=2, keepalive_idle=3.0)
    loop = ServingLoop(serving)
    port = listener.getsockname()[1]
    try:
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for conn in (idle, kept):
            conn.request("GET", "/fast")
            reply = conn.getresponse()
            assert (reply.status, reply.read()) == (200, b"fast 127.0.0.1")

        slow_thread, slow_result = start_slow_request(port)
        assert app.in_slow.wait(10), "the slow request reached the app"

        loop.end()
        assert not loop.thread.is_alive(), "the loop ended on the wake-up byte"
        drain = threading.Thread(target=serving.finish, args=(15.0,), daemon=True)
        drain.start()

        # a request on a connection accepted before the drain is answered, then closed
        kept.request("GET", "/fast")
        reply = kept.getresponse()
        assert (reply.status, reply.read()) == (200, b"fast 127.0.0.1")
        assert reply.getheader("Connection") == "close"
        # the idle keep-alive connection is closed once idle for keepalive_idle
        assert idle.sock is not None
        idle.sock.settimeout(10)
        assert idle.sock.recv(1) == b""
        assert drain.is_alive(), "the drain waits for the request in flight"

        app.release.set()
        slow_thread.join(10)
        drain.join(15)
        assert [result[:2] for result in slow_result] == [(200, b"slow done")]
        assert not drain.is_alive()
        wait_for(lambda: not serving.server.active_channels, 5, what="no channel left")
    finally:
        app.release.set()
        loop.close()


def test_paused_it_leaves_new_connections_in_the_backlog(listener: socket.socket) -> None:
    pauses_and_resumes(WaitressServing(App(), listener, threads=2), listener)


def pauses_and_resumes(serving: ChildServer, listener: socket.socket) -> None:
    """A replaced child is paused while the new one loads: a connection made meanwhile waits
    (it is not refused, and the paused server does not take it), one it already had is still
    served; resumed, it serves the waiting one."""
    loop = ServingLoop(serving)
    port = listener.getsockname()[1]
    try:
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        kept.request("GET", "/fast")
        assert kept.getresponse().read() == b"fast 127.0.0.1"

        loop.paused.set()
        loop.wake()  # what the PAUSE signal's handler does
        wait_for(lambda: serving.paused, 5, what="paused")
        waiting = socket.create_connection(("127.0.0.1", port), timeout=10)  # the backlog
        waiting.sendall(b"GET /fast HTTP/1.0\r\n\r\n")
        waiting.settimeout(0.3)
        with pytest.raises(TimeoutError):
            waiting.recv(1)  # no answer: nobody accepted it
        kept.request("GET", "/fast")
        assert kept.getresponse().read() == b"fast 127.0.0.1"

        loop.paused.clear()
        loop.wake()  # RESUME
        waiting.settimeout(10)
        assert waiting.recv(65536).startswith(b"HTTP/1.0 200")
        waiting.close()
        kept.close()
    finally:
        loop.close(5.0)


def test_workers_sharing_the_listener_take_turns_and_one_drains_alone(
    listener: socket.socket,
) -> None:
    """Two servers on one listening socket (as the child's worker processes are): each new
    connection is accepted by one of them (the accept gate), both serve, and when one drains
    the other still answers every connection."""
    loops = [
        ServingLoop(WaitressServing(App(), listener, threads=2, keepalive_idle=1.0))
        for _ in range(2)
    ]
    port = listener.getsockname()[1]

    def get() -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/fast")
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    try:
        done: list[tuple[int, bytes]] = []
        clients = [threading.Thread(target=lambda: done.append(get())) for _ in range(40)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(20)
        assert done == [(200, b"fast 127.0.0.1")] * 40

        loops[0].end()
        loops[0].serving.finish(5.0)
        assert [get() for _ in range(10)] == [(200, b"fast 127.0.0.1")] * 10
    finally:
        for loop in loops:
            loop.close(1.0)


def test_the_server_is_granian_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVKIT_API_SERVER", raising=False)
    assert server_name() == "granian"
    assert server_name({"DEVKIT_API_SERVER": " Waitress "}) == "waitress"
    with pytest.raises(UnknownServer) as caught:
        server_name({"DEVKIT_API_SERVER": "gunicorn"})
    assert "'gunicorn'" in caught.value.problem and "granian or waitress" in caught.value.fix
    monkeypatch.setenv("DEVKIT_API_SERVER", "waitress")
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        serving = make_serving(App(), listener, threads=1)
        assert isinstance(serving, WaitressServing)
        serving.finish(1.0)
    finally:
        listener.close()


@pytest.mark.parametrize("scenario", ["drains", "pauses"])
def test_granian(listener: socket.socket, scenario: str) -> None:
    """Run in a forked child, as the warm-fork child runs it: granian's runtime is not left in
    the test process (where devkit's own file watching runs in later tests)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            if scenario == "drains":
                granian_serves_then_drains(listener)
            else:
                from devkit.warmfork.granian_serving import GranianServing

                pauses_and_resumes(GranianServing(App(), listener, threads=2), listener)
        except BaseException:  # noqa: BLE001 - reported to the test process
            import traceback

            os.write(write_end, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as report:
        failure = report.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, failure


def granian_serves_then_drains(listener: socket.socket) -> None:
    """DEVKIT_API_SERVER=granian: the same interface; on drain a request in flight completes
    (with `Connection: close`), a new connection is answered or left to the next child, and
    finish() returns once the request is done. Idle keep-alive connections are closed at once
    (unlike waitress)."""
    from devkit.warmfork.granian_serving import GranianServing

    app = App()
    serving = GranianServing(app, listener, threads=2)
    loop = ServingLoop(serving)
    port = listener.getsockname()[1]
    assert serving.port == port
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/fast")
        reply = conn.getresponse()
        assert (reply.status, reply.read()) == (200, b"fast 127.0.0.1")
        conn.close()

        slow_thread, slow_result = start_slow_request(port)
        assert app.in_slow.wait(10), "the slow request reached the app"

        loop.end()
        assert not loop.thread.is_alive(), "the loop ended on the wake-up byte"
        drain = threading.Thread(target=serving.finish, args=(15.0,), daemon=True)
        drain.start()
        # granian stops accepting a moment after the signal, not at once: a connection made
        # now is either answered or left in the backlog (for the next child), never dropped
        late = socket.create_connection(("127.0.0.1", port), timeout=10)
        late.sendall(b"GET /fast HTTP/1.0\r\n\r\n")
        late.settimeout(0.5)
        try:
            assert late.recv(9).startswith(b"HTTP/1.")
        except TimeoutError:
            pass
        late.close()
        assert drain.is_alive(), "the drain waits for the request in flight"

        app.release.set()
        slow_thread.join(10)
        drain.join(15)
        assert slow_result == [(200, b"slow done", "close")]
        assert not drain.is_alive()
    finally:
        app.release.set()
        loop.close()
