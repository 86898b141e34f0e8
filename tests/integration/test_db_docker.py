"""backup -> restore -> verify with pg_dump/psql run inside a real PostgreSQL container.

Needs a Docker engine (DOCKER_HOST, or scripts/docker-engine) and a local PostgreSQL image
(DEVKIT_TEST_PG_IMAGE, else the first local image whose tag mentions postgres). Never pulls.
"""

from __future__ import annotations

import gzip
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devkit.dbtools import ContainerTools, select_tools
from devkit.dbtools.backup import backup_database
from devkit.dbtools.backup_check import TRAILER
from devkit.dbtools.container import ContainerRef
from devkit.dbtools.restore import CorruptBackupError, restore, verify
from devkit.dbtools.sdk_exec import SdkContainerTools
from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError
from devkit.host.docker import docker_client, docker_host
from tests.integration.db_helpers import SEED_COUNTS, databases, seed
from tests.support.ports import free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def local_image(client) -> str | None:
    wanted = os.environ.get("DEVKIT_TEST_PG_IMAGE")
    tags = [tag for image in client.images.list() for tag in image.tags]
    if wanted:
        return wanted if wanted in tags else None
    return next((tag for tag in tags if "postgres" in tag), None)


@pytest.fixture(scope="module")
def container_db() -> Iterator[tuple[DbTarget, ContainerRef]]:
    client = docker_client(ROOT)
    if client is None:
        pytest.skip("no Docker engine answers (set DOCKER_HOST or run ./scripts/test)")
    if not shutil.which("docker"):
        pytest.skip("no docker CLI to run docker exec")
    image = local_image(client)
    if image is None:
        pytest.skip("no local PostgreSQL image (scripts/test builds one; set DEVKIT_TEST_PG_IMAGE)")
    password = secrets.token_urlsafe(12)
    port = free_port()
    container = client.containers.run(
        image,
        detach=True,
        name=f"devkit-test-db-{uuid.uuid4().hex[:8]}",
        environment={"POSTGRES_USER": "aios", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "aios"},
        ports={"5432/tcp": ("127.0.0.1", port)},
        labels={"com.docker.compose.project": "devkit-test"},
    )
    try:
        url = f"postgresql://aios:{password}@127.0.0.1:{port}/aios"

        def ready() -> bool:
            container.reload()
            if container.status == "exited":
                pytest.fail(f"the container exited: {container.logs()[-600:].decode()}")
            with psycopg.connect(url, connect_timeout=2) as conn:
                return conn.execute("SELECT 1").fetchone() is not None

        wait_for(ready, timeout=60, what="PostgreSQL in the container")
        yield DbTarget.from_url(url), ContainerRef(container.id, container.name, docker_host(ROOT))
    finally:
        container.remove(force=True)
        client.close()


@pytest.fixture(params=["cli", "sdk"])
def seeded(container_db, request) -> Iterator[tuple[DbTarget, ContainerTools]]:
    base, ref = container_db
    name = f"t_{uuid.uuid4().hex[:10]}"
    base.create_database(name)
    target = base.with_db(name)
    seed(target.url)
    tools = select_tools(
        target,
        lookup=lambda name, major: None,
        find_container=lambda: ref,
        docker_cli=None if request.param == "cli" else "",
    )
    assert isinstance(tools, ContainerTools if request.param == "cli" else SdkContainerTools)
    try:
        yield target, tools
    finally:
        base.drop_database(name)


def test_round_trip_inside_the_container(seeded, tmp_path: Path) -> None:
    target, tools = seeded
    result = backup_database(target, tools, tmp_path)
    assert result.path.exists() and result.size > 0
    restored = restore(result.path, target, tools)
    try:
        assert target.table_counts(restored.database) == SEED_COUNTS
    finally:
        target.drop_database(restored.database)
    report = verify(result.path, target, tools)
    assert report.differences == [] and report.checksum_verified
    assert databases(target, "aios_verify_") == []


def test_corrupt_file_inside_the_container(seeded, tmp_path: Path) -> None:
    target, tools = seeded
    good = backup_database(target, tools, tmp_path / "good").path
    bad = tmp_path / "aios_20260101_000000.sql.gz"
    bad.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(CorruptBackupError, match="truncated"):
        verify(bad, target, tools)
    assert databases(target, "aios_verify_") == []


def test_sql_error_and_dump_failure_inside_the_container(seeded, tmp_path: Path) -> None:
    target, tools = seeded
    bad = tmp_path / "aios_20260101_000000.sql.gz"
    bad.write_bytes(gzip.compress(b"CREATE TABLE ok (x int);\nCREATE TABLE broken (;\n" + TRAILER))
    with pytest.raises(CorruptBackupError, match="did not restore.*syntax error"):
        restore(bad, target, tools)
    assert databases(target, "aios_restore_") == []
    wrong = DbTarget(target.host, target.port, target.user, "wrong", target.dbname)
    with pytest.raises(DevkitError, match="pg_dump failed.*password authentication failed"):
        backup_database(wrong, tools, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
