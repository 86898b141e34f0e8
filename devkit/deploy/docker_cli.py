"""Running the docker CLI: one place that turns "not installed" and failures into DevkitErrors."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from devkit.errors import DevkitError


def docker_binary() -> str:
    path = shutil.which("docker")
    if path is None:
        raise DevkitError(
            "the docker command is not installed",
            "install Docker (Debian: apt-get install docker.io), or run scripts/docker-engine start",
        )
    return path


def run_docker(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    capture: bool = True,
    timeout: float = 600,
    what: str = "",
) -> str:
    """Run `docker ARGS`; its stdout (when captured). A non-zero exit raises DevkitError with the
    last lines docker printed."""
    try:
        done = subprocess.run(
            [docker_binary(), *args],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input_text,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DevkitError(
            f"docker {' '.join(args[:2])} did not finish within {timeout:.0f} s",
            "check the engine (docker info) and try again",
        ) from None
    if done.returncode != 0:
        detail = " ".join((done.stderr or "").strip().splitlines()[-3:]) if capture else ""
        raise DevkitError(
            f"{what or 'docker ' + ' '.join(args[:2])} failed"
            + (f": {detail}" if detail else f" (exit code {done.returncode})"),
            "is the Docker engine running? (docker info; scripts/docker-engine start)",
        )
    return done.stdout or ""
