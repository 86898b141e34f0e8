"""`devkit deploy swarm up|down|status`: deploy/stack.yml on the current Docker engine.

`up` checks what `docker stack deploy` would only half report: the engine is a swarm manager
and the external secrets exist (their names come from the stack file itself).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from devkit.deploy.docker_cli import run_docker
from devkit.errors import DevkitError

DEFAULT_STACK = "aios"


def stack_file(root: Path) -> Path:
    path = root / "deploy" / "stack.yml"
    if not path.is_file():
        raise DevkitError(f"no deploy/stack.yml under {root}", "run devkit from the project")
    return path


def external_secrets(path: Path) -> list[str]:
    """The names of the Docker secrets the stack expects to exist already."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = []
    for key, spec in (data.get("secrets") or {}).items():
        if isinstance(spec, dict) and spec.get("external"):
            names.append(str(spec.get("name") or key))
    return names


def swarm_state() -> str:
    """'active' on a swarm node; 'inactive', 'pending', ... otherwise."""
    return run_docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).strip()


def require_swarm() -> None:
    if swarm_state() != "active":
        raise DevkitError(
            "this Docker engine is not part of a swarm",
            "docker swarm init --advertise-addr 127.0.0.1 (one machine), or run on a manager",
        )


def missing_secrets(path: Path) -> list[str]:
    present = set(run_docker(["secret", "ls", "--format", "{{.Name}}"]).split())
    return [name for name in external_secrets(path) if name not in present]


def up(root: Path, stack: str = DEFAULT_STACK, env: Mapping[str, str] | None = None) -> None:
    path = stack_file(root)
    require_swarm()
    missing = missing_secrets(path)
    if missing:
        raise DevkitError(
            "the stack needs Docker secrets that do not exist: " + ", ".join(missing),
            "devkit deploy secrets --env-file .env.production prints the commands that create them",
        )
    run_docker(
        ["stack", "deploy", "--prune", "-c", str(path), stack],
        env={**os.environ, **(env or {})},
        what=f"docker stack deploy of {stack}",
    )


def down(stack: str = DEFAULT_STACK) -> None:
    require_swarm()
    run_docker(["stack", "rm", stack], what=f"docker stack rm {stack}")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    mode: str
    replicas: str  # "running/desired"
    image: str

    @property
    def healthy(self) -> bool:
        running, _, desired = self.replicas.partition("/")
        return bool(desired) and running == desired.split()[0]


def status(stack: str = DEFAULT_STACK) -> list[ServiceStatus]:
    require_swarm()
    out = run_docker(["stack", "services", stack, "--format", "{{json .}}"])
    services = []
    for line in out.splitlines():
        if line.strip():
            row = json.loads(line)
            services.append(
                ServiceStatus(
                    name=row.get("Name", ""),
                    mode=row.get("Mode", ""),
                    replicas=row.get("Replicas", ""),
                    image=row.get("Image", ""),
                )
            )
    return sorted(services, key=lambda s: s.name)
