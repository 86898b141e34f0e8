"""The control API server: HTTP/1.1 on a Unix socket, on the supervisor's event loop.

Why not aiohttp: the protocol needs five routes, GET/POST without bodies, JSON answers and one
streaming response; a ~200-line reader on asyncio streams does that, loads in no time in every
`devkit up` (aiohttp costs ~0.1 s of imports) and leaves nothing to configure. One request per
connection (`Connection: close`), which every HTTP client and `curl --unix-socket` handle.

Safety: the socket is created under a temporary name, chmod 0600 and renamed into place (so
it is never reachable with looser permissions under its real name), and every peer's uid is
checked with SO_PEERCRED: another uid gets 403 even if the mode was loosened by hand.

Bounded: each follower of /events has a queue of QUEUE_LIMIT events filled by the bus (any
thread); a follower whose queue overflows, or whose socket does not take a write within
WRITE_TIMEOUT, is dropped (it gets a last `notice` when possible) so a stuck client never
holds memory or slows the supervisor.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from devkit.core.control import protocol
from devkit.core.control.sockpath import short_path
from devkit.core.controller import Controller
from devkit.core.events import Event, LogLine, Notice, ShutdownProgress, StateChanged, Stopped

QUEUE_LIMIT = 20_000  # events waiting for one follower before it is dropped
WRITE_TIMEOUT = 10.0  # seconds a follower's socket may refuse to take data
CLOSE_GRACE = 2.0  # on exit, time followers get to receive the last events
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}
REASONS.update({405: "Method Not Allowed", 413: "Request Too Large", 500: "Internal Error"})


class Query:
    """The filters of /logs and /events: components, last n lines, lines since a time."""

    def __init__(self, params: dict[str, list[str]]) -> None:
        self.components = [c for value in params.get("component", []) for c in value.split(",")]
        self.components = [c for c in self.components if c]
        self.n = _number(params, "n", int)
        self.since = _number(params, "since", float)
        self.logs = params.get("logs", ["1"])[-1] not in ("0", "false", "no")

    def wants(self, event: Event) -> bool:
        if not self.components:
            return True
        component = getattr(event, "component", None)
        if isinstance(event, (LogLine, StateChanged, ShutdownProgress)) or (
            isinstance(event, Notice) and event.component
        ):
            return component in self.components
        return True

    def history(self, controller: Controller) -> list[LogLine]:
        if len(self.components) == 1:
            lines = controller.logs(self.components[0])
        else:
            lines = [line for line in controller.logs(None) if self.wants(line)]
        if self.since is not None:
            lines = [line for line in lines if line.at >= self.since]
        return lines[-self.n :] if self.n is not None else lines


def _number(params: dict[str, list[str]], name: str, kind: type) -> Any:
    values = params.get(name)
    if not values:
        return None
    try:
        value = kind(values[-1])
    except ValueError:
        raise _HttpError(400, f"{name}={values[-1]!r} is not a number") from None
    if value < 0:
        raise _HttpError(400, f"{name} must not be negative")
    return value


class _HttpError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Follower:
    """One /events client: a bounded queue filled from any thread, drained by its task."""

    def __init__(self, loop: asyncio.AbstractEventLoop, query: Query, limit: int) -> None:
        self.loop, self.query, self.limit = loop, query, limit
        self.items: deque[Event] = deque()
        self.lock = threading.Lock()
        self.wake = asyncio.Event()
        self.overflow = False
        self._pending = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLine) and not self.query.logs:
            return
        if not self.query.wants(event):
            return
        with self.lock:
            if self.overflow:
                return
            if len(self.items) >= self.limit:
                self.overflow = True
            else:
                self.items.append(event)
            if self._pending:
                return
            self._pending = True
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # loop closed
            pass

    def take(self) -> list[Event]:
        with self.lock:
            items = list(self.items)
            self.items.clear()
            self._pending = False
            self.wake.clear()
        return items


class ControlServer:
    """Serves `controller` on `.devkit/control.sock` while started."""

    def __init__(
        self,
        controller: Controller,
        state_dir: Path,
        info: Callable[[], dict[str, Any]] = dict,
        *,
        queue_limit: int = QUEUE_LIMIT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.controller = controller
        self.path = protocol.socket_path(state_dir)
        self.info = info
        self.queue_limit = queue_limit
        self.write_timeout = write_timeout
        self.followers: set[_Follower] = set()
        self.dropped = 0  # followers dropped for being too slow
        self.refused = 0  # connections from another uid
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._inode: int | None = None
        self._closing = False

    # --- life ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind (replacing a stale socket a killed devkit left) and listen."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with short_path(tmp) as address:
                try:
                    os.unlink(address)
                except FileNotFoundError:
                    pass
                sock.bind(address)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._inode = self.path.stat().st_ino
        except BaseException:
            sock.close()
            tmp.unlink(missing_ok=True)
            raise
        self._server = await asyncio.start_unix_server(
            self._connection, sock=sock, limit=protocol.MAX_REQUEST_BYTES
        )

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Stop listening, let followers receive what is queued (Stopped), remove the socket."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for follower in list(self.followers):
            follower.wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass

    # --- one connection -----------------------------------------------------------------------
    def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not _same_user(writer.get_extra_info("socket")):
                self.refused += 1
                await self._reply(writer, 403, {"error": "this devkit belongs to another user"})
                return
            try:
                method, path, params = await self._request(reader)
            except _HttpError as exc:
                await self._reply(writer, exc.code, {"error": str(exc)})
                return
            if method == "GET" and path == "/events":
                await self._events(reader, writer, Query(params))
                return
            try:
                code, body = self._route(method, path, params)
            except _HttpError as exc:
                code, body = exc.code, {"error": str(exc)}
            await self._reply(writer, code, body)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bug here must not reach the supervisor
            try:
                await self._reply(writer, 500, {"error": f"{type(exc).__name__}: {exc}"})
            except (ConnectionError, TimeoutError, RuntimeError):
                pass
        finally:
            writer.close()

    async def _request(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, list[str]]]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except asyncio.LimitOverrunError:
            raise _HttpError(413, "request headers too large") from None
        except asyncio.IncompleteReadError as exc:
            head = exc.partial
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _HttpError(400, "not an HTTP request")
        url = urlsplit(parts[1])
        return parts[0].upper(), url.path.rstrip("/") or "/", parse_qs(url.query)

    async def _reply(self, writer: asyncio.StreamWriter, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        head = (
            f"HTTP/1.1 {code} {REASONS.get(code, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await asyncio.wait_for(writer.drain(), self.write_timeout)

    # --- routes -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "devkit": self.info(),
            "components": [protocol.status_to_json(s) for s in self.controller.snapshot()],
        }

    def _route(
        self, method: str, path: str, params: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        gets: dict[str, Callable[[], dict[str, Any]]] = {
            "/status": self.status,
            "/logs": lambda: {
                "lines": [protocol.line_to_json(x) for x in Query(params).history(self.controller)]
            },
        }
        if path in gets:
            if method != "GET":
                raise _HttpError(405, f"{path} takes GET")
            return 200, gets[path]()
        if method != "POST":
            if path in ("/restart", "/down") or parts[0] == "components":
                raise _HttpError(405, f"{path} takes POST")
            raise _HttpError(404, f"no such endpoint: {path}")
        if path == "/restart":
            self.controller.request_restart_all()
            return 202, {"ok": True}
        if path == "/down":
            force = params.get("force", ["0"])[-1] in ("1", "true", "yes")
            self.controller.request_shutdown(force=force)
            return 202, {"ok": True}
        if len(parts) == 3 and parts[0] == "components":
            name, action = unquote(parts[1]), parts[2]
            commands: dict[str, Callable[[str], None]] = {
                "restart": self.controller.request_restart,
                "stop": self.controller.request_stop,
                "start": self.controller.request_start,
            }
            if action not in commands:
                raise _HttpError(404, f"no such action: {action} (restart, stop, start)")
            names = [s.name for s in self.controller.snapshot()]
            if name not in names:
                raise _HttpError(
                    404, f"no component named {name!r} (there are: {', '.join(names)})"
                )
            commands[action](name)
            return 202, {"ok": True}
        raise _HttpError(404, f"no such endpoint: {path}")

    async def _events(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, query: Query
    ) -> None:
        follower = _Follower(asyncio.get_running_loop(), query, self.queue_limit)
        unsubscribe = self.controller.subscribe(follower)  # before the history: no gap
        self.followers.add(follower)
        try:
            history = query.history(self.controller) if query.logs else []
            seen = {id(line) for line in history}
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
            )
            chunks = [head.encode(), protocol.sse("snapshot", self.status())]
            chunks += [protocol.sse("log", protocol.line_to_json(line)) for line in history]
            chunks.append(protocol.sse("live", {}))
            await self._write(writer, b"".join(chunks))
            gone = asyncio.ensure_future(reader.read(1))  # EOF: the client went away
            try:
                await self._follow(writer, follower, seen, gone)
            finally:
                gone.cancel()
        finally:
            unsubscribe()
            self.followers.discard(follower)

    async def _follow(
        self,
        writer: asyncio.StreamWriter,
        follower: _Follower,
        seen: set[int],
        gone: asyncio.Future[bytes],
    ) -> None:
        while True:
            woken: asyncio.Future[Any] = asyncio.ensure_future(follower.wake.wait())
            waits: set[asyncio.Future[Any]] = {woken, gone}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if gone.done():
                return
            events = follower.take()
            if seen:  # lines published between subscribe() and the history read
                events = [e for e in events if id(e) not in seen]
                seen.clear()
            stopped = any(isinstance(e, Stopped) for e in events)
            data = b"".join(protocol.sse(*protocol.event_to_json(e)) for e in events)
            if follower.overflow:
                self.dropped += 1
                notice = Notice("dropped: this client read events too slowly", "error")
                data += protocol.sse(*protocol.event_to_json(notice))
                writer.write(data)  # a last try, without waiting for it
                writer.transport.abort()
                return
            if data:
                await self._write(writer, data)
            if stopped or (self._closing and not follower.items):
                return

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        try:
            await asyncio.wait_for(writer.drain(), self.write_timeout)
        except TimeoutError:
            self.dropped += 1
            transport = writer.transport
            transport.abort()
            raise


def _same_user(sock: socket.socket | None) -> bool:
    """SO_PEERCRED: the connecting process runs as our uid."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return sock is not None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


async def serving(
    controller: Controller,
    state_dir: Path,
    info: Callable[[], dict[str, Any]],
    main: Awaitable[int],
    on_error: Callable[[str], None] = lambda text: None,
) -> int:
    """Run `main` (the supervisor) with the control server up; the socket goes with it."""
    server = ControlServer(controller, state_dir, info)
    try:
        await server.start()
    except OSError as exc:
        on_error(f"control socket not available ({exc}): `devkit logs/attach` will not work")
        return await main
    try:
        return await main
    finally:
        await server.close()
