"""Ordered SQL migrations (server/migrations/NNNN_name.sql), each applied in its own transaction
and recorded in schema_migrations. `python -m server.migrations` applies the pending ones.

A transaction-level advisory lock serialises concurrent runners (two API processes starting
at once), so a file is never applied twice.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import psycopg

NO_CHANGES = "No schema changes"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
FILE_RE = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
LOCK_KEY = 0x41494F53  # "AIOS"
CONNECT_TIMEOUT_S = 5
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files in order; names that do not match NNNN_name.sql are an error."""
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    bad = [p.name for p in files if not FILE_RE.match(p.name)]
    if bad:
        raise ValueError(f"migration file names must look like 0002_add_tags.sql: {bad}")
    numbers = [p.name[:4] for p in files]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two migration files share a number in {directory}")
    return files


def _connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S)


def _applied(conn: psycopg.Connection) -> set[str]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}


def migration_status(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[tuple[str, bool]]:
    """(name, applied) for every migration file, in order."""
    with _connect(conninfo) as conn:
        done = _applied(conn)
    return [(p.stem, p.stem in done) for p in migration_files(directory)]


def pending(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    return [name for name, applied in migration_status(conninfo, directory) if not applied]


def apply_pending(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration, each in its own transaction; the names applied."""
    applied: list[str] = []
    with _connect(conninfo) as conn:
        conn.autocommit = True
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute(CREATE_TABLE)
        for path in migration_files(directory):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                if conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE name = %s", (path.stem,)
                ).fetchone():
                    continue
                conn.execute(path.read_text(encoding="utf-8"))
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.stem,))
            applied.append(path.stem)
    return applied


def main() -> int:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print(
            "DATABASE_URL is not set: set it in .env, e.g. "
            "postgresql://USER:PASSWORD@127.0.0.1:5432/aios",
            file=sys.stderr,
        )
        return 2
    try:
        names = apply_pending(url)
    except psycopg.OperationalError as exc:
        print(
            f"cannot connect to the database: {str(exc).strip().splitlines()[0]} "
            "(start it: devkit up, or check DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    except psycopg.Error as exc:
        print(f"a migration failed and was rolled back: {exc}", file=sys.stderr)
        return 1
    for name in names:
        print(f"applied {name}")
    if not names:
        print(NO_CHANGES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
