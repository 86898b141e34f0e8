"""The HTTP GET under health probes: asyncio streams + h11 (the HTTP/1.1 protocol library httpx
itself is built on), one kept-alive connection per host and port.

Why not httpx here: probes run every few seconds for as long as `devkit up` runs, and through
httpx each one cost milliseconds of CPU (anyio, request/response models, cookie handling) -
most of devkit's idle CPU - and its import (~0.14 s) and client (an SSL context, ~15 ms) sat
on the start-up path. A probe needs a status code and a short body; this costs a fraction.
Like Kubernetes' httpGet probes, https certificates are not verified.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

MAX_BODY = 1024 * 1024  # a health answer is small; more is cut (and the connection dropped)


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


class ProbeClient:
    """`await client.get(url, timeout=2.0, headers=...)` -> Response. One loop only."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], _Conn] = {}
        self._ssl: ssl.SSLContext | None = None
        self.is_closed = False

    async def get(
        self, url: str, timeout: float = 2.0, headers: Mapping[str, str] | None = None
    ) -> Response:
        return await asyncio.wait_for(self._get(url, headers or {}), timeout)

    async def _get(self, url: str, headers: Mapping[str, str]) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        request = h11.Request(
            method="GET",
            target=target,
            headers=[("Host", host), ("Accept", "*/*"), *headers.items()],
        )
        conn = self._idle.pop(key, None)
        if conn is not None:  # a kept-alive connection the server may have closed meanwhile
            try:
                return await self._exchange(key, conn, request)
            except (ConnectionError, h11.RemoteProtocolError, asyncio.IncompleteReadError):
                pass
        return await self._exchange(key, await self._connect(key), request)

    async def _connect(self, key: tuple[str, str, int]) -> _Conn:
        scheme, hostname, port = key
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
            context = self._ssl
        reader, writer = await asyncio.open_connection(hostname, port, ssl=context)
        return _Conn(reader, writer)

    async def _exchange(
        self, key: tuple[str, str, int], conn: _Conn, request: h11.Request
    ) -> Response:
        kept = False
        try:
            conn.writer.write(conn.h11.send(request) + (conn.h11.send(h11.EndOfMessage()) or b""))
            await conn.writer.drain()
            status, body = 0, bytearray()
            while True:
                event = conn.h11.next_event()
                if event is h11.NEED_DATA:
                    data = await conn.reader.read(65536)
                    if not data and conn.h11.their_state is h11.SEND_RESPONSE and not status:
                        raise ConnectionResetError("the server closed the connection")
                    conn.h11.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        del body[MAX_BODY:]
                        break
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
            if (
                conn.h11.our_state is h11.DONE
                and conn.h11.their_state is h11.DONE
                and not self.is_closed
            ):
                conn.h11.start_next_cycle()
                previous = self._idle.pop(key, None)
                if previous is not None:
                    previous.close()
                self._idle[key] = conn
                kept = True
            return Response(status, bytes(body))
        finally:
            if not kept:  # failed, cancelled, cut or not reusable: never reuse half a reply
                conn.close()

    async def aclose(self) -> None:
        self.is_closed = True
        idle, self._idle = self._idle, {}
        for conn in idle.values():
            conn.close()
            try:
                await conn.writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass
