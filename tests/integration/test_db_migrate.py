"""`devkit db push / status / reset` over the server's real migrations and a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from devkit.dbtools.target import DbTarget
from server import migrations


@pytest.fixture
def project(tmp_path: Path, pg_url: str) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (root / ".env").write_text(f"DATABASE_URL={pg_url}\n")
    return root


def devkit(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), "db", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def test_push_then_no_changes(project: Path, pg_url: str) -> None:
    names = [name for name, _ in migrations.migration_status(pg_url)]
    assert names, "the server has at least one migration"
    done = devkit(project, "status")
    assert done.returncode == 0, done.stderr
    assert f"0 applied, {len(names)} pending" in done.stdout
    assert all(f"PENDING  {name}" in done.stdout for name in names)

    done = devkit(project, "push")
    assert done.returncode == 0, done.stderr
    assert [line.removeprefix("applied ") for line in done.stdout.splitlines()] == names

    done = devkit(project, "push")
    assert (done.returncode, done.stdout.strip()) == (0, migrations.NO_CHANGES)
    done = devkit(project, "status")
    assert f"{len(names)} applied, 0 pending" in done.stdout
    assert DbTarget.from_url(pg_url).password not in done.stdout


def test_reset_recreates_and_migrates(project: Path, pg_url: str) -> None:
    assert devkit(project, "push").returncode == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratch_by_hand (x int)")
    done = devkit(project, "reset", "--yes")
    assert done.returncode == 0, done.stderr
    assert "recreated" in done.stdout
    assert migrations.pending(pg_url) == []
    assert "public.scratch_by_hand" not in DbTarget.from_url(pg_url).table_counts()


def test_push_with_the_database_down(project: Path, pg_url: str) -> None:
    target = DbTarget.from_url(pg_url)
    down = DbTarget(target.host, 1, target.user, target.password, target.dbname)
    (project / ".env").write_text(f"DATABASE_URL={down.url}\n")
    done = devkit(project, "push")
    assert done.returncode == 1
    assert "cannot connect to" in done.stderr and ":****@" in done.stderr
    assert "fix: start the database (devkit up)" in done.stderr
