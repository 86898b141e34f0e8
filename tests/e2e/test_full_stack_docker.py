"""`devkit up --headless` with PostgreSQL in Docker (real engine, the project's compose file, the
locally built image): the API works, a killed container comes back with its data, and the
container is stopped when devkit exits while the named volume stays."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.core.runstate import read_state
from devkit.host.docker import docker_client
from devkit.services.postgres_docker import LOCAL_IMAGE
from tests.support.devkit_proc import Output, alive, devkit, kill_everything_recorded, process_tree
from tests.support.stack import REPO, StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker_client(REPO)
    if client is None:
        pytest.skip("no Docker engine answers (scripts/test starts one with scripts/docker-engine)")
    try:
        client.images.get(LOCAL_IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
        client.close()
        pytest.skip(f"no local image {LOCAL_IMAGE}: run scripts/docker-engine build-image")
    yield client
    client.close()


@pytest.fixture
def stack(tmp_path: Path, engine: Any) -> Iterator[StackProject]:
    project = f"devkit-e2e-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "aios"
    stack = make_stack_project(root, metro=False, extra={"db_backend": "docker"})
    with open(root / ".env", "a") as env:
        env.write(
            f"COMPOSE_PROJECT_NAME={project}\nPOSTGRES_IMAGE={LOCAL_IMAGE}\n"
            "DEVKIT_DOCKER_PULL=never\n"
        )
    (root / "compose").mkdir()
    shutil.copy(REPO / "compose" / "docker-compose.yml", root / "compose")
    try:
        yield stack
    finally:
        kill_everything_recorded(root)
        label = {"label": f"com.docker.compose.project={project}"}
        for container in engine.containers.list(all=True, filters=label):
            container.remove(force=True)
        for volume in engine.volumes.list(filters=label):
            volume.remove(force=True)


def container_id(stack: StackProject) -> str:
    state = read_state(stack.root / ".devkit") or {}
    return str(state["components"]["postgres"]["container_id"])


def test_docker_backend_serves_the_api_survives_a_killed_container_and_stops_it(
    stack: StackProject, engine: Any
) -> None:
    out = Output(devkit(stack.root, "up", "--headless"))
    out.wait("all components healthy", timeout=90)
    assert out.has("postgres · docker") or out.has("postgres: docker"), out.text
    cid = container_id(stack)
    container = engine.containers.get(cid)
    bindings = container.attrs["HostConfig"]["PortBindings"]["5432/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    try:
        body = {"username": "linus", "password": "correct horse battery"}
        assert stack.post("/api/auth/register", json=body).status_code == 201
        token = stack.post("/api/auth/login", json=body).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert (
            stack.post("/api/notes", json={"title": "in a volume"}, headers=auth).status_code == 201
        )

        container.kill()
        wait_for(
            lambda: (
                engine.containers.get(container_id(stack)).status == "running"
                and stack.get("/status").status_code == 200
            ),
            60,
            what="postgres container running again and the API healthy",
        )
        notes = stack.get("/api/notes", headers=auth).json()["items"]
        assert [n["title"] for n in notes] == ["in a volume"]
    finally:
        tree = process_tree(out.proc.pid)
        cid = container_id(stack)
        out.proc.send_signal(signal.SIGTERM)
        assert out.proc.wait(timeout=60) == 0, out.text[-3000:]
    assert engine.containers.get(cid).status in ("exited", "created")
    wait_for(lambda: not alive(tree), 10, what=f"no process left of {tree}")


def test_kill_9_of_devkit_then_down_stops_the_container_on_the_recorded_engine(
    stack: StackProject, engine: Any
) -> None:
    out = Output(devkit(stack.root, "up", "--headless"))
    out.wait("all components healthy", timeout=90)
    cid = container_id(stack)
    out.proc.kill()
    out.proc.wait(timeout=10)
    assert engine.containers.get(cid).status == "running"
    # `down` from a shell without DOCKER_HOST: the engine recorded in the run state is used
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    down = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(stack.root), "down"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped container" in down.stdout
    assert engine.containers.get(cid).status == "exited"
