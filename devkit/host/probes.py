"""Readiness and health probes: http, tcp, exec, log-line regex. Each returns Health.

Every probe is bounded by its timeout and never raises: a failure is Health(False, why).
HTTP probes share one ProbeClient per event loop (devkit.host.httpget: h11 over asyncio
streams, kept-alive connections); `close_http_clients()` releases them at shutdown.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from devkit.host.health import FAILURE_THRESHOLD, SUCCESS_THRESHOLD, Health
from devkit.settings.config import ProbeSettings

if TYPE_CHECKING:
    from devkit.host.httpget import ProbeClient

_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, ProbeClient] = WeakKeyDictionary()

# Servers may log these requests quietly (the AIOS API does): a probe every 2 s would
# otherwise fill the log view with "GET /status 200".
PROBE_HEADERS = {"X-Health-Check": "devkit"}


def http_client() -> Any:
    """The shared probe client (a ProbeClient) of the running loop: kept-alive connections,
    see httpget. Typed Any for callers that mix its futures with others in asyncio.wait."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        # imported here, at the first HTTP probe: h11 (~20 ms without bytecode) then loads
        # while the components just spawned start, not before devkit spawns them
        from devkit.host.httpget import ProbeClient

        client = _clients[loop] = ProbeClient()
    return client


async def close_http_clients() -> None:
    loop = asyncio.get_running_loop()
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()


class Probe(ABC):
    """One kind of check. `timeout` bounds one check; the thresholds say how many consecutive
    results change the state shown (see devkit.host.health.HealthGate)."""

    timeout: float = 2.0
    failure_threshold: int = FAILURE_THRESHOLD
    success_threshold: int = SUCCESS_THRESHOLD

    @abstractmethod
    async def check(self) -> Health: ...

    def feed(self, text: str) -> None:  # noqa: B027 - only log probes care
        """Every output line of the component (for log probes)."""

    def reset(self) -> None:  # noqa: B027
        """A new run of the component started."""


class HttpProbe(Probe):
    """GET url; healthy on 2xx/3xx (or `expect_status`) and, if given, `expect_body` in the body."""

    def __init__(
        self,
        url: str,
        timeout: float = 2.0,
        expect_body: str | None = None,
        expect_status: int | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.expect_body = expect_body
        self.expect_status = expect_status

    async def check(self) -> Health:
        try:
            response = await http_client().get(
                self.url, timeout=self.timeout, headers=PROBE_HEADERS
            )
        except TimeoutError:
            return Health(False, f"GET {self.url}: no answer within {self.timeout:g}s")
        except OSError as exc:
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            return Health(False, f"GET {self.url}: {why}")
        except Exception as exc:  # noqa: BLE001 - any failure is "not healthy"
            return Health(False, f"GET {self.url}: {type(exc).__name__} {exc}".strip())
        status_ok = (
            response.status_code == self.expect_status
            if self.expect_status
            else response.status_code < 400
        )
        if not status_ok:
            return Health(False, f"GET {self.url}: HTTP {response.status_code}")
        if self.expect_body is not None and self.expect_body not in response.text:
            return Health(False, f"GET {self.url}: answer is not {self.expect_body!r}")
        return Health(True, f"HTTP {response.status_code}")


class TcpProbe(Probe):
    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    @classmethod
    def parse(cls, target: str, timeout: float = 2.0) -> TcpProbe:
        host, _, port = target.rpartition(":")
        return cls(host.strip("[]") or "127.0.0.1", int(port), timeout)

    async def check(self) -> Health:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            return Health(False, f"tcp {self.host}:{self.port}: {exc or 'timeout'}")
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return Health(True, f"tcp {self.host}:{self.port} open")


class ExecProbe(Probe):
    """A shell command; healthy when it exits 0 within the timeout."""

    def __init__(
        self,
        command: str,
        timeout: float = 2.0,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command, self.timeout, self.cwd = command, timeout, cwd
        self.env = dict(env) if env is not None else None

    async def check(self) -> Health:
        try:
            proc = await asyncio.create_subprocess_shell(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return Health(False, f"{self.command}: {exc}")
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            from devkit.host.proc import kill_group

            kill_group(proc.pid)
            await proc.wait()
            return Health(
                False, f"{shlex.split(self.command)[0]}: timed out after {self.timeout:g}s"
            )
        text = out.decode("utf-8", "replace").strip().splitlines()
        last = text[-1][:200] if text else ""
        if proc.returncode == 0:
            return Health(True, last)
        return Health(False, f"exit {proc.returncode}" + (f": {last}" if last else ""))


class LogProbe(Probe):
    """Healthy once a line matching `pattern` was printed in the current run."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self.matched: str | None = None

    def feed(self, text: str) -> None:
        if self.matched is None and self.pattern.search(text):
            self.matched = text

    def reset(self) -> None:
        self.matched = None

    async def check(self) -> Health:
        if self.matched is not None:
            return Health(True, f"saw {self.matched[:80]!r}")
        return Health(False, f"waiting for a line matching {self.pattern.pattern!r}")


def probe_from_settings(
    spec: ProbeSettings, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Probe:
    probe: Probe
    if spec.kind == "http":
        probe = HttpProbe(spec.target, spec.timeout)
    elif spec.kind == "tcp":
        probe = TcpProbe.parse(spec.target, spec.timeout)
    elif spec.kind == "exec":
        probe = ExecProbe(spec.target, spec.timeout, cwd, env)
    elif spec.kind == "log":
        probe = LogProbe(spec.target)
    else:
        raise ValueError(f"unknown probe kind {spec.kind!r}")
    probe.failure_threshold = spec.failure_threshold
    probe.success_threshold = spec.success_threshold
    return probe
