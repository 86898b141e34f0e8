"""`devkit db ...` as a person runs it: a project folder whose .env points at a real database."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from devkit.dbtools.target import DbTarget
from tests.integration.db_helpers import SEED_COUNTS, databases, seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, pg_url: str) -> Path:
    seed(pg_url)
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    target = DbTarget.from_url(pg_url)
    (root / ".env").write_text(
        f"POSTGRES_USER={target.user}\nPOSTGRES_PASSWORD={target.password}\n"
        f"POSTGRES_DB={target.dbname}\nPOSTGRES_PORT={target.port}\n"
        "DATABASE_URL=postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@127.0.0.1:"
        "${POSTGRES_PORT}/${POSTGRES_DB}\nBACKUP_DIR=dumps\n"
    )
    return root


def devkit(
    root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), "db", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def password(pg_url: str) -> str:
    return DbTarget.from_url(pg_url).password


@pytest.mark.slow
def test_backup_restore_verify_commands(project: Path, pg_url: str) -> None:
    done = devkit(project, "backup")
    assert done.returncode == 0, done.stderr
    assert "backup written: " in done.stdout and "pg_dump via host" in done.stdout
    files = sorted(p.name for p in (project / "dumps").iterdir())
    assert len(files) == 2 and files[1] == files[0] + ".sha256"
    backup = files[0]

    done = devkit(project, "verify", backup)  # a bare name is looked up in BACKUP_DIR
    assert done.returncode == 0, done.stderr
    assert "restores cleanly (checksum ok); 4 table(s)" in done.stdout
    assert "row counts match the live database" in done.stdout

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM notes WHERE id > 20")
    done = devkit(project, "verify", backup)
    assert done.returncode == 0
    assert "public.notes: live 20, backup 25" in done.stdout
    assert devkit(project, "verify", "--strict", backup).returncode == 1

    done = devkit(project, "restore", str(project / "dumps" / backup))
    assert done.returncode == 0, done.stderr
    name = done.stdout.split("into database ")[1].split()[0]
    target = DbTarget.from_url(pg_url)
    try:
        assert name.startswith("aios_restore_")
        assert target.table_counts(name) == SEED_COUNTS
    finally:
        target.drop_database(name)

    for result in (done,):
        assert password(pg_url) not in result.stdout + result.stderr


def test_restore_into_dev_asks(project: Path, pg_url: str) -> None:
    assert devkit(project, "backup").returncode == 0
    backup = next((project / "dumps").glob("*.sql.gz"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM notes")
    done = devkit(project, "restore", "--into-dev", str(backup), stdin="")
    assert done.returncode == 1
    assert "needs confirmation" in done.stderr and "--yes" in done.stderr
    assert DbTarget.from_url(pg_url).table_counts()["public.notes"] == 0  # untouched
    done = devkit(project, "restore", "--into-dev", "--yes", str(backup))
    assert done.returncode == 0, done.stderr
    assert DbTarget.from_url(pg_url).table_counts() == SEED_COUNTS
    assert devkit(project, "drop-kept", "--all", "--yes").returncode == 0


def test_corrupt_file_exit_code(project: Path, pg_url: str) -> None:
    bad = project / "aios_20260101_000000.sql.gz"
    whole = gzip.compress("".join(f"SELECT {n};\n" for n in range(5000)).encode())
    bad.write_bytes(whole[: len(whole) // 2])
    done = devkit(project, "verify", str(bad))
    assert done.returncode == 1
    assert "is corrupt (truncated" in done.stderr and "fix: use another backup" in done.stderr
    assert databases(DbTarget.from_url(pg_url), "aios_verify_") == []
    done = devkit(project, "restore", str(project / "nope.sql.gz"))
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_backup_of_unreachable_database(project: Path, pg_url: str) -> None:
    env_file = project / ".env"
    env_file.write_text(env_file.read_text().replace("POSTGRES_PASSWORD=", "POSTGRES_PASSWORD=x"))
    done = devkit(project, "backup")
    assert done.returncode == 1
    assert "password authentication failed" in done.stderr
    assert ":****@" in done.stderr
    assert not (project / "dumps").exists() or list((project / "dumps").iterdir()) == []


def test_reset_asks_and_refuses_without_terminal(project: Path, pg_url: str) -> None:
    done = devkit(project, "reset", stdin="")
    assert done.returncode == 1 and "--yes" in done.stderr
    assert DbTarget.from_url(pg_url).table_counts() == SEED_COUNTS


def test_backup_db_script(project: Path) -> None:
    """scripts/backup-db as cron runs it: minimal PATH, the project chosen by DEVKIT_ROOT."""
    stamp = ROOT / ".venv" / ".devkit-installed"
    want = subprocess.run(
        ["bash", "-c", f"source '{ROOT}/scripts/lib.sh' && install_stamp base"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not want or not stamp.exists() or want not in stamp.read_text().split():
        pytest.skip(
            ".venv is not installed for the current pyproject.toml (scripts/dev would reinstall it)"
        )
    done = subprocess.run(
        [str(ROOT / "scripts" / "backup-db")],
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "HOME": str(project), "DEVKIT_ROOT": str(project)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backup-db: starting" in done.stdout and "backup-db: done" in done.stdout
    assert "backup written: " in done.stdout
    assert "backup(s) kept" in done.stdout  # --prune ran
    assert len(list((project / "dumps").glob("aios_*.sql.gz"))) == 1
