"""A restore never loses the dev database: bad files are refused before anything changes, and the
database a restore replaces is kept until the person drops it (issue 15 item 1, item 8)."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from devkit.dbtools.backup import file_sha256, sidecar
from devkit.dbtools.backup_check import TRAILER
from devkit.dbtools.target import DbTarget
from devkit.host import pgcluster
from tests.integration import test_db_cli
from tests.integration.db_helpers import SEED_COUNTS, databases
from tests.integration.test_db_cli import devkit

project = test_db_cli.project  # the fixture: a seeded database and its .env
PLAIN_HEADER = b"--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n"


def make_backup(root: Path) -> Path:
    done = devkit(root, "backup")
    assert done.returncode == 0, done.stderr
    return next((root / "dumps").glob("aios_*.sql.gz"))


def leftovers(target: DbTarget) -> list[str]:
    return [
        name
        for prefix in ("aios_restore_", "aios_verify_", f"{target.dbname}_")
        for name in databases(target, prefix)
    ]


def cut_between_statements(good: Path, out: Path) -> None:
    """A valid gzip stream holding the dump up to the first COPY: every statement complete."""
    sql = gzip.decompress(good.read_bytes())
    out.write_bytes(gzip.compress(sql[: sql.index(b"\nCOPY ")]))


CASES = {
    "empty": ("is empty (0 bytes)", lambda good, out: out.write_bytes(b"")),
    "truncated-gzip": (
        "is corrupt (truncated",
        lambda good, out: out.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
    ),
    "cut-between-statements": ("is incomplete", cut_between_statements),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_incomplete_files_are_refused_and_the_dev_database_is_untouched(
    case: str, project: Path, pg_url: str
) -> None:
    message, make = CASES[case]
    good = make_backup(project)
    bad = project / "bad.sql.gz"
    make(good, bad)
    target = DbTarget.from_url(pg_url)
    done = devkit(project, "verify", str(bad))
    assert done.returncode == 1, done.stdout
    assert message in done.stderr and "use another backup" in done.stderr
    assert devkit(project, "verify", "--strict", str(bad)).returncode == 1
    done = devkit(project, "restore", str(bad), "--into-dev", "--yes")
    assert done.returncode == 1, done.stdout
    assert message in done.stderr
    assert target.table_counts() == SEED_COUNTS
    assert leftovers(target) == []


def test_no_tables_or_other_tables_are_refused(project: Path, pg_url: str) -> None:
    target = DbTarget.from_url(pg_url)
    empty = project / "empty.sql.gz"
    empty.write_bytes(gzip.compress(PLAIN_HEADER + TRAILER + b"\n--\n"))
    for args in (("verify",), ("verify", "--strict"), ("restore", "--into-dev", "--yes")):
        done = devkit(project, *args, str(empty))
        assert done.returncode == 1, done.stdout
        assert "restored 0 tables" in done.stderr
    other = project / "other.sql.gz"
    other.write_bytes(gzip.compress(PLAIN_HEADER + b"CREATE TABLE other (x int);\n" + TRAILER))
    done = devkit(project, "restore", "--into-dev", "--yes", str(other))
    assert done.returncode == 1
    assert "lacks the app's table(s) public.notes, public.users" in done.stderr
    assert target.table_counts() == SEED_COUNTS
    assert leftovers(target) == []


def test_wrong_checksum_and_ignore_checksum(project: Path, pg_url: str) -> None:
    good = make_backup(project)
    sidecar(good).write_text("0" * 64 + f"  {good.name}\n")
    done = devkit(project, "restore", str(good))
    assert done.returncode == 1
    assert "does not match" in done.stderr and "--ignore-checksum" in done.stderr
    done = devkit(project, "verify", "--ignore-checksum", str(good))
    assert done.returncode == 0, done.stderr
    assert "checksum NOT checked: --ignore-checksum" in done.stdout
    # --ignore-checksum skips only the checksum: a cut file is still refused
    cut_between_statements(good, good)
    done = devkit(project, "verify", "--ignore-checksum", str(good))
    assert done.returncode == 1 and "is incomplete" in done.stderr


def test_a_folder_is_not_reported_as_missing(project: Path) -> None:
    (project / "dumps").mkdir()
    for action in ("verify", "restore"):
        done = devkit(project, action, str(project / "dumps"))
        assert done.returncode == 1
        assert "is a folder, not a backup file" in done.stderr
        assert "does not exist" not in done.stderr


def test_restore_into_dev_keeps_the_replaced_database_until_dropped(
    project: Path, pg_url: str
) -> None:
    target = DbTarget.from_url(pg_url)
    good = make_backup(project)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM notes WHERE id > 5")
    done = devkit(project, "restore", "--into-dev", "--yes", str(good))
    assert done.returncode == 0, done.stderr
    assert target.table_counts() == SEED_COUNTS
    kept = done.stdout.split("is kept as database ")[1].split()[0]
    assert kept.startswith(f"{target.dbname}_replaced_")
    assert f"bring it back: devkit db bring-back {kept}" in done.stdout
    assert target.table_counts(kept)["public.notes"] == 5

    listing = devkit(project, "kept")
    assert listing.returncode == 0 and kept in listing.stdout

    done = devkit(project, "bring-back", kept, "--yes")
    assert done.returncode == 0, done.stderr
    assert target.table_counts()["public.notes"] == 5  # the old data is back
    again = done.stdout.split("is kept as ")[1].split()[0]
    assert target.table_counts(again) == SEED_COUNTS  # and the restored one is kept in turn

    assert devkit(project, "drop-kept", "not_a_kept_db", "--yes").returncode == 1
    done = devkit(project, "drop-kept", "--all", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"dropped {again}" in done.stdout
    assert databases(target, f"{target.dbname}_") == []
    assert target.table_counts()["public.notes"] == 5


def test_custom_format_archive(project: Path, pg_url: str) -> None:
    target = DbTarget.from_url(pg_url)
    pg_dump = pgcluster.find_client_binary("pg_dump", target.server_major())
    if pg_dump is None:
        pytest.skip("no pg_dump of the server's version")
    archive = project / "app.dump"
    with open(archive, "wb") as out:
        subprocess.run(
            [
                str(pg_dump),
                "-Fc",
                "--no-owner",
                "-h",
                target.host,
                "-p",
                str(target.port),
                "-U",
                target.user,
                target.dbname,
            ],
            stdout=out,
            check=True,
            env={**os.environ, "PGPASSWORD": target.password},
        )
    done = devkit(project, "verify", "--strict", str(archive))
    assert done.returncode == 0, done.stderr
    assert "restores cleanly" in done.stdout and f"{len(SEED_COUNTS)} table(s)" in done.stdout
    cut = project / "cut.dump"
    cut.write_bytes(archive.read_bytes()[:60])
    done = devkit(project, "restore", "--into-dev", "--yes", str(cut))
    assert done.returncode == 1
    assert "table of contents cannot be read" in done.stderr
    cut.write_bytes(archive.read_bytes()[:-200])  # the contents are there, the data is cut
    done = devkit(project, "restore", "--into-dev", "--yes", str(cut))
    assert done.returncode == 1, done.stdout
    assert target.table_counts() == SEED_COUNTS
    assert leftovers(target) == []
    assert file_sha256(archive)  # the good archive was only read


def test_restore_into_dev_while_a_client_keeps_reconnecting(project: Path, pg_url: str) -> None:
    """A pool reconnects at once after its sessions are ended: the swap still wins."""
    import threading

    target = DbTarget.from_url(pg_url)
    good = make_backup(project)
    stop = threading.Event()
    connected = [0]

    def hammer() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(pg_url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                    connected[0] += 1
                    stop.wait(0.05)  # a pooled session stays open a while
            except psycopg.Error:
                pass

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        done = devkit(project, "restore", "--into-dev", "--yes", str(good))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert done.returncode == 0, done.stderr
    assert connected[0] > 0
    assert target.table_counts() == SEED_COUNTS
    with psycopg.connect(pg_url) as conn:  # the dev database accepts connections again
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert devkit(project, "drop-kept", "--all", "--yes").returncode == 0
