"""Which PostgreSQL backend `devkit up` uses, and the service for it.

auto (default): docker when a Docker engine answers a ping (bounded to under a second), else
the local binaries; neither -> one error naming both fixes. `--db-backend` / `db_backend`
force one; a forced backend that is unavailable is an error naming the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devkit.core.service import Service
from devkit.errors import BackendUnavailableError, ConfigError
from devkit.host import pgcluster
from devkit.host.docker import docker_error_text, docker_host, open_client
from devkit.settings.config import DB_BACKENDS, Settings

PING_TIMEOUT = 0.8
DOCKER_FIX = (
    "start Docker (Docker Desktop, `sudo systemctl start docker`, or scripts/docker-engine start)"
)


@dataclass(frozen=True)
class BackendChoice:
    kind: str  # "docker" | "native"
    reason: str


def docker_engine(settings: Settings, timeout: float = PING_TIMEOUT) -> tuple[bool, str]:
    """(answers, where or why not), within about `timeout` seconds."""
    try:
        import docker  # noqa: F401 - only: is the SDK installed?
    except ImportError:
        return False, "the docker SDK for Python is not installed"
    host = docker_host(settings.root)
    where = host or "the default Docker socket"
    started = time.monotonic()
    try:
        client = open_client(host, timeout, version="1.41")
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return False, f"no Docker engine at {where} ({docker_error_text(exc)})"
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return False, f"no Docker engine answers at {where} ({docker_error_text(exc)})"
    finally:
        client.close()
    return True, f"Docker engine answers at {where} ({(time.monotonic() - started) * 1000:.0f} ms)"


def choose_backend(
    settings: Settings,
    requested: str | None = None,
    *,
    bindir_lookup: Callable[[], Path | None] = pgcluster.find_bindir,
) -> BackendChoice:
    """`requested` (the --db-backend flag) wins over the setting; bindir_lookup is a seam."""
    kind = requested or settings.db_backend or "auto"
    if kind not in DB_BACKENDS:
        raise ConfigError(
            f"--db-backend {kind!r} is not a backend", f"use one of {', '.join(DB_BACKENDS)}"
        )
    source = "--db-backend" if requested else "db_backend setting"
    if kind == "native":
        bindir = bindir_lookup()
        if bindir is None:
            raise BackendUnavailableError(
                "db backend native: no PostgreSQL server binaries (initdb, postgres) found",
                pgcluster.INSTALL_HINT,
            )
        return BackendChoice("native", f"{source} native; binaries in {bindir}")
    if kind == "docker":
        ok, why = docker_engine(settings)
        if not ok:
            raise BackendUnavailableError(
                f"db backend docker: {why}", f"{DOCKER_FIX}, or use --db-backend native"
            )
        return BackendChoice("docker", f"{source} docker; {why}")
    ok, why = docker_engine(settings)
    if ok:
        return BackendChoice("docker", why)
    bindir = bindir_lookup()
    if bindir is not None:
        return BackendChoice("native", f"{why}; using the PostgreSQL binaries in {bindir}")
    raise BackendUnavailableError(
        f"no PostgreSQL backend: {why}, and no local PostgreSQL binaries were found",
        f"either {DOCKER_FIX}, or install PostgreSQL (Debian/Ubuntu: apt-get install "
        "postgresql; macOS: brew install postgresql@16) and run with --db-backend native",
    )


def make_postgres_service(settings: Settings, choice: BackendChoice) -> Service:
    if choice.kind == "docker":
        from devkit.services.postgres_docker import DockerPostgresService

        return DockerPostgresService(settings)
    from devkit.services.postgres_native import NativePostgresService

    return NativePostgresService(settings)
