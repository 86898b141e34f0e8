"""The one way devkit reaches a Docker engine: which engine (DOCKER_HOST, or the project's
private engine from `scripts/docker-engine env`), a client that answered ping, and a short
reason when a call fails.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

COMPOSE_PROJECT = "aios"


def docker_host(root: Path | None = None) -> str:
    """DOCKER_HOST from the environment, else from `scripts/docker-engine env`, else ""."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    return _engine_script_host((root or Path.cwd()).resolve())


@functools.lru_cache(maxsize=8)
def _engine_script_host(root: Path) -> str:
    """Asked once per project root: the private engine's socket path does not move while
    devkit runs, and the answer costs a subprocess (run-state writes ask often)."""
    script = root / "scripts" / "docker-engine"
    if not script.is_file():
        return ""
    try:
        out = subprocess.run(
            [str(script), "env"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in out.splitlines():
        line = line.strip().removeprefix("export ")
        if line.startswith("DOCKER_HOST="):
            return line.split("=", 1)[1].strip().strip("'\"")
    return ""


def open_client(host: str, timeout: float, version: str | None = None) -> Any:
    """A docker SDK client for `host` ("" = the SDK's default from the environment). Raises
    ImportError without the SDK and the SDK's errors when the engine cannot be set up."""
    import docker

    kwargs: dict[str, Any] = {"timeout": int(timeout) or 1}
    if version:
        kwargs["version"] = version
    if host:
        return docker.DockerClient(base_url=host, **kwargs)
    return docker.from_env(**kwargs)


def docker_client(root: Path | None = None, timeout: int = 3) -> Any | None:
    """A docker SDK client that answered ping, or None (no SDK, no engine)."""
    try:
        client = open_client(docker_host(root), timeout)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return None


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
    return text if len(text) <= limit else text[: limit - 3] + "..."


class EnginePing:
    """Whether the engine at `host` answers a ping within `timeout` seconds, on a client of its
    own (created when the engine first answers: the SDK asks the API version on creation)."""

    def __init__(self, host: str, timeout: float = 1.0) -> None:
        self.host, self.timeout = host, timeout
        self._client: Any = None

    def __call__(self) -> bool:
        try:
            if self._client is None:
                self._client = open_client(self.host, self.timeout)
            return bool(self._client.ping())
        except Exception:  # noqa: BLE001 - any failure: not answering
            return False

    def steady(self, grace: float, step: float = 0.1) -> bool:
        """Answers now and keeps answering for `grace` seconds (an engine that is shutting
        down still answers for a moment)."""
        import time

        deadline = time.monotonic() + grace
        while self():
            if time.monotonic() >= deadline:
                return True
            time.sleep(step)
        return False

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
