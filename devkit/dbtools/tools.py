"""Where pg_dump / psql run: on this host, or inside the dev PostgreSQL container.

Backup, restore, verify and `db psql` only see a DbTools: `argv(name, args, target)` gives the
command line and environment, `popen(...)` starts it. The password travels in PGPASSWORD (for
`docker exec`, `-e PGPASSWORD` copies it from our environment), never on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from devkit.dbtools.container import ContainerRef, find_postgres_container
from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError
from devkit.host import pgcluster

BinaryLookup = Callable[[str, "int | None"], "Path | None"]

CLIENT_HINT = (
    "install the PostgreSQL client tools matching the server (Debian/Ubuntu: apt-get install "
    "postgresql-client; macOS: brew install libpq) or run the database in Docker (devkit up)"
)


class DbTools(Protocol):
    @property
    def where(self) -> str: ...

    def argv(
        self, name: str, args: list[str], target: DbTarget, interactive: bool = False
    ) -> tuple[list[str], dict[str, str]]: ...


def _connection_args(name: str, target: DbTarget, host: str, port: int) -> list[str]:
    return ["-h", host, "-p", str(port), "-U", target.user, f"--dbname={target.dbname}"]


@dataclass
class HostTools:
    """Client binaries on this machine, looked up by name and the server's major version."""

    major: int | None = None
    lookup: BinaryLookup = pgcluster.find_client_binary

    @property
    def where(self) -> str:
        found = self.lookup("psql", self.major)
        return f"host ({found.parent})" if found else "host"

    def binary(self, name: str) -> Path:
        found = self.lookup(name, self.major)
        if found is None:
            raise DevkitError(
                f"{name} was not found on this machine and the database does not "
                "run in a container devkit could use",
                CLIENT_HINT,
            )
        return found

    def argv(
        self, name: str, args: list[str], target: DbTarget, interactive: bool = False
    ) -> tuple[list[str], dict[str, str]]:
        env = dict(
            os.environ, PGPASSWORD=target.password, PGAPPNAME="devkit", PGCONNECT_TIMEOUT="10"
        )
        return (
            [
                str(self.binary(name)),
                *_connection_args(name, target, target.host, target.port),
                *args,
            ],
            env,
        )


@dataclass
class ContainerTools:
    """The client binaries inside the PostgreSQL container, through `docker exec`."""

    container: ContainerRef
    docker_cli: str = "docker"

    @property
    def where(self) -> str:
        return f"container {self.container.name}"

    def argv(
        self, name: str, args: list[str], target: DbTarget, interactive: bool = False
    ) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ, PGPASSWORD=target.password)
        if self.container.docker_host:
            env["DOCKER_HOST"] = self.container.docker_host
        flags = ["-it"] if interactive else ["-i"]
        argv = [
            self.docker_cli,
            "exec",
            *flags,
            "-e",
            "PGPASSWORD",
            "-e",
            "PGAPPNAME=devkit",
            self.container.id,
            name,
            *_connection_args(name, target, "127.0.0.1", self.container.internal_port),
            *args,
        ]
        return argv, env


def popen(
    tools: DbTools, name: str, args: list[str], target: DbTarget, **kwargs: Any
) -> subprocess.Popen[bytes]:
    """Start `name` where `tools` runs it (a Popen, or a Popen-like through the Docker API)."""
    start = getattr(tools, "start", None)
    if start is not None:
        return start(name, args, target, **kwargs)
    argv, env = tools.argv(name, args, target)
    try:
        return subprocess.Popen(argv, env=env, **kwargs)
    except FileNotFoundError:
        raise DevkitError(f"cannot run {argv[0]}", CLIENT_HINT) from None


def select_tools(
    target: DbTarget,
    lookup: BinaryLookup = pgcluster.find_client_binary,
    find_container: Callable[[], ContainerRef | None] = find_postgres_container,
    docker_cli: str | None = None,
) -> DbTools:
    """Host binaries of the server's major version; else the container's; else newer host ones.

    pg_dump refuses servers newer than itself, so an older host binary is used only when
    nothing else exists (and then fails with its own clear message).
    """
    major = target.server_major()
    host = lookup("pg_dump", major)
    host_major = pgcluster.binary_major(host) if host else None
    if host and host_major == major:
        return HostTools(major, lookup)
    container = find_container()
    cli = docker_cli if docker_cli is not None else shutil.which("docker")
    if container is not None:
        if cli:
            return ContainerTools(container, cli)
        from devkit.dbtools.sdk_exec import SdkContainerTools

        return SdkContainerTools(container)
    if host and host_major is not None and host_major > major:
        return HostTools(major, lookup)
    if host:
        raise DevkitError(
            f"{host} is PostgreSQL {host_major}, older than the server "
            f"({major}); pg_dump cannot dump a newer server",
            CLIENT_HINT,
        )
    raise DevkitError(
        "pg_dump was not found on this machine and the database does not run in "
        "a container devkit could use",
        CLIENT_HINT,
    )


def stderr_tail(handle: IO[bytes], limit: int = 600) -> str:
    handle.seek(0)
    text = handle.read().decode("utf-8", "replace").strip()
    return text[-limit:]
