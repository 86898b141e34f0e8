"""The forked child's HTTP server on the inherited listening socket: granian (the default) or
waitress (DEVKIT_API_SERVER=waitress). make_serving() picks one; both have one interface
(port, serve_until, finish).

Why granian by default: it does HTTP in Rust and runs the WSGI app on a pool of Python threads
(granian_serving.py). With waitress, HTTP parsing in Python was ~40% of a dev API request's CPU;
granian serves the same endpoint at ~1.3x the Express dev server's throughput where waitress
reaches ~0.9x (benchmarks/bench_api.py).

Why waitress stays: one event loop accepts and parses, a fixed pool of threads runs the app,
all in Python (no native runtime to depend on); its drain still answers a request that arrives
on an idle keep-alive connection, where granian closes the idle ones at once.

Drain (SIGTERM), waitress: stop accepting at once (the next child accepts on the same socket);
connections already accepted are still served (their request may not have been read yet:
closing them would reset it), each response then says `Connection: close`; a connection idle
for KEEPALIVE_IDLE is closed; all within a bound, then the threads stop.
Only the standard library at import (the warm parent reads server_name() here); the servers'
own modules are imported when one is made, in the child.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol, cast

KEEPALIVE_IDLE = 5.0  # s an idle keep-alive connection is kept: bounds a drain by idle clients
# app threads per worker process (DEVKIT_API_THREADS overrides)
THREADS = int(os.environ.get("DEVKIT_API_THREADS") or 0) or 6
SERVERS = ("granian", "waitress")
DEFAULT_SERVER = "granian"
LOOP_TIMEOUT = 1.0  # s: the loop wakes on its own this often (signals wake it at once)


class ChildServer(Protocol):
    """What child.py needs of a server."""

    port: int

    @property
    def paused(self) -> bool:
        """Serving, but not accepting new connections (PAUSE)."""

    def serve_until(
        self, draining: threading.Event, wake_fd: int, paused: threading.Event | None = None
    ) -> None: ...

    def finish(self, timeout: float) -> None: ...


class UnknownServer(ValueError):
    def __init__(self, name: str) -> None:
        self.problem = f"DEVKIT_API_SERVER={name!r} is not a server devkit can run the API with"
        self.fix = f"set it to {' or '.join(SERVERS)}, or unset it for {DEFAULT_SERVER}"
        super().__init__(f"{self.problem}: {self.fix}")


def server_name(environ: Mapping[str, str] = os.environ) -> str:
    """DEVKIT_API_SERVER, checked: granian or waitress (UnknownServer otherwise)."""
    name = (environ.get("DEVKIT_API_SERVER") or DEFAULT_SERVER).strip().lower()
    if name not in SERVERS:
        raise UnknownServer(name)
    return name


def make_serving(app: Any, listener: socket.socket, threads: int = THREADS) -> ChildServer:
    """The server DEVKIT_API_SERVER names, serving `app` on a copy of `listener`."""
    if server_name() == "granian":
        from devkit.warmfork.granian_serving import GranianServing

        return GranianServing(app, listener, threads)
    return WaitressServing(app, listener, threads)


class WaitressServing:
    """waitress serving `app` on a copy of `listener` until drained."""

    def __init__(
        self,
        app: Any,
        listener: socket.socket,
        threads: int = THREADS,
        keepalive_idle: float = KEEPALIVE_IDLE,
    ) -> None:
        from waitress import wasyncore
        from waitress.channel import HTTPChannel
        from waitress.server import create_server
        from waitress.task import ThreadedTaskDispatcher, WSGITask

        serving = self

        class Task(WSGITask):
            def build_response_header(self) -> bytes:
                if serving.draining:  # the client must not send more on this connection
                    self.set_close_on_finish()
                return super().build_response_header()

        class Channel(HTTPChannel):
            task_class = Task

        # "Task queue depth" warnings: requests waiting for a thread are normal under load
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self.wasyncore = wasyncore
        sock = socket.socket(fileno=os.dup(listener.fileno()))  # ours to close on drain
        # One thread now, the others once the loop runs (grow_threads): each thread start
        # waits for the new thread to run, ~1 ms apiece on a busy machine, before serving.
        self.dispatcher = ThreadedTaskDispatcher()
        self.dispatcher.set_thread_count(1)
        self.threads = threads
        # Any: the stubs type it as a union of server kinds; one TCP socket gives a TcpWSGIServer
        self.server: Any = cast(Any, create_server)(
            app,
            sockets=[sock],
            threads=threads,
            channel_timeout=keepalive_idle,
            cleanup_interval=1,
            asyncore_use_poll=True,
            backlog=1024,
            ident="devkit",
            _dispatcher=self.dispatcher,
        )
        self.server.channel_class = Channel
        self.map: dict[int, Any] = self.server._map
        self.gate = accept_gate(wasyncore, self.server, self.map)
        self.keepalive_idle = keepalive_idle
        self.draining = False
        self.port: int = sock.getsockname()[1]

    def serve_until(
        self, draining: threading.Event, wake_fd: int, paused: threading.Event | None = None
    ) -> None:
        """Serve until `draining` is set, accepting while `paused` is not; a byte on `wake_fd`
        (the signal wake-up pipe) ends the loop's wait at once, so no connection is accepted
        for the old code meanwhile."""
        wasyncore = self.wasyncore

        base: Any = wasyncore.file_dispatcher  # POSIX only: the stubs leave it out

        class Wake(base):
            def handle_read(self) -> None:
                try:
                    self.recv(512)
                except OSError:
                    pass

            def writable(self) -> bool:
                return False

        wake = Wake(wake_fd, map=self.map)
        threading.Thread(target=self.grow_threads, name="waitress-grow", daemon=True).start()
        try:
            while not draining.is_set():
                self.server.accepting = paused is None or not paused.is_set()
                wasyncore.loop(timeout=LOOP_TIMEOUT, map=self.map, use_poll=True, count=1)
        finally:
            wake.del_channel(self.map)
            wake.socket.close()

    @property
    def paused(self) -> bool:
        return not self.server.accepting and not self.draining

    def grow_threads(self) -> None:
        """Up to `threads`, one at a time: the dispatcher's lock is held while a thread
        starts, and the loop needs it to hand over each request."""
        for count in range(2, self.threads + 1):
            self.dispatcher.set_thread_count(count)

    def finish(self, timeout: float) -> None:
        """Stop accepting; serve the connections already accepted until they close or idle
        for keepalive_idle (bounded by `timeout`); stop the threads."""
        server = self.server
        self.draining = True
        server.accepting = False
        server.del_channel(self.map)
        if self.gate is not None:
            self.gate.close()
        try:
            server.socket.close()  # our copy: the parent and the new child keep listening
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while server.active_channels and time.monotonic() < deadline:
            idle_since = time.time() - self.keepalive_idle
            for channel in list(server.active_channels.values()):
                busy = channel.requests or channel.total_outbufs_len or channel.request
                if not busy and channel.last_activity < idle_since:
                    channel.will_close = True  # closed by the next loop turn
            self.wasyncore.loop(timeout=0.05, map=self.map, use_poll=True, count=1)
        server.task_dispatcher.shutdown(
            cancel_pending=True, timeout=max(0.0, deadline - time.monotonic())
        )


def accept_gate(wasyncore: Any, server: Any, channels: dict[int, Any]) -> Any:
    """Wake one process per new connection, not all of them (Linux: EPOLLEXCLUSIVE).

    The workers share one listening socket; polled directly, every connection woke every
    worker's loop and all but one found nothing to accept (~7% of a request's CPU with 2
    workers). The gate is an epoll instance holding the listener exclusively; the loop polls
    the gate in the server's place. None (the plain way) where epoll is missing."""
    exclusive = getattr(select, "EPOLLEXCLUSIVE", None)
    if exclusive is None or not hasattr(select, "epoll"):
        return None
    gated = select.epoll()
    try:
        gated.register(server.socket.fileno(), select.EPOLLIN | exclusive)
    except OSError:
        gated.close()
        return None
    base: Any = wasyncore.file_dispatcher  # POSIX only: the stubs leave it out

    class Gate(base):
        def readable(self) -> bool:
            return bool(server.readable())  # also the server's idle-channel maintenance

        def writable(self) -> bool:
            return False

        def handle_read(self) -> None:
            gated.poll(0)  # take the event (re-armed while connections wait)
            server.handle_accept()

        def close(self) -> None:
            super().close()
            gated.close()

    server.del_channel(channels)  # polled through the gate from now on
    gate = Gate(gated.fileno(), map=channels)
    return gate
