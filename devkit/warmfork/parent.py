"""The warm parent of the API (ForkServer): imports the heavy libraries once, binds the port
once, forks a fresh child per change.

A restart of a Flask app costs ~150 ms, nearly all of it the interpreter start and the imports
of flask, psycopg and friends. This process pays that once; each child imports only the
project's own module and serves on the inherited socket (child.py). During a swap the replaced
child stops accepting (paused; again accepting if the new one takes over PAUSE_LIMIT), so
connections wait in the socket's backlog for the new code instead of being refused; it
finishes the requests it holds (drain) once the new one accepts; while no child can serve,
the crash page answers 503 with the error (crashpage.py). Messages: protocol.py.

Run as `python -m devkit.warmfork --module server --port 5000 --control-fd N` with the
project root as working directory. Only the standard library is imported here at start.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from devkit.warmfork import child, codecache, preloads, protocol, routecache
from devkit.warmfork.crashpage import CrashPage

OUTPUT_GRACE = 0.2  # s to collect a dead child's last output before reporting its exit


@dataclass
class Child:
    """One forked child as the parent sees it."""

    pid: int
    fds: set[int] = field(default_factory=set)
    serving: bool = False
    crash: dict[str, Any] | None = None
    kill_at: float | None = None  # SIGKILL its group then
    drain: float | None = None  # replaced: drain within this many seconds once the next serves
    resume_at: float | None = None  # replaced and paused: accept again then (slow new child)


class ForkServer:
    def __init__(
        self,
        module: str,
        host: str,
        port: int,
        control: socket.socket,
        preload: tuple[str, ...],
        learn: bool = True,
        workers: int = child.WORKERS,
        keep_dir: str | None = None,
    ) -> None:
        self.module = module
        self.workers = workers
        self.host = host
        self.port = port
        self.control = control
        self.preload = preload
        self.learner = preloads.Learner(
            learn, os.path.join(keep_dir, preloads.LEARNED_FILE) if keep_dir and learn else None
        )
        self.code_store = os.path.join(keep_dir, codecache.STORE_FILE) if keep_dir else None
        self.code_saved = True  # the store holds what the cache holds
        self.warm_due: float | None = None  # when idle: compile saved sources, bind new routes
        self.routes: set[str] = set()  # reported by the children
        self.routes_warmed: set[str] = set()
        self.root = os.getcwd()
        self.sel = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.crash_page: CrashPage | None = None
        self.child: Child | None = None  # the current child
        self.replaced: dict[int, Child] = {}  # older children, draining or waiting to
        self.pipes: dict[int, tuple[Child, str]] = {}  # fd -> (child, stdout|stderr|meta)
        self.partial: dict[int, bytes] = {}
        self.meta: dict[int, protocol.LineReader] = {}
        self.reaped: tuple[int, int] | None = None  # the current child's end, output pending
        self.reaped_at = 0.0
        self.quitting = False
        self.commands = protocol.LineReader()
        self.wake_r, self.wake_w = os.pipe()

    # --- output to devkit ------------------------------------------------------------------
    def send(self, **event: Any) -> None:
        self.send_raw(protocol.encode(**event))

    def send_raw(self, data: bytes) -> None:
        try:
            self.control.sendall(data)
        except OSError:
            self.quitting = True

    # --- setup -----------------------------------------------------------------------------
    def bind(self) -> bool:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            self.send(
                ev=protocol.FATAL,
                errno=exc.errno or 0,
                text=f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
            )
            return False
        sock.listen(1024)
        # Non-blocking for every holder (the flag is shared): several children accept on it
        # during a swap, and the one that loses a race must not block in accept().
        sock.setblocking(False)
        sock.set_inheritable(True)
        self.listener = sock
        self.crash_page = CrashPage(self.sel, sock)
        return True

    # --- children --------------------------------------------------------------------------
    def fork_child(self) -> None:
        assert self.listener is not None and self.crash_page is not None
        self.crash_page.hide()  # the new child takes the backlog
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        meta_r, meta_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                child.die_with_parent(signal.SIGKILL)
                if os.getppid() != parent_pid:
                    os._exit(1)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                for fd in (out_r, err_r, meta_r, out_w, err_w, self.wake_r, self.wake_w):
                    protocol.close_fd(fd)
                for fd in list(self.pipes) + [
                    c.sock.fileno() for c in self.crash_page.conns.values()
                ]:
                    protocol.close_fd(fd)
                self.sel.close()
                self.control.close()
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
            except BaseException:  # noqa: BLE001
                os._exit(1)
            os._exit(
                child.serve(self.module, self.host, self.listener, meta_w, self.root, self.workers)
            )
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        for fd in (out_w, err_w, meta_w):
            os.close(fd)
        new = Child(pid)
        for fd, name in ((out_r, "stdout"), (err_r, "stderr"), (meta_r, "meta")):
            os.set_blocking(fd, False)
            self.pipes[fd] = (new, name)
            new.fds.add(fd)
            if name == "meta":
                self.meta[fd] = protocol.LineReader()
            self.sel.register(fd, selectors.EVENT_READ, "pipe")
        self.child = new
        self.send(ev=protocol.CHILD, pid=pid)

    def signal_child(self, c: Child, sig: int) -> None:
        try:
            os.killpg(c.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(c.pid, sig)
            except ProcessLookupError:
                pass

    def stop_child(self, c: Child, timeout: float) -> None:
        """SIGTERM (the child drains), SIGKILL after `timeout`."""
        if c.kill_at is None:
            self.signal_child(c, signal.SIGTERM)
            c.kill_at = time.monotonic() + max(0.0, timeout)

    def drain_replaced(self) -> None:
        """The new child serves (or failed): the replaced ones stop accepting and finish."""
        for c in self.replaced.values():
            c.resume_at = None
            if c.drain is not None:
                self.stop_child(c, c.drain)
                c.drain = None

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            old = self.replaced.pop(pid, None)
            if old is not None:
                self.signal_child(old, signal.SIGKILL)  # whatever it left in its group
                self.send(ev=protocol.DRAINED, pid=pid, code=code)
                continue
            c = self.child
            if c is None or pid != c.pid:
                continue
            self.signal_child(c, signal.SIGKILL)
            self.child = None
            self.reaped = (pid, code)
            self.reaped_at = time.monotonic()
            self.drain_replaced()  # it failed before serving: the old code must not linger
            self._take_meta(c)
            if c.crash is not None and not self.quitting and self.crash_page is not None:
                self.crash_page.show(c.crash)

    def read_pipe(self, fd: int) -> bool:
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
        owner, name = self.pipes[fd]
        if name == "meta":
            self._on_meta(owner, self.meta[fd].feed(data))
            return True
        *lines, self.partial[fd] = (self.partial.get(fd, b"") + data).split(b"\n")
        if lines:  # one write for what one read brought (access lines come in bursts)
            self.send_raw(
                b"".join(
                    protocol.encode(
                        ev=protocol.LOG,
                        stream=name,
                        text=line.decode("utf-8", "replace").rstrip("\r"),
                    )
                    for line in lines
                )
            )
        return True

    def close_pipe(self, fd: int) -> None:
        owner, name = self.pipes.pop(fd, (None, ""))
        rest = self.partial.pop(fd, b"")
        if rest and name != "meta":
            self.send(ev=protocol.LOG, stream=name, text=rest.decode("utf-8", "replace"))
        reader = self.meta.pop(fd, None)
        if reader is not None and owner is not None:
            self._on_meta(owner, reader.feed(b"", final=True))
        if owner is not None:
            owner.fds.discard(fd)
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        os.close(fd)

    def _take_meta(self, c: Child) -> None:
        """Read a dead child's meta pipe to the end (its crash report)."""
        for fd in [fd for fd in c.fds if self.pipes.get(fd, (None, ""))[1] == "meta"]:
            while fd in self.pipes and self.read_pipe(fd):
                pass

    def _on_meta(self, c: Child, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if "modules" in message:
                self.learner.add(message.get("modules") or [])
            if message.get("serving") and c is self.child and not c.serving:
                c.serving = True
                self.warm_due = time.monotonic() + preloads.LEARN_IDLE
                self.send(ev=protocol.SERVING, pid=c.pid)
                self.drain_replaced()
            if isinstance(message.get("crash"), dict):
                c.crash = message["crash"]
            if isinstance(message.get("routes"), list):
                self.routes.update(str(r) for r in message["routes"])
                if self.routes - self.routes_warmed and self.warm_due is None:
                    self.warm_due = time.monotonic() + preloads.LEARN_IDLE

    def warm_up_next(self) -> None:
        """Idle work for the next child: compile the sources saved since the last call (and
        keep them for the next warm parent) and bind the routes not bound yet (codecache.py,
        routecache.py)."""
        self.warm_due = None
        if codecache.refresh(self.root, self.module) or not self.code_saved:
            if self.code_store:
                codecache.save(self.code_store)
            self.code_saved = True
        new = self.routes - self.routes_warmed
        if new:
            routecache.warm(sorted(new))
            self.routes_warmed |= new

    def finish_exit(self, force: bool = False) -> None:
        """Report the current child's end once its output is drained (or after a grace)."""
        if self.reaped is None:
            return
        pid, code = self.reaped
        fds = [fd for fd, (owner, _) in self.pipes.items() if owner.pid == pid]
        if not force and fds and time.monotonic() - self.reaped_at < OUTPUT_GRACE:
            return
        for fd in fds:
            while fd in self.pipes and self.read_pipe(fd):
                pass
            if fd in self.pipes:
                self.close_pipe(fd)
        self.reaped = None
        self.send(ev=protocol.EXIT, pid=pid, code=code)

    # --- commands --------------------------------------------------------------------------
    def handle(self, command: dict[str, Any]) -> None:
        cmd = command.get("cmd")
        self.learner.postpone()
        if self.warm_due is not None:  # never compile on the way to a restart
            self.warm_due = time.monotonic() + preloads.LEARN_IDLE
        if cmd == protocol.START:
            drain = command.get("drain")
            c = self.child
            if c is not None:
                if drain is not None and c.serving and c.kill_at is None:
                    c.drain = float(drain)  # finishes its requests once the new child serves
                    self.replaced[c.pid] = c
                    # New connections wait for the new code in the backlog (no stale answer,
                    # and the new child's imports have the CPU), unless it is slow to load.
                    self.signal_child(c, protocol.PAUSE)
                    c.resume_at = time.monotonic() + protocol.PAUSE_LIMIT
                    self.child = None
                else:  # a start while one runs: replace it right away
                    self.signal_child(c, signal.SIGKILL)
                    self.wait_child_gone()
            self.finish_exit(force=True)
            self.fork_child()
        elif cmd == protocol.STOP:
            if self.child is not None:
                self.stop_child(self.child, float(command.get("timeout", 5.0)))
        elif cmd == protocol.QUIT:
            timeout = float(command.get("timeout", 5.0))
            for c in [self.child, *self.replaced.values()]:
                if c is not None:
                    self.stop_child(c, timeout)
            self.quitting = True

    def wait_child_gone(self) -> None:
        c = self.child
        if c is None:
            return
        try:
            pid, status = os.waitpid(c.pid, 0)
            self.reaped = (pid, os.waitstatus_to_exitcode(status))
            self.reaped_at = time.monotonic()
        except ChildProcessError:
            pass
        self.child = None

    def read_control(self) -> None:
        try:
            data = self.control.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # devkit is gone: nobody to serve
            self.handle({"cmd": protocol.QUIT, "timeout": 0.5})
            self.sel.unregister(self.control)
            return
        for command in self.commands.feed(data):
            self.handle(command)

    # --- main loop -------------------------------------------------------------------------
    def run(self) -> int:
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, self._on_term)
        codecache.install(self.root, self.module)
        if self.code_store:
            codecache.load(self.code_store)
        preloaded = preloads.warm_up((*self.preload, *sorted(self.learner.learned)))
        routecache.install()
        if not self.bind():
            return 2
        if codecache.refresh(self.root, self.module) and self.code_store:
            self.code_saved = False
            self.warm_due = time.monotonic() + preloads.LEARN_IDLE  # saved when idle
        assert self.crash_page is not None
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(self.control, selectors.EVENT_READ, "control")
        self.send(ev=protocol.READY, pid=os.getpid(), preloaded=preloaded)
        while True:
            for key, _ in self.sel.select(self._timeout()):
                if key.data == "wake":
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif key.data == "control":
                    self.read_control()
                elif key.data == "pipe":
                    if key.fd in self.pipes:
                        self.read_pipe(key.fd)
                else:
                    self.crash_page.on_ready(key)
            self.reap()
            now = time.monotonic()
            for c in [self.child, *self.replaced.values()]:
                if c is not None and c.kill_at is not None and now >= c.kill_at:
                    self.signal_child(c, signal.SIGKILL)
                    c.kill_at = None
            for c in self.replaced.values():
                if c.resume_at is not None and now >= c.resume_at:
                    self.signal_child(c, protocol.RESUME)  # old code rather than a long wait
                    c.resume_at = None
            self.crash_page.expire()
            self.finish_exit()
            if self.learner.due is not None and now >= self.learner.due and not self.quitting:
                self.learner.learn()
            if self.warm_due is not None and now >= self.warm_due and not self.quitting:
                self.warm_up_next()
            if self.quitting and self.child is None and not self.replaced:
                self.finish_exit(force=True)
                self.crash_page.close()
                return 0

    def _timeout(self) -> float | None:
        now = time.monotonic()
        moments = [c.kill_at for c in [self.child, *self.replaced.values()] if c and c.kill_at]
        moments += [c.resume_at for c in self.replaced.values() if c.resume_at]
        if self.reaped is not None:
            moments.append(self.reaped_at + OUTPUT_GRACE)
        if self.learner.due is not None:
            moments.append(self.learner.due)
        if self.warm_due is not None:
            moments.append(self.warm_due)
        if self.crash_page is not None and (deadline := self.crash_page.next_deadline()):
            moments.append(deadline)
        return max(0.0, min(moments) - now) if moments else None

    def _on_term(self, signum: int, frame: object) -> None:
        self.quitting = True
        for c in [self.child, *self.replaced.values()]:
            if c is not None:
                self.stop_child(c, 2.0)

    def kill_all(self) -> None:
        for c in [self.child, *self.replaced.values()]:
            if c is not None:
                self.signal_child(c, signal.SIGKILL)
