"""Find the running dev PostgreSQL container (compose labels project=aios, service=postgres)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devkit.host.docker import COMPOSE_PROJECT, docker_client, docker_host

__all__ = ["COMPOSE_PROJECT", "ContainerRef", "find_postgres_container"]


@dataclass(frozen=True)
class ContainerRef:
    id: str
    name: str
    docker_host: str = ""  # "" = the docker CLI's default
    internal_port: int = 5432


def find_postgres_container(
    root: Path | None = None, service: str = "postgres"
) -> ContainerRef | None:
    client = docker_client(root)
    if client is None:
        return None
    try:
        found = client.containers.list(
            filters={
                "label": [
                    f"com.docker.compose.project={COMPOSE_PROJECT}",
                    f"com.docker.compose.service={service}",
                ],
                "status": "running",
            }
        )
    except Exception:  # noqa: BLE001
        return None
    finally:
        client.close()
    if not found:
        return None
    return ContainerRef(id=found[0].id, name=found[0].name, docker_host=docker_host(root))
