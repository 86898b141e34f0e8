"""pg_dump / psql inside the container through the Docker API when there is no docker CLI.

`SdkProcess` looks enough like subprocess.Popen for backup and restore: `stdout.read()`,
`stdin.write()/close()`, `wait()`, `poll()`, `kill()`. The exec's hijacked socket carries
multiplexed frames (8-byte header: stream, size); a thread splits them into a pipe (stdout)
and the caller's stderr file. Closing stdin half-closes the socket, which psql sees as EOF.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from devkit.dbtools.container import ContainerRef
from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError
from devkit.host.docker import open_client


class _SocketStdin:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def write(self, data: bytes) -> int:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise BrokenPipeError(str(exc)) from None
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                raise BrokenPipeError(str(exc)) from None


class SdkProcess:
    """One `docker exec` started through the API, with Popen's small interface."""

    def __init__(
        self,
        api: Any,
        container_id: str,
        argv: list[str],
        env: dict[str, str],
        stdin: bool,
        stdout: bool,
        stderr: IO[bytes] | None,
    ) -> None:
        self.api = api
        self.exec_id = api.exec_create(
            container_id, argv, stdin=stdin, stdout=True, stderr=True, environment=env
        )["Id"]
        hijacked = api.exec_start(self.exec_id, socket=True)
        self._sock: socket.socket = getattr(hijacked, "_sock", hijacked)
        self._sock.settimeout(None)  # a long restore prints nothing until it ends
        self.stdin = _SocketStdin(self._sock) if stdin else None
        self._stderr = stderr
        self._read_fd, self._write_fd = os.pipe() if stdout else (-1, -1)
        self.stdout = os.fdopen(self._read_fd, "rb") if stdout else None
        self.returncode: int | None = None
        self._reader = threading.Thread(target=self._demux, daemon=True)
        self._reader.start()

    def _recv_exact(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                break
            data.extend(chunk)
        return bytes(data)

    def _demux(self) -> None:
        try:
            while True:
                header = self._recv_exact(8)
                if len(header) < 8:
                    break
                kind, size = struct.unpack(">BxxxL", header)
                payload = self._recv_exact(size)
                if kind == 1 and self._write_fd >= 0:
                    try:
                        os.write(self._write_fd, payload)
                    except OSError:  # reader went away: keep draining
                        pass
                elif kind == 2 and self._stderr is not None:
                    self._stderr.write(payload)
        except OSError:
            pass
        finally:
            if self._write_fd >= 0:
                os.close(self._write_fd)
                self._write_fd = -1

    def poll(self) -> int | None:
        if self.returncode is None:
            info = self.api.exec_inspect(self.exec_id)
            if not info.get("Running"):
                self.returncode = int(info.get("ExitCode") or 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._reader.join(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("docker exec", timeout or 0)
            time.sleep(0.02)
        self._sock.close()
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        """Kill the process inside the container (its host pid; needs our privileges)."""
        pid = self.api.exec_inspect(self.exec_id).get("Pid")
        if pid:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass
class SdkContainerTools:
    """Like ContainerTools, through the Docker API (no docker CLI needed; no interactive psql)."""

    container: ContainerRef

    @property
    def where(self) -> str:
        return f"container {self.container.name} (Docker API)"

    def _command(self, name: str, args: list[str], target: DbTarget) -> list[str]:
        return [
            name,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.container.internal_port),
            "-U",
            target.user,
            f"--dbname={target.dbname}",
            *args,
        ]

    def argv(
        self, name: str, args: list[str], target: DbTarget, interactive: bool = False
    ) -> tuple[list[str], dict[str, str]]:
        raise DevkitError(
            f"{name} runs inside {self.container.name}, but there is no docker CLI "
            "to attach a terminal to it",
            "install the docker CLI or the PostgreSQL client (psql) on this machine",
        )

    def start(
        self,
        name: str,
        args: list[str],
        target: DbTarget,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
    ) -> SdkProcess:
        import docker

        try:
            client = open_client(self.container.docker_host, 30)
        except docker.errors.DockerException:
            client = None
        if client is None:
            raise DevkitError(
                "the Docker engine stopped answering",
                "start Docker again (devkit doctor checks it)",
            )
        return SdkProcess(
            client.api,
            self.container.id,
            self._command(name, args, target),
            {"PGPASSWORD": target.password, "PGAPPNAME": "devkit"},
            stdin=stdin == subprocess.PIPE,
            stdout=stdout == subprocess.PIPE,
            stderr=stderr if hasattr(stderr, "write") else None,
        )
