"""Ordered SQL migrations: each in its own transaction, recorded, idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from server import migrations

ROOT = Path(__file__).resolve().parents[2]


def names() -> list[str]:
    return [p.stem for p in migrations.migration_files()]


def test_apply_then_no_changes(pg_url: str) -> None:
    assert names()[0] == "0001_init"
    assert migrations.pending(pg_url) == names()
    assert migrations.migration_status(pg_url) == [(n, False) for n in names()]
    assert migrations.apply_pending(pg_url) == names()
    assert migrations.apply_pending(pg_url) == []
    assert migrations.pending(pg_url) == []
    assert migrations.migration_status(pg_url) == [(n, True) for n in names()]
    with psycopg.connect(pg_url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        recorded = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY 1")]
    assert {"users", "notes", "schema_migrations"} <= tables
    assert recorded == names()


def test_schema_contract(pg_url: str) -> None:
    migrations.apply_pending(pg_url)
    with psycopg.connect(pg_url) as conn:
        user_id = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ('Ann', 'h') RETURNING id"
        ).fetchone()[0]
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.transaction():
                conn.execute("INSERT INTO users (username, password_hash) VALUES ('ann', 'h')")
        conn.execute("INSERT INTO notes (user_id, title) VALUES (%s, 't')", (user_id,))
        row = conn.execute("SELECT body, created_at, updated_at FROM notes").fetchone()
        assert row[0] == "" and row[1] is not None and row[2] is not None
        conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_failing_migration_rolls_back_alone(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (x int); SELECT nonsense_fn();")
    with pytest.raises(psycopg.Error):
        migrations.apply_pending(pg_url, tmp_path)
    assert migrations.migration_status(pg_url, tmp_path) == [("0001_ok", True), ("0002_bad", False)]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('b')").fetchone()[0] is None
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (x int);")
    assert migrations.apply_pending(pg_url, tmp_path) == ["0002_bad"]


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="0002_add_tags.sql"):
        migrations.migration_files(tmp_path)


def test_command_line(pg_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": pg_url}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.migrations"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [w for n in names() for w in ("applied", n)]
    second = run()
    assert (second.returncode, second.stdout.strip()) == (0, migrations.NO_CHANGES)
