"""What runs in a forked child: import the project's module fresh, build the app, serve it on
the inherited listening socket (granian or waitress: devkit/warmfork/serving.py); on SIGTERM,
drain (stop accepting, finish the requests in flight within a bound) and exit.

A child that cannot serve (syntax error, import error, failing migration or factory) prints the
traceback and sends a crash report to the parent over the meta pipe, which the parent's crash
page answers requests with until the next child serves.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

from devkit.warmfork import migrate, preloads, protocol, routecache

EXIT_IMPORT_FAILED = 3
DRAIN_TIMEOUT = 10.0  # s to finish the requests in flight after SIGTERM (the parent bounds it too)
TRACEBACK_LINES = 12
PR_SET_PDEATHSIG = 1
# processes serving one build of the app (DEVKIT_API_WORKERS overrides)
WORKERS = int(os.environ.get("DEVKIT_API_WORKERS") or 0) or min(2, os.cpu_count() or 1)


def serve(
    module: str, host: str, listener: socket.socket, meta_fd: int, root: str, workers: int = 1
) -> int:
    """The child's whole life; its exit code."""
    preloads.forget_project(module)
    before = set(sys.modules)
    try:
        migrate.on_start(module)
        mod = importlib.import_module(module)
        factory = getattr(mod, "create_app", None)
        app = factory() if callable(factory) else getattr(mod, "app", None)
        if app is None:
            raise RuntimeError(f"{module} has neither create_app() nor app")
        from devkit.warmfork.serving import make_serving
    except BaseException as exc:  # noqa: BLE001 - syntax errors, import errors, failing factories
        traceback.print_exc()
        sys.stderr.flush()
        preloads.report_modules(before, meta_fd, root, module)
        protocol.write_message(meta_fd, {"crash": crash_report(exc, root)})
        protocol.close_fd(meta_fd)
        return EXIT_IMPORT_FAILED
    draining, paused = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if signum == protocol.PAUSE:
            paused.set()
        elif signum == protocol.RESUME:
            paused.clear()
        elif draining.is_set():  # a second SIGTERM ends it at once
            os._exit(0)
        else:
            draining.set()

    # before the workers are forked: none of them ever has the default (deadly) disposition
    for sig in (signal.SIGTERM, protocol.PAUSE, protocol.RESUME):
        signal.signal(sig, on_signal)
    # Extra workers share the built app (copy-on-write) and the listening socket: the GIL
    # caps one process at ~1 core. Forked before any thread or pool exists (pools open lazily).
    siblings = fork_workers(max(1, workers) - 1)
    leader = siblings is not None
    server = make_serving(app, listener)  # after the fork: its threads are each process's own
    wake_r, wake_w = os.pipe()  # each process its own: a signal wakes its own loop
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    report: Report | None = None
    if leader:  # first of all: the parent retires the replaced child on this
        protocol.write_message(meta_fd, {"serving": True})
        report = Report(app, before, meta_fd, root, module)
        # What the parent learns from (routes, modules) is told later, by a thread: serving
        # first; and the first requests import lazily too (json providers...).
        timer = threading.Timer(preloads.LEARN_AFTER, report.send)
        timer.daemon = True
        timer.start()
        print(
            f" * Serving {module} on http://{host}:{server.port} "
            f"(warm fork, pid {os.getpid()}, {len(siblings or []) + 1} worker(s))",
            flush=True,
        )
    else:
        protocol.close_fd(meta_fd)
    try:
        server.serve_until(draining, wake_r, paused)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    if report is not None:  # replaced (or stopped) before the timer: quick saves still teach
        report.send()
    server.finish(DRAIN_TIMEOUT)
    closer = getattr(mod, "close_app", None)  # e.g. closes a database pool
    if callable(closer):
        try:
            closer(app)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    if siblings:
        wait_workers(siblings, DRAIN_TIMEOUT)
    return 0


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: get `sig` when the parent process ends; never outlive it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def fork_workers(count: int) -> list[int] | None:
    """Fork `count` workers; the leader gets their pids, a worker gets None. The workers stay
    in the leader's process group: the warm parent's signals reach them all."""
    pids: list[int] = []
    leader = os.getpid()
    for _ in range(count):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            die_with_parent()
            if os.getppid() != leader:
                os._exit(1)
            return None
        pids.append(pid)
    return pids


def wait_workers(pids: list[int], timeout: float) -> None:
    """The leader's last job: its workers finish their own drain (bounded), then it exits."""
    deadline = time.monotonic() + timeout
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                waiting.discard(pid)
        if waiting:
            time.sleep(0.01)
    for pid in waiting:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def crash_report(exc: BaseException, root: str) -> dict[str, Any]:
    """Exception, message, the file and line to look at (the project's own when it can),
    and the last traceback lines."""
    filename, line = "", 0
    if isinstance(exc, SyntaxError) and exc.filename:
        filename, line = exc.filename, exc.lineno or 0
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        own = [
            f
            for f in frames
            if f.filename.startswith(root + os.sep) and "site-packages" not in f.filename
        ]
        chosen = own or list(frames)
        if chosen:
            filename, line = chosen[-1].filename, chosen[-1].lineno or 0
    if filename.startswith(root + os.sep):
        filename = os.path.relpath(filename, root)
    text = traceback.format_exception(type(exc), exc, exc.__traceback__)
    lines = "".join(text).rstrip("\n").splitlines()[-TRACEBACK_LINES:]
    return {
        "exception": type(exc).__name__,
        "message": str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or str(exc)),
        "file": filename,
        "line": line,
        "traceback": lines,
    }


class Report:
    """What the parent learns from a child (its routes, the libraries it imported), sent once:
    LEARN_AFTER seconds after serving, or when its drain begins if that comes first."""

    def __init__(self, app: Any, before: set[str], meta_fd: int, root: str, module: str) -> None:
        self.args = (before, meta_fd, root, module)
        self.app, self.meta_fd = app, meta_fd
        self.lock = threading.Lock()
        self.sent = False

    def send(self) -> None:
        with self.lock:
            if self.sent:
                return
            self.sent = True
            protocol.write_message(self.meta_fd, {"routes": routecache.routes_of(self.app)})
            preloads.report_modules(*self.args)
            protocol.close_fd(self.meta_fd)
