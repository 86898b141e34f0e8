"""Find the running dev PostgreSQL container (compose labels project=aios, service=postgres).

The engine is the one DOCKER_HOST names; when unset and the project has scripts/docker-engine
(a private engine for tests/CI), its `env` output supplies DOCKER_HOST.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPOSE_PROJECT = "aios"


@dataclass(frozen=True)
class ContainerRef:
    id: str
    name: str
    docker_host: str = ""  # "" = the docker CLI's default
    internal_port: int = 5432


def docker_host(root: Path | None = None) -> str:
    """DOCKER_HOST from the environment, else from `scripts/docker-engine env`, else ""."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    script = (root or Path.cwd()) / "scripts" / "docker-engine"
    if not script.is_file():
        return ""
    try:
        out = subprocess.run([str(script), "env"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in out.splitlines():
        line = line.strip().removeprefix("export ")
        if line.startswith("DOCKER_HOST="):
            return line.split("=", 1)[1].strip().strip("'\"")
    return ""


def docker_client(root: Path | None = None, timeout: int = 3) -> Any | None:
    """A docker SDK client that answered ping, or None (no SDK, no engine)."""
    try:
        import docker
    except ImportError:
        return None
    host = docker_host(root)
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout) if host \
            else docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return None


def find_postgres_container(root: Path | None = None,
                            service: str = "postgres") -> ContainerRef | None:
    client = docker_client(root)
    if client is None:
        return None
    try:
        found = client.containers.list(filters={
            "label": [f"com.docker.compose.project={COMPOSE_PROJECT}",
                      f"com.docker.compose.service={service}"],
            "status": "running"})
    except Exception:  # noqa: BLE001
        return None
    finally:
        client.close()
    if not found:
        return None
    return ContainerRef(id=found[0].id, name=found[0].name, docker_host=docker_host(root))


def docker_error_text(exc: BaseException, limit: int = 160) -> str:
    """A short reason for a failed engine call: the root OSError when there is one ("no socket
    at ...", "connection refused"), else the last line of the message."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, FileNotFoundError):
            return "no Docker socket there (the engine is not running)"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (the engine is not running)"
        if isinstance(current, PermissionError):
            return "permission denied on the Docker socket (add your user to the docker group)"
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    lines = str(exc).strip().splitlines()
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."

