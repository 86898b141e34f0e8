"""The docker PostgreSQL backend against a real Docker engine and the real compose file.

Needs an engine (DOCKER_HOST, or scripts/docker-engine start) and the local image
devkit-local/postgres:15 (scripts/docker-engine build-image; DEVKIT_TEST_PG_IMAGE overrides).
Never pulls: the service runs with pull policy "never". Every test uses its own compose project
name, port and volume, and removes them afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devkit.core.events import State
from devkit.core.supervisor import Supervisor
from devkit.host.docker import docker_client, docker_host
from devkit.services.postgres_docker import LOCAL_IMAGE, DockerPostgresService
from devkit.settings.config import Settings
from tests.integration.supervisor_helpers import Harness, settings
from tests.support.ports import free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose" / "docker-compose.yml"
PASSWORD = "docker-test-pw"
IMAGE = os.environ.get("DEVKIT_TEST_PG_IMAGE", LOCAL_IMAGE)


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker_client(ROOT)
    if client is None:
        pytest.skip(
            "no Docker engine answers (set DOCKER_HOST, or run scripts/docker-engine "
            "start; scripts/test does this)"
        )
    try:
        client.images.get(IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
        client.close()
        pytest.skip(
            f"no local image {IMAGE}: run scripts/docker-engine build-image (tests never pull)"
        )
    yield client
    client.close()


@pytest.fixture
def project(engine, monkeypatch) -> Iterator[str]:
    """A unique compose project; its containers and volumes are removed afterwards."""
    host = docker_host(ROOT)
    if host:
        monkeypatch.setenv("DOCKER_HOST", host)
    name = f"devkit-t-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        remove_project(engine, name)


def remove_project(client: Any, name: str) -> None:
    for container in client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={name}"}
    ):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"label": f"com.docker.compose.project={name}"}):
        volume.remove(force=True)
    for network in client.networks.list(filters={"label": f"com.docker.compose.project={name}"}):
        network.remove()


def pg_settings(
    tmp_path: Path,
    project: str,
    port: int | None = None,
    image: str = IMAGE,
    password: str = PASSWORD,
) -> Settings:
    port = port or free_port()
    env = {
        "COMPOSE_PROJECT_NAME": project,
        "POSTGRES_IMAGE": image,
        "POSTGRES_USER": "aios",
        "POSTGRES_PASSWORD": password,
        "POSTGRES_DB": "aios",
        "POSTGRES_PORT": str(port),
        "DATABASE_URL": f"postgresql://aios:{password}@127.0.0.1:{port}/aios",
    }
    return settings(
        tmp_path, env=env, components=("postgres",), db_backend="docker", compose_file=COMPOSE_FILE
    )


def supervisor(s: Settings, **kwargs: Any) -> Supervisor:
    return Supervisor(s, [DockerPostgresService(s, pull="never")], network=False, **kwargs)


def query(s: Settings, sql: str) -> list[tuple]:
    with psycopg.connect(s.env["DATABASE_URL"], connect_timeout=3, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def log_text(h: Harness) -> str:
    return "\n".join(line.text for line in h.sup.logs("postgres"))


async def test_start_to_healthy_on_loopback_only(engine, project, tmp_path: Path) -> None:
    s = pg_settings(tmp_path, project)
    async with Harness(supervisor(s)) as h:
        status = await h.state("postgres", State.HEALTHY, timeout=90)
        assert status.backend == "postgres · docker" and status.container_id
        container = engine.containers.get(status.container_id)
        assert container.name == f"{project}-postgres-1"
        labels = container.labels
        assert labels["com.docker.compose.project"] == project
        assert labels["com.docker.compose.service"] == "postgres"
        assert labels["com.docker.compose.oneoff"] == "False"
        bindings = container.attrs["HostConfig"]["PortBindings"]
        assert bindings == {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(s.postgres_port)}]}
        published = container.attrs["NetworkSettings"]["Ports"]["5432/tcp"]
        assert {b["HostIp"] for b in published} == {"127.0.0.1"}
        assert container.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"

        def container_healthy() -> bool:  # the compose file's healthcheck works in the image
            container.reload()
            return container.attrs["State"]["Health"]["Status"] == "healthy"

        wait_for(container_healthy, timeout=60, what="the container healthcheck")
        assert query(s, "SELECT current_database(), current_user") == [("aios", "aios")]
        await h.until(
            lambda: "ready to accept connections" in log_text(h),
            timeout=10,
            what="container log lines in the log view",
        )
        volume = engine.volumes.get(f"{project}_pgdata")
        assert volume.attrs["Labels"]["com.docker.compose.volume"] == "pgdata"
        record = h.sup.components["postgres"].service.run_state()
        assert record["container_id"] == status.container_id
        assert record["ports"] == [s.postgres_port]
    container.reload()
    assert container.status == "exited"  # stopped, kept; the volume stays
    engine.volumes.get(f"{project}_pgdata")


async def test_volume_survives_container_recreation(engine, project, tmp_path: Path) -> None:
    s = pg_settings(tmp_path, project)
    async with Harness(supervisor(s)) as h:
        first = await h.state("postgres", State.HEALTHY, timeout=90)
        query(s, "CREATE TABLE notes (body text)")
        query(s, "INSERT INTO notes VALUES ('kept')")
    async with Harness(supervisor(s)) as h:  # same config: the same container again
        again = await h.state("postgres", State.HEALTHY, timeout=90)
        assert again.container_id == first.container_id
        assert "re-used container" in log_text(h)
    engine.containers.get(first.container_id).remove(force=True)
    moved = pg_settings(tmp_path, project)  # and a new port: a different container config
    async with Harness(supervisor(moved)) as h:
        status = await h.state("postgres", State.HEALTHY, timeout=90)
        assert status.container_id != first.container_id
        assert query(moved, "SELECT body FROM notes") == [("kept",)]
    changed = pg_settings(tmp_path, project)  # config differs from the existing container
    async with Harness(supervisor(changed)) as h:
        latest = await h.state("postgres", State.HEALTHY, timeout=90)
        assert latest.container_id != status.container_id
        assert "re-creating it (the volume is kept)" in log_text(h)
        assert query(changed, "SELECT body FROM notes") == [("kept",)]


async def test_killed_container_is_restarted_with_data(engine, project, tmp_path: Path) -> None:
    s = pg_settings(tmp_path, project)
    async with Harness(supervisor(s, backoff_initial=0.05)) as h:
        status = await h.state("postgres", State.HEALTHY, timeout=90)
        query(s, "CREATE TABLE t (v text)")
        query(s, "INSERT INTO t VALUES ('committed')")
        engine.containers.get(status.container_id).kill()
        await h.until(
            lambda: (
                h.status("postgres").restarts >= 1 and h.status("postgres").state == State.HEALTHY
            ),
            timeout=90,
            what="postgres restarted and healthy",
        )
        assert query(s, "SELECT v FROM t") == [("committed",)]


async def test_missing_image_names_image_and_alternatives(engine, project, tmp_path) -> None:
    missing = f"devkit-local/not-built-{uuid.uuid4().hex[:6]}:1"
    s = pg_settings(tmp_path, project, image=missing)
    async with Harness(supervisor(s)) as h:
        status = await h.state("postgres", State.CRASHED, timeout=30)
        shown = "\n".join(status.last_error) + status.detail
        assert missing in shown
        assert "scripts/docker-engine build-image" in shown and "--db-backend native" in shown
    assert (
        engine.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
        == []
    )


def test_auto_chooses_docker_when_an_engine_answers(engine, project, tmp_path: Path) -> None:
    from dataclasses import replace

    from devkit.services.postgres import choose_backend, make_postgres_service

    s = replace(pg_settings(tmp_path, project), db_backend="auto")
    choice = choose_backend(s)
    assert choice.kind == "docker" and "Docker engine answers" in choice.reason
    service = make_postgres_service(s, choice)
    assert isinstance(service, DockerPostgresService)
    assert service.container_name == f"{project}-postgres-1"
    assert service.check_port_conflicts  # nothing of ours runs yet


def compose(project: str, s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **s.env}
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "-p", project, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose (v1, Debian package docker-compose) is not installed",
)
async def test_compose_and_devkit_share_the_container(engine, project, tmp_path: Path) -> None:
    s = pg_settings(tmp_path, project)
    up = compose(project, s, "up", "-d")
    assert up.returncode == 0, up.stderr
    made = engine.containers.list(filters={"label": f"com.docker.compose.project={project}"})
    assert len(made) == 1
    wait_for(lambda: query(s, "SELECT 1"), timeout=60, what="PostgreSQL started by compose")
    query(s, "CREATE TABLE shared (v text)")
    query(s, "INSERT INTO shared VALUES ('from compose')")
    async with Harness(supervisor(s)) as h:  # devkit adopts compose's container
        status = await h.state("postgres", State.HEALTHY, timeout=90)
        assert status.container_id == made[0].id
        assert "adopted running container" in log_text(h)
        query(s, "INSERT INTO shared VALUES ('from devkit')")
    made[0].remove(force=True)
    async with Harness(supervisor(s)) as h:  # devkit makes it, compose takes it over
        mine = await h.state("postgres", State.HEALTHY, timeout=90)
    again = compose(project, s, "up", "-d")
    assert again.returncode == 0, again.stderr
    running = engine.containers.list(filters={"label": f"com.docker.compose.project={project}"})
    assert len(running) == 1 and running[0].name in (
        f"{project}-postgres-1",
        f"{project}_postgres_1",
    )
    assert running[0].attrs["Mounts"][0]["Name"] == f"{project}_pgdata"
    wait_for(lambda: query(s, "SELECT 1"), timeout=60, what="PostgreSQL started by compose")
    assert sorted(query(s, "SELECT v FROM shared")) == [("from compose",), ("from devkit",)]
    assert mine.container_id
    down = compose(project, s, "down")
    assert down.returncode == 0, down.stderr


# --- reading the compose file (no engine needed) ---------------------------------------------------
def test_compose_file_is_read_like_compose(tmp_path: Path) -> None:
    from devkit.settings.compose_file import interpolate, load_service

    env = {"POSTGRES_PORT": "6543", "POSTGRES_PASSWORD": "pw", "POSTGRES_IMAGE": ""}
    spec = load_service(COMPOSE_FILE, "postgres", env)
    assert spec.image == "postgres:15"  # ${POSTGRES_IMAGE:-postgres:15}: empty -> default
    assert spec.environment == {
        "POSTGRES_USER": "aios",
        "POSTGRES_PASSWORD": "pw",
        "POSTGRES_DB": "aios",
    }
    port = spec.published(5432)
    assert port is not None and (port.host_ip, port.host_port) == ("127.0.0.1", 6543)
    assert [(v.source, v.target, v.named) for v in spec.volumes] == [
        ("pgdata", "/var/lib/postgresql/data", True)
    ]
    assert spec.healthcheck is not None and spec.healthcheck.interval_ns == 1_000_000_000
    assert (
        "$${" not in spec.healthcheck.test[1] and '"${POSTGRES_USER}"' in spec.healthcheck.test[1]
    )
    assert spec.declared_volumes == ("pgdata",) and spec.stop_signal == "SIGINT"
    assert interpolate("${A-x}|${A:-y}|${B+set}|$$B|$A", {"A": "", "B": "1"}) == "|y|set|$B|"


def test_compose_file_errors_name_the_problem(tmp_path: Path) -> None:
    from devkit.errors import ConfigError
    from devkit.settings.compose_file import load_service

    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  db:\n    image: x\n")
    with pytest.raises(ConfigError, match="has no service 'postgres'"):
        load_service(bad, "postgres", {})
    bad.write_text("services:\n  postgres:\n    image: ${IMG:?set IMG}\n")
    with pytest.raises(ConfigError, match="IMG is required"):
        load_service(bad, "postgres", {})
    with pytest.raises(ConfigError, match="does not exist"):
        load_service(tmp_path / "missing.yml", "postgres", {})


async def test_a_volume_made_with_another_password_is_said_once(
    engine, project, tmp_path: Path
) -> None:
    """pg_isready (the healthcheck) never logs in: start() does, once, and says what to do."""
    port = free_port()
    first = pg_settings(tmp_path / "a", project, port, password="password-A")
    async with Harness(supervisor(first)) as h:
        await h.state("postgres", State.HEALTHY, timeout=90)
    second = pg_settings(tmp_path / "b", project, port, password="password-B")
    volume = f"{project}_pgdata"
    async with Harness(supervisor(second)) as h:
        status = await h.state("postgres", State.CRASHED, timeout=90)
        assert "created with other credentials" in status.detail, status.detail
        assert f"the Docker volume {volume}" in status.detail, status.detail
        assert "retrying cannot help" in status.detail
        fix = [line for line in status.last_error if line.startswith("fix: ")]
        assert fix and f"docker volume rm {volume}" in fix[0], status.last_error
        assert "password-B" not in "\n".join(status.last_error) + status.detail
        assert h.transitions("postgres").count(("postgres", State.CRASHED)) == 1
    container = engine.containers.get(f"{project}-postgres-1")
    failed = container.logs().decode().count("password authentication failed")
    assert failed == 1, f"{failed} failed logins (one check, no flood)"
