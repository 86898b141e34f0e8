"""The forked child's default HTTP server: granian (HTTP in Rust, the WSGI app on a pool of
Python threads) on the inherited listening socket (serving.py picks it; DEVKIT_API_SERVER).

Why: with waitress the HTTP side (an asyncore loop parsing requests in Python and handing
them to threads under the GIL) was ~40% of a dev API request's CPU; granian's Rust side does
that part, and a list request costs ~35% less CPU in all (benchmarks/bench_api.py).

granian has no public API for serving a WSGI app on a socket someone else bound (its
`embed` server takes ASGI/RSGI apps only): this drives its worker class directly, as its own
multiprocess server does per worker (granian/server/mp.py `_spawn_wsgi_worker`), so granian is
pinned to one release in pyproject.toml and tests/integration/test_warmfork_serving.py starts
this server.

Drain (finish): no longer accepting (the pause below, at once: granian itself stops a few ms
after its signal), then granian's signal: it finishes the requests in flight (their responses
say `Connection: close`) and closes idle keep-alive connections right away, as nginx does on a
reload (a client sees the close before it reuses the connection); its signal's callback runs
once all connections are done.
Pause and resume (a save: the new child loads): granian has no way to stop accepting and
start again, and its drain closes every connection without a request in progress, including
one accepted a moment ago whose request has not arrived yet (a lost request: 2 in 2000 under
load in tests/integration/test_api_reload_under_load.py when a pause was a drain). So a pause
puts an idle listening socket of our own (AF_UNIX, never connected to) on the descriptor
number granian accepts from (dup2): its epoll registration stays on the real listener, its
accept() finds nothing, and new connections wait in the backlog for the new child. Resuming
puts the listener back on that number (and pokes it: see poke). The drain comes after the new
child serves, or once the new one failed.
Imported inside the child only.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
from typing import Any

KEEPALIVE_IDLE = 5.0
# s between no longer accepting and granian's drain: a connection accepted just before has its
# request read by then (the drain closes a connection with no request in progress)
ACCEPTED_GRACE = 0.05


class GranianServing:
    """granian serving `app` on a copy of `listener` until drained (serving.ChildServer)."""

    def __init__(
        self,
        app: Any,
        listener: socket.socket,
        threads: int,
        keepalive_idle: float = KEEPALIVE_IDLE,
    ) -> None:
        from granian import _granian
        from granian.http import HTTP1Settings

        native: Any = _granian  # its bundled stubs lag the extension (WSGIWorker's arguments)

        self.app = app
        self.threads = threads
        self.keepalive_idle = keepalive_idle
        self.fd = os.dup(listener.fileno())  # granian's once it serves (it closes it)
        self.listener_fd = os.dup(listener.fileno())  # put back on self.fd to resume
        self.idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # put there to pause
        self.idle.bind("")  # an abstract address: no file, nobody connects
        self.idle.listen(1)
        self.idle.setblocking(False)  # granian's accept() must never block on it
        self.paused = False
        self.paused_at = 0.0
        self.address: tuple[Any, ...] = listener.getsockname()
        self.port: int = self.address[1]
        self.draining = False
        self.stopping = False  # its signal is set: it accepts no more
        self.signal = native.WorkerSignal()
        self.done = threading.Event()  # set by granian once every connection is finished
        self.signal.add_cb(self.done.set)
        self.started = False
        holder = native.SocketHolder(self.fd, False, 1024)
        # granian 2.8's WSGIWorker: worker id, (listener spec, socket), IPC handle, runtime
        # threads, runtime blocking threads, Python threads, their idle timeout, backpressure,
        # HTTP mode, HTTP/1 and HTTP/2 settings, static files, TLS (8 values), metrics
        self.worker = native.WSGIWorker(
            0,
            (None, holder),
            None,
            1,
            512,
            threads,
            30,
            1024,
            "1",
            HTTP1Settings(),
            None,
            None,
            False,
            None,
            None,
            None,
            "tls1.3",
            None,
            [],
            False,
            (None, None),
        )

    def serve_until(
        self, draining: threading.Event, wake_fd: int, paused: threading.Event | None = None
    ) -> None:
        """Serve until `draining` is set, accepting while `paused` is not; a byte on `wake_fd`
        (the signal wake-up pipe) ends the wait at once."""
        from granian._futures import _new_cbscheduler
        from granian._loops import loops

        loop = loops.get("auto")
        scheduler = _new_cbscheduler(loop, wsgi_runner(self.app), impl_asyncio=False)
        self.worker.serve_str(scheduler, loop, self.signal)  # returns; Rust threads serve
        self.started = True
        while not draining.is_set():
            self.pause(paused is not None and paused.is_set())
            ready, _, _ = select.select([wake_fd], [], [])  # signals write a byte
            if ready:
                try:
                    os.read(wake_fd, 512)
                except OSError:
                    pass

    def pause(self, paused: bool) -> None:
        """Accept (False) or not (True) from the listener, on the descriptor granian uses."""
        if paused != self.paused and not self.stopping:
            os.dup2(self.idle.fileno() if paused else self.listener_fd, self.fd)
            self.paused = paused
            self.paused_at = time.monotonic()
            if not paused:
                self.poke()

    def poke(self) -> None:
        """One connection, closed at once: granian's epoll is edge-triggered, and the
        connections that arrived while paused made their edges then; the next edge sends it
        back to accept() until the backlog is empty (whoever takes this one reads EOF)."""
        host = self.address[0]
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        try:
            socket.create_connection((host, self.port), timeout=1.0).close()
        except OSError:
            pass

    def stop_accepting(self) -> None:
        """Set granian's signal: no new connection, the ones it has are finished."""
        if not self.stopping:
            self.stopping = True
            self.signal.set()

    def finish(self, timeout: float) -> None:
        """Stop accepting; finish the requests in flight (bounded by `timeout`)."""
        if self.draining:
            return
        self.draining = True
        self.pause(True)  # accepts nothing from now on, even before granian reads its signal
        os.close(self.listener_fd)
        self.idle.close()
        if self.started:  # granian owns the fd now: closing it too could close a reused one
            time.sleep(max(0.0, self.paused_at + ACCEPTED_GRACE - time.monotonic()))
            self.stop_accepting()
            self.done.wait(timeout)
            return
        try:
            os.close(self.fd)
        except OSError:
            pass


def wsgi_runner(app: Any) -> Any:
    """granian's WSGI call (granian/wsgi.py `_callback_wrapper`) less its copy of os.environ
    in every request's environ (the process's secrets are no request's business)."""
    from granian.wsgi import Response, ResponseIterWrap

    base: dict[str, Any] = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SCRIPT_NAME": "",
        "SERVER_SOFTWARE": "devkit",
        "wsgi.errors": sys.stderr,
        "wsgi.input_terminated": True,
        "wsgi.multiprocess": True,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }

    def run(proto: Any, scope: dict[str, Any]) -> int:
        response = Response()
        result = app(base | scope, response)
        if isinstance(result, list):
            proto.response_bytes(response.status, response.headers, b"".join(result))
        else:
            proto.response_iter(response.status, response.headers, ResponseIterWrap(result))
        return int(response.status)

    return run
