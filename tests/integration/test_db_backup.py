"""backup -> restore -> verify against a real PostgreSQL, and every way a backup can fail."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from devkit.dbtools import HostTools, select_tools
from devkit.dbtools.backup import backup_database, check_checksum, sidecar
from devkit.dbtools.backup_check import TRAILER
from devkit.dbtools.restore import CorruptBackupError, restore, verify
from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError
from devkit.host import pgcluster
from tests.integration.db_helpers import SEED_COUNTS, databases, seed


@pytest.fixture
def seeded(pg_url: str) -> DbTarget:
    seed(pg_url)
    return DbTarget.from_url(pg_url)


@pytest.fixture
def tools(seeded: DbTarget):
    return select_tools(seeded, find_container=lambda: None)


def no_lookup(name: str, major: int | None) -> Path | None:
    return None


def test_host_tools_match_the_server_major(seeded: DbTarget, tools) -> None:
    assert isinstance(tools, HostTools)
    binary = tools.binary("pg_dump")
    assert pgcluster.binary_major(binary) == seeded.server_major()


def test_round_trip_backup_restore_verify(seeded: DbTarget, tools, tmp_path: Path) -> None:
    result = backup_database(seeded, tools, tmp_path, now=datetime(2026, 3, 4, 5, 6, 7))
    assert result.path == tmp_path / "aios_20260304_050607.sql.gz"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aios_20260304_050607.sql.gz",
        "aios_20260304_050607.sql.gz.sha256",
    ]
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.size == result.path.stat().st_size
    # the sidecar is in sha256sum format: `sha256sum -c` accepts it from the backup folder
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "-c", sidecar(result.path).name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    dump = gzip.decompress(result.path.read_bytes()).decode()
    assert "CREATE TABLE audit.events" in dump
    assert "OWNER TO" not in dump and "GRANT " not in dump  # --no-owner --no-privileges

    restored = restore(result.path, seeded, tools, now=datetime(2026, 3, 4, 9, 0, 0))
    assert restored.database == "aios_restore_20260304_090000"
    assert restored.checksum_verified
    try:
        assert seeded.table_counts(restored.database) == SEED_COUNTS
        with psycopg.connect(seeded.with_db(restored.database).url) as conn:
            bodies = [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY id")]
            names = [r[0] for r in conn.execute("SELECT name FROM users ORDER BY id")]
        assert bodies[3] == "line one\nline two\t3 \\ backslash 'q' \"dq\""
        assert names == ["ana", "bo", "ça va 'quoted'"]
    finally:
        seeded.drop_database(restored.database)

    report = verify(result.path, seeded, tools)
    assert report.checksum_verified and report.differences == []
    assert report.restored == SEED_COUNTS

    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (name) VALUES ('new since backup')")
        conn.execute("DROP TABLE empty")
    report = verify(result.path, seeded, tools)
    assert report.differences == [("public.empty", None, 0), ("public.users", 4, 3)]
    assert databases(seeded, "aios_verify_") == []  # the scratch database is always dropped


def test_restore_into_dev_replaces_the_database(seeded: DbTarget, tools, tmp_path: Path) -> None:
    result = backup_database(seeded, tools, tmp_path)
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("DELETE FROM notes")
        conn.execute("CREATE TABLE later (x int)")
    idle = psycopg.connect(seeded.url, autocommit=True)  # another client still connected
    try:
        outcome = restore(result.path, seeded, tools, into_dev=True)
    finally:
        idle.close()
    assert outcome.database == seeded.dbname
    assert seeded.table_counts() == SEED_COUNTS
    # no staging leftover; the replaced database is kept (with the rows deleted since the backup)
    assert databases(seeded, seeded.dbname + "_") == [outcome.kept]
    assert outcome.kept is not None and outcome.kept.startswith(seeded.dbname + "_replaced_")
    assert seeded.table_counts(outcome.kept)["public.notes"] == 0
    assert "public.later" in seeded.table_counts(outcome.kept)
    seeded.drop_database(outcome.kept)


def test_two_backups_in_one_second_do_not_collide(seeded: DbTarget, tools, tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5)
    first = backup_database(seeded, tools, tmp_path, now=when)
    second = backup_database(seeded, tools, tmp_path, now=when)
    assert first.path.name == "aios_20260102_030405.sql.gz"
    assert second.path.name == "aios_20260102_030405_2.sql.gz"


# --- corrupt files ------------------------------------------------------------------------------
@pytest.fixture
def good_backup(seeded: DbTarget, tools, tmp_path: Path) -> Path:
    return backup_database(seeded, tools, tmp_path / "good").path


def corrupt_case(kind: str, good: Path, folder: Path) -> tuple[Path, str]:
    path = folder / "aios_20260101_000000.sql.gz"
    data = good.read_bytes()
    if kind == "random":
        path.write_bytes(os.urandom(4096))
        return path, "not a valid gzip file"
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated"
    if kind == "checksum":
        path.write_bytes(data[:-20] + bytes(b ^ 0xFF for b in data[-20:]))
        shutil.copy(sidecar(good), sidecar(path))
        return path, "does not match"
    if kind == "sql":
        # whole (pg_dump's closing line) but not valid SQL: psql itself refuses it
        path.write_bytes(
            gzip.compress(b"CREATE TABLE ok (x int);\nCREATE TABLE broken (;\n" + TRAILER)
        )
        return path, "did not restore"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["random", "truncated", "checksum", "sql"])
def test_corrupt_backup_is_reported_and_leaves_nothing(
    kind: str, seeded: DbTarget, tools, good_backup: Path, tmp_path: Path
) -> None:
    path, message = corrupt_case(kind, good_backup, tmp_path)
    for action in (lambda: restore(path, seeded, tools), lambda: verify(path, seeded, tools)):
        with pytest.raises(DevkitError) as caught:
            action()
        assert message in caught.value.message
        assert "another backup" in caught.value.hint
        if kind != "checksum":
            assert isinstance(caught.value, CorruptBackupError)
    assert databases(seeded, "aios_restore_") == []
    assert databases(seeded, "aios_verify_") == []


def test_checksum_is_checked_and_missing_sidecar_is_allowed(good_backup: Path) -> None:
    assert check_checksum(good_backup) is True
    sidecar(good_backup).unlink()
    assert check_checksum(good_backup) is False


# --- pg_dump failures -----------------------------------------------------------------------------
def test_pg_dump_failure_leaves_no_file(seeded: DbTarget, tools, tmp_path: Path) -> None:
    wrong = DbTarget(seeded.host, seeded.port, seeded.user, "wrong-password", seeded.dbname)
    with pytest.raises(DevkitError) as caught:
        backup_database(wrong, tools, tmp_path)
    assert "pg_dump failed" in caught.value.message
    assert "password authentication failed" in caught.value.message
    assert "wrong-password" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_pg_dump_of_a_stopped_database_leaves_no_file(tmp_path: Path) -> None:
    from tests.support.pg import ThrowawayCluster

    cluster = ThrowawayCluster().init()
    cluster.start()
    try:
        target = DbTarget.from_url(cluster.url(cluster.create_database()))
        tools = select_tools(target, find_container=lambda: None)
        cluster.stop()
        with pytest.raises(DevkitError) as caught:
            backup_database(target, tools, tmp_path)
        assert "pg_dump failed" in caught.value.message
        assert list(tmp_path.iterdir()) == []
    finally:
        cluster.destroy()


def test_pg_dump_missing(seeded: DbTarget, tmp_path: Path) -> None:
    with pytest.raises(DevkitError) as caught:
        select_tools(seeded, lookup=no_lookup, find_container=lambda: None)
    assert "pg_dump was not found" in caught.value.message
    assert "postgresql-client" in caught.value.hint
    with pytest.raises(DevkitError) as caught:
        backup_database(seeded, HostTools(15, no_lookup), tmp_path)
    assert "pg_dump was not found" in caught.value.message
    assert list(tmp_path.iterdir()) == []


# --- disk full: a real tiny tmpfs --------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path: Path):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_gives_a_clear_error_and_no_partial_file(
    seeded: DbTarget, tools, tiny_disk: Path
) -> None:
    with psycopg.connect(seeded.url, autocommit=True) as conn:  # ~1 MB that gzip cannot shrink
        conn.execute(
            "CREATE TABLE blob AS SELECT md5(random()::text) || md5(random()::text) AS v "
            "FROM generate_series(1, 20000)"
        )
    with pytest.raises(DevkitError) as caught:
        backup_database(seeded, tools, tiny_disk)
    assert "is full" in caught.value.message
    assert "BACKUP_DIR" in caught.value.hint
    assert list(tiny_disk.iterdir()) == []


def test_target_url_round_trip_and_masking() -> None:
    target = DbTarget("127.0.0.1", 5433, "ana", "p@ss:w/rd%", "aios")
    assert DbTarget.from_url(target.url) == target
    assert target.masked == "postgresql://ana:****@127.0.0.1:5433/aios"
    assert "p@ss" not in target.masked
    with pytest.raises(DevkitError, match="DATABASE_URL is not set"):
        DbTarget.from_url("")
    with pytest.raises(DevkitError) as caught:
        DbTarget.from_url("mysql://u:secret@h/db")
    assert "secret" not in caught.value.message and "****" in caught.value.message
