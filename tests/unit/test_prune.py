"""Retention policy: 7 daily, 4 weekly (ISO weeks), 12 monthly, over fabricated dated files."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from devkit.cli import main
from devkit.dbtools import prune

NOW = datetime(2026, 11, 25, 12, 0)  # a Wednesday, ISO week 48


def name(when: datetime) -> str:
    return f"aios_{when:%Y%m%d_%H%M%S}.sql.gz"


def nightly() -> list[tuple[str, datetime]]:
    """A backup at 02:30 every night since 2025-01-01, plus a few extra ones."""
    items, day = [], date(2025, 1, 1)
    while day <= NOW.date():
        when = datetime(day.year, day.month, day.day, 2, 30)
        items.append((name(when), when))
        day += timedelta(days=1)
    for extra in (
        datetime(2026, 11, 25, 1, 0),
        datetime(2026, 10, 31, 1, 0),
        datetime(2026, 11, 15, 23, 59),
        datetime(2026, 11, 26, 2, 30),
    ):
        items.append((name(extra), extra))
    return items


EXPECTED = {
    # the newest of each of the last 7 days
    "aios_20261125_023000.sql.gz",
    "aios_20261124_023000.sql.gz",
    "aios_20261123_023000.sql.gz",
    "aios_20261122_023000.sql.gz",
    "aios_20261121_023000.sql.gz",
    "aios_20261120_023000.sql.gz",
    "aios_20261119_023000.sql.gz",
    # the newest of ISO weeks 46 and 45 (weeks 48 and 47 are covered by the daily ones)
    "aios_20261115_235900.sql.gz",
    "aios_20261108_023000.sql.gz",
    # the newest of each month, December 2025 .. October 2026
    "aios_20261031_023000.sql.gz",
    "aios_20260930_023000.sql.gz",
    "aios_20260831_023000.sql.gz",
    "aios_20260731_023000.sql.gz",
    "aios_20260630_023000.sql.gz",
    "aios_20260531_023000.sql.gz",
    "aios_20260430_023000.sql.gz",
    "aios_20260331_023000.sql.gz",
    "aios_20260228_023000.sql.gz",
    "aios_20260131_023000.sql.gz",
    "aios_20251231_023000.sql.gz",
    # dated in the future (clock skew): never deleted
    "aios_20261126_023000.sql.gz",
}


def test_survivors_of_nightly_backups() -> None:
    assert prune.survivors(nightly(), NOW) == EXPECTED


def test_sparse_backups_each_survive_in_their_own_bucket() -> None:
    stamps = [
        datetime(2026, 11, 20, 9),
        datetime(2026, 9, 1, 9),
        datetime(2026, 8, 30, 9),
        datetime(2025, 12, 5, 9),
        datetime(2025, 11, 30, 9),
    ]
    kept = prune.survivors([(name(s), s) for s in stamps], NOW)
    # Aug 30 and Sep 1 fall in different months (both kept); Nov 2025 is outside the 12 months
    assert kept == {name(s) for s in stamps[:4]}


def test_empty_and_single() -> None:
    assert prune.survivors([], NOW) == set()
    old = datetime(2020, 1, 1)
    assert prune.survivors([(name(old), old)], NOW) == set()


def test_parse_name_ignores_other_files() -> None:
    assert prune.parse_name("aios_20261125_023000.sql.gz") == datetime(2026, 11, 25, 2, 30)
    assert prune.parse_name("aios_20261125_023000_2.sql.gz") == datetime(2026, 11, 25, 2, 30)
    for other in (
        "aios_latest.sql.gz",
        "aios_20261125_023000.sql.gz.sha256",
        "notes.txt",
        "aios_20261399_023000.sql.gz",
    ):
        assert prune.parse_name(other) is None


def make_folder(folder: Path) -> None:
    folder.mkdir()
    for file_name, _ in nightly():
        (folder / file_name).write_bytes(b"x")
        (folder / (file_name + ".sha256")).write_text("0" * 64 + f"  {file_name}\n")
    (folder / "notes.txt").write_text("mine")
    stale = folder / ".aios_partial_abc.sql.gz"
    stale.write_bytes(b"half")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    (folder / ".aios_partial_fresh.sql.gz").write_bytes(b"in progress")


def test_plan_and_apply_on_files(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    make_folder(folder)
    todo = prune.plan(folder, NOW)
    assert {p.name for p in todo.keep} == EXPECTED
    assert len(todo.delete) == len(nightly()) - len(EXPECTED)
    assert [p.name for p in todo.stale_partials] == [".aios_partial_abc.sql.gz"]
    prune.apply(todo)
    left = {p.name for p in folder.iterdir()}
    assert left == EXPECTED | {n + ".sha256" for n in EXPECTED} | {
        "notes.txt",
        ".aios_partial_fresh.sql.gz",
    }


def test_cli_dry_run_deletes_nothing(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / ".env").write_text("BACKUP_DIR=saved\n")
    folder = tmp_path / "saved"
    folder.mkdir()
    old = [datetime(2020, 1, d, 2, 30) for d in (1, 2, 3)]
    for when in old:
        (folder / name(when)).write_bytes(b"x")
    assert main(["--root", str(tmp_path), "db", "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert all(f"would delete {name(w)}" in out for w in old)
    assert len(list(folder.iterdir())) == 3
    assert main(["--root", str(tmp_path), "db", "prune"]) == 0
    assert list(folder.iterdir()) == []
