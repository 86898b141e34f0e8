"""The warm parent of the API: imports the heavy libraries once, forks a fresh server per change.

A restart of a Flask app costs ~150 ms, nearly all of it the interpreter start and the imports
of flask, psycopg and friends. This process pays that once: it imports those libraries, binds
the listening socket once, and on each "start" forks a child that imports only the project's
own module (`server`), builds the app with create_app() and serves on the inherited socket.
Connections that arrive during a restart wait in the socket's backlog instead of being refused.

Run as `python -m devkit.warmfork --module server --port 5000 --control-fd N` with the
project root as working directory. Only the standard library is imported here at start.

Control channel (fd N, a socket to devkit), JSON lines:
  devkit -> parent: {"cmd": "start"} | {"cmd": "stop", "timeout": s} | {"cmd": "quit", "timeout": s}
  parent -> devkit: {"ev": "ready", "pid", "preloaded"} | {"ev": "fatal", "text", "errno"}
                    {"ev": "child", "pid"} | {"ev": "log", "stream", "text"}
                    {"ev": "exit", "pid", "code"}   (code < 0: killed by signal -code)
The children's output is relayed as "log" events on the same channel, so a crash's traceback
always arrives before its "exit". End of the channel (devkit gone) = stop everything and exit.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import importlib.metadata
import json
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from typing import Any

PRELOAD = (
    "flask",
    "werkzeug",
    "werkzeug.serving",
    "psycopg",
    "psycopg_pool",
    "argon2",
    "jwt",
    "prometheus_client",
    "dotenv",
)
PR_SET_PDEATHSIG = 1
EXIT_IMPORT_FAILED = 3
LEARN_AFTER = 1.0  # s after serving starts: the child reports the libraries it imported
LEARN_IDLE = 0.3  # s without a command before the parent imports what children reported


def _prctl_pdeathsig(sig: int) -> None:
    """Die with the parent (Linux): the child must never outlive the warm parent."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class WarmParent:
    def __init__(
        self,
        module: str,
        host: str,
        port: int,
        control: socket.socket,
        preload: tuple[str, ...],
        learn: bool = True,
    ) -> None:
        self.module = module
        self.host = host
        self.port = port
        self.control = control
        self.preload = preload
        self.learn = learn
        self.root = os.getcwd()
        self.sel = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.child: int | None = None
        self.kill_at: float | None = None  # SIGKILL the child group then
        self.pipes: dict[int, str] = {}  # fd -> "stdout" | "stderr" | "meta"
        self.partial: dict[int, bytes] = {}
        self.meta = b""
        self.to_learn: set[str] = set()
        self.learn_at: float | None = None  # import to_learn then, if nothing happened since
        self.reaped: tuple[int, int] | None = None  # (pid, code) waiting for output to drain
        self.reaped_at = 0.0
        self.quitting = False
        self.inbuf = b""
        self.wake_r, self.wake_w = os.pipe()

    # --- output to devkit ------------------------------------------------------------------
    def send(self, **event: Any) -> None:
        data = (json.dumps(event) + "\n").encode()
        try:
            self.control.sendall(data)
        except OSError:
            self.quitting = True

    # --- setup -----------------------------------------------------------------------------
    def warm_up(self) -> list[str]:
        done = []
        for name in self.preload:
            try:
                importlib.import_module(name)
                done.append(name)
            except Exception:  # noqa: BLE001 - not installed or broken: the child will tell
                pass
        try:  # Werkzeug's server asks for its version at every start: ~5 ms cold, ~1 ms warm
            importlib.metadata.version("werkzeug")
        except Exception:  # noqa: BLE001
            pass
        return done

    def bind(self) -> bool:
        sock = socket.socket(
            socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            self.send(
                ev="fatal",
                errno=exc.errno or 0,
                text=f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
            )
            return False
        sock.listen(128)
        sock.set_inheritable(True)
        self.listener = sock
        return True

    # --- children --------------------------------------------------------------------------
    def fork_child(self) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        meta_r, meta_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.setpgid(0, 0)
                _prctl_pdeathsig(signal.SIGKILL)
                if os.getppid() != parent_pid:
                    os._exit(1)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                for fd in (
                    out_r,
                    err_r,
                    meta_r,
                    out_w,
                    err_w,
                    self.wake_r,
                    self.wake_w,
                    *self.pipes,
                ):
                    _close(fd)
                self.sel.close()
                self.control.close()
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
            except BaseException:  # noqa: BLE001
                os._exit(1)
            code = serve_child(self.module, self.host, self.listener, meta_w, self.root)
            os._exit(code)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        for fd in (out_w, err_w, meta_w):
            os.close(fd)
        for fd, name in ((out_r, "stdout"), (err_r, "stderr"), (meta_r, "meta")):
            os.set_blocking(fd, False)
            self.pipes[fd] = name
            self.sel.register(fd, selectors.EVENT_READ, name)
        self.child = pid
        self.kill_at = None
        self.send(ev="child", pid=pid)

    def signal_child(self, sig: int) -> None:
        if self.child is None:
            return
        try:
            os.killpg(self.child, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.child, sig)
            except ProcessLookupError:
                pass

    def stop_child(self, timeout: float) -> None:
        if self.child is None:
            return
        self.signal_child(signal.SIGTERM)
        self.kill_at = time.monotonic() + max(0.0, timeout)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid != self.child:
                continue
            code = os.waitstatus_to_exitcode(status)
            self.signal_child(signal.SIGKILL)  # whatever it left in its group
            self.child = None
            self.kill_at = None
            self.reaped = (pid, code)
            self.reaped_at = time.monotonic()

    def read_pipe(self, fd: int, name: str) -> bool:
        """Forward what the pipe holds now; True when more may follow right away."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self.close_pipe(fd)
            return False
        self._feed(fd, name, data)
        return True

    def close_pipe(self, fd: int) -> None:
        name = self.pipes.pop(fd, "")
        rest = self.partial.pop(fd, b"")
        if rest and name != "meta":
            self.send(ev="log", stream=name, text=rest.decode("utf-8", "replace"))
        if name == "meta" and self.meta:
            self._take_meta(final=True)
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        os.close(fd)

    def _take_meta(self, final: bool = False) -> None:
        """Module lists (JSON lines) from the child: remembered, imported when idle."""
        *lines, rest = self.meta.split(b"\n")
        self.meta = b"" if final else rest
        if final and rest:
            lines.append(rest)
        for line in lines:
            try:
                names = json.loads(line.decode()).get("modules", [])
            except ValueError:
                continue
            self.to_learn.update(n for n in names if n not in sys.modules)
        if self.to_learn and self.learn:
            self.learn_at = time.monotonic() + LEARN_IDLE

    def learn_modules(self) -> None:
        """Import, once, the libraries the child needed that were not preloaded.

        Only when idle (LEARN_IDLE without a command): never on the way to a restart.
        """
        names, self.to_learn, self.learn_at = sorted(self.to_learn), set(), None
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001 - best effort; the child imports it anyway
                pass

    def finish_exit(self, force: bool = False) -> None:
        """Report a reaped child once its output is drained (or after a short grace)."""
        if self.reaped is None:
            return
        if not force and self.pipes and time.monotonic() - self.reaped_at < 0.2:
            return
        for fd in list(self.pipes):
            while fd in self.pipes and self.read_pipe(fd, self.pipes[fd]):
                pass
            if fd in self.pipes:
                self.close_pipe(fd)
        pid, code = self.reaped
        self.reaped = None
        self.send(ev="exit", pid=pid, code=code)

    def _feed(self, fd: int, name: str, data: bytes) -> None:
        if name == "meta":
            self.meta += data
            self._take_meta()
            return
        buf = self.partial.get(fd, b"") + data
        *lines, rest = buf.split(b"\n")
        self.partial[fd] = rest
        for line in lines:
            self.send(ev="log", stream=name, text=line.decode("utf-8", "replace").rstrip("\r"))

    # --- commands --------------------------------------------------------------------------
    def handle(self, command: dict[str, Any]) -> None:
        cmd = command.get("cmd")
        if self.learn_at is not None:
            self.learn_at = time.monotonic() + LEARN_IDLE
        if cmd == "start":
            if self.child is not None:  # a start while one runs: replace it right away
                self.stop_child(0.0)
                self.wait_child_gone()
            self.finish_exit(force=True)
            self.fork_child()
        elif cmd == "stop":
            self.stop_child(float(command.get("timeout", 5.0)))
        elif cmd == "quit":
            self.stop_child(float(command.get("timeout", 5.0)))
            self.quitting = True

    def wait_child_gone(self) -> None:
        while self.child is not None:
            self.signal_child(signal.SIGKILL)
            try:
                pid, status = os.waitpid(self.child, 0)
            except ChildProcessError:
                self.child = None
                break
            self.reaped = (pid, os.waitstatus_to_exitcode(status))
            self.reaped_at = time.monotonic()
            self.child = None

    def read_control(self) -> None:
        try:
            data = self.control.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # devkit is gone: nobody to serve
            self.stop_child(0.5)
            self.quitting = True
            self.sel.unregister(self.control)
            return
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    self.handle(json.loads(line))
                except ValueError:
                    pass

    # --- main loop -------------------------------------------------------------------------
    def run(self) -> int:
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, self._on_term)
        preloaded = self.warm_up()
        if not self.bind():
            return 2
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(self.control, selectors.EVENT_READ, "control")
        self.send(ev="ready", pid=os.getpid(), preloaded=preloaded)
        while True:
            timeout = None
            now = time.monotonic()
            if self.kill_at is not None:
                timeout = max(0.0, self.kill_at - now)
            if self.reaped is not None:
                timeout = min(
                    timeout if timeout is not None else 1.0, max(0.0, self.reaped_at + 0.2 - now)
                )
            if self.learn_at is not None:
                wait = max(0.0, self.learn_at - now)
                timeout = wait if timeout is None else min(timeout, wait)
            for key, _ in self.sel.select(timeout):
                if key.data == "wake":
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif key.data == "control":
                    self.read_control()
                else:
                    self.read_pipe(key.fd, key.data)
            self.reap()
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.signal_child(signal.SIGKILL)
                self.kill_at = None
            self.finish_exit()
            if (
                self.learn_at is not None
                and time.monotonic() >= self.learn_at
                and not self.quitting
            ):
                self.learn_modules()
            if self.quitting and self.child is None:
                self.finish_exit(force=True)
                return 0

    def _on_term(self, signum: int, frame: object) -> None:
        self.quitting = True
        self.signal_child(signal.SIGTERM)
        if self.kill_at is None:
            self.kill_at = time.monotonic() + 2.0


def serve_child(
    module: str, host: str, listener: socket.socket | None, meta_fd: int, root: str
) -> int:
    """In the forked child: import the project's module fresh, build the app, serve."""
    before = set(sys.modules)
    try:
        _migrate(module)
        mod = importlib.import_module(module)
        factory = getattr(mod, "create_app", None)
        app = factory() if callable(factory) else getattr(mod, "app", None)
        if app is None:
            raise RuntimeError(f"{module} has neither create_app() nor app")
        from werkzeug.serving import make_server

        assert listener is not None
        server = make_server(
            host, listener.getsockname()[1], app, threaded=True, fd=listener.fileno()
        )
    except BaseException:  # noqa: BLE001 - syntax errors, import errors, failing factories
        traceback.print_exc()
        sys.stderr.flush()
        _report_modules(before, meta_fd, root, last=True)
        return EXIT_IMPORT_FAILED
    _report_modules(before, meta_fd, root)
    # Report after the first requests too: they import lazily (json providers, encodings...).
    import threading

    timer = threading.Timer(LEARN_AFTER, _report_modules, (before, meta_fd, root, True))
    timer.daemon = True
    timer.start()
    print(
        f" * Serving {module} on http://{host}:{server.port} (warm fork, pid {os.getpid()})",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # stop politely: close_app() runs
    try:
        server.serve_forever(poll_interval=0.5)
    except SystemExit:
        pass
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    closer = getattr(mod, "close_app", None)  # e.g. closes a database pool
    if callable(closer):
        try:
            closer(app)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    raise SystemExit(0)


def _migrate(module: str) -> None:
    """Apply pending migrations (module.migrations.apply_pending) when the project has them."""
    if os.environ.get("DEVKIT_MIGRATE") != "1":
        return
    import importlib.util

    try:
        spec = importlib.util.find_spec(f"{module}.migrations")
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print("migrations skipped: DATABASE_URL is not set", file=sys.stderr, flush=True)
        return
    migrations = importlib.import_module(f"{module}.migrations")
    applied = migrations.apply_pending(url)
    if applied:
        print(f"applied migrations: {applied}", flush=True)


def _report_modules(before: set[str], meta_fd: int, root: str, last: bool = False) -> None:
    """Tell the parent which third-party modules this child imported (preloaded next time)."""
    names = []
    loaded = sys.modules.copy()  # atomic: other threads may be importing
    for name in set(loaded) - before:
        mod = loaded.get(name)
        path = getattr(mod, "__file__", None) or ""
        third_party = "site-packages" in path or "dist-packages" in path
        if not path or (path.startswith(root + os.sep) and not third_party):
            continue  # the project's own modules are imported fresh by every child
        names.append(name)
    try:
        os.write(meta_fd, json.dumps({"modules": sorted(names)}).encode() + b"\n")
    except OSError:
        pass
    if last:
        _close(meta_fd)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.warmfork")
    parser.add_argument("--module", default="server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default=",".join(PRELOAD))
    parser.add_argument("--no-learn", action="store_true")
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.control_fd)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    parent = WarmParent(
        args.module,
        args.host,
        args.port,
        control,
        tuple(p for p in args.preload.split(",") if p),
        learn=not args.no_learn,
    )
    try:
        return parent.run()
    finally:
        if parent.child is not None:
            parent.signal_child(signal.SIGKILL)
