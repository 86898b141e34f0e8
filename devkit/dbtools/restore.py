"""`devkit db restore` and `verify`: a backup replayed into a fresh database, checked, kept.

Before anything is created the file must be whole (backup_check: pg_dump's closing line, or a
custom archive's table of contents). A plain dump streams through gunzip into psql with
ON_ERROR_STOP and --single-transaction, a custom archive into pg_restore --single-transaction
--exit-on-error; the result must hold the app's tables. A database devkit created for the
restore is dropped again on failure. `--into-dev` restores into a fresh database first and
swaps names only when all of that succeeded; the replaced database is kept
(DBNAME_replaced_STAMP) until the person drops it (see kept.py).
"""

from __future__ import annotations

import gzip
import subprocess
import tempfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from devkit.dbtools import backup_check
from devkit.dbtools.backup import CHUNK, check_checksum
from devkit.dbtools.backup_check import CORRUPT_HINT, CorruptBackupError
from devkit.dbtools.target import DbTarget
from devkit.dbtools.tools import DbTools, popen, stderr_tail
from devkit.errors import DevkitError

__all__ = ["CORRUPT_HINT", "CorruptBackupError", "RestoreResult", "restore", "verify"]
REPLACED_TAG = "_replaced_"


def _replay_failed(
    path: Path, tool: str, tools: DbTools, code: int, errors_text: str
) -> CorruptBackupError:
    return CorruptBackupError(
        f"{path.name} did not restore: {tool} via {tools.where} exited with code {code}: "
        f"{errors_text or 'no message'}",
        "if the message is about the connection, check the database (devkit doctor); "
        "otherwise the file is damaged: " + CORRUPT_HINT,
    )


def _stream_into(path: Path, target: DbTarget, tools: DbTools, kind: str) -> None:
    if kind == backup_check.CUSTOM:
        tool = "pg_restore"
        args = ["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    else:
        tool = "psql"
        args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--no-psqlrc"]
    errors = tempfile.TemporaryFile()
    proc = popen(
        tools, tool, args, target, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
    )
    assert proc.stdin is not None
    broken = False
    try:
        try:
            opener = gzip.open if kind == backup_check.PLAIN_GZ else open
            with opener(path, "rb") as source:
                while chunk := source.read(CHUNK):
                    try:
                        proc.stdin.write(chunk)
                    except BrokenPipeError:
                        broken = True  # the tool stopped (SQL error): its exit code says why
                        break
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
            proc.kill()
            proc.wait()
            what = "truncated" if isinstance(exc, EOFError) else "not a valid gzip file"
            raise CorruptBackupError(
                f"{path.name} is corrupt ({what}: {exc})", CORRUPT_HINT
            ) from None
        try:
            proc.stdin.close()
        except BrokenPipeError:
            broken = True
        code = proc.wait()
        if code != 0 or broken:
            raise _replay_failed(path, tool, tools, code, stderr_tail(errors))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.close()


def _check_custom_toc(path: Path, target: DbTarget, tools: DbTools) -> None:
    """pg_restore --list reads the archive's header and table of contents."""
    errors = tempfile.TemporaryFile()
    with open(path, "rb") as source:
        proc = popen(
            tools,
            "pg_restore",
            ["--list"],
            target,
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        code = proc.wait()
    text = stderr_tail(errors)
    errors.close()
    if code != 0:
        raise CorruptBackupError(
            f"{path.name} is a custom-format archive whose table of contents cannot be read "
            f"(pg_restore --list exited with code {code}: {text or 'no message'})",
            CORRUPT_HINT,
        )


def check_file(path: Path, ignore_checksum: bool = False) -> bool:
    """The file exists, matches its .sha256 (unless ignored) and is not empty."""
    backup_check.check_file(path)
    if ignore_checksum:
        return False
    return check_checksum(path)


def _check_whole(path: Path, target: DbTarget, tools: DbTools) -> str:
    kind = backup_check.backup_format(path)
    if kind == backup_check.CUSTOM:
        _check_custom_toc(path, target, tools)
    else:
        backup_check.check_plain_complete(path, compressed=kind == backup_check.PLAIN_GZ)
    return kind


def restore_into_new(
    path: Path,
    target: DbTarget,
    tools: DbTools,
    name: str,
    required: Collection[str] = (),
    kind: str | None = None,
) -> dict[str, int]:
    """Create database `name`, restore `path` into it and check its tables (row counts returned);
    drop it again on any failure."""
    kind = kind or _check_whole(path, target, tools)
    if target.database_exists(name):
        raise DevkitError(f"database {name} already exists", "pick another name or drop it first")
    target.create_database(name)
    try:
        _stream_into(path, target.with_db(name), tools, kind)
        counts = target.table_counts(name)
        backup_check.check_tables(path, counts, required)
        return counts
    except BaseException:
        target.drop_database(name)
        raise


@dataclass(frozen=True)
class RestoreResult:
    database: str
    checksum_verified: bool
    kept: str | None = None  # the replaced dev database, renamed (into_dev only)
    tables: int = 0


def free_name(target: DbTarget, base: str) -> str:
    name, n = base[:63], 2
    while target.database_exists(name):
        suffix = f"_{n}"
        name, n = base[: 63 - len(suffix)] + suffix, n + 1
    return name


def restore(
    path: Path,
    target: DbTarget,
    tools: DbTools,
    into_dev: bool = False,
    now: datetime | None = None,
    required: Collection[str] = (),
    ignore_checksum: bool = False,
) -> RestoreResult:
    """Into aios_restore_YYYYMMDD_HHMMSS, or (into_dev) replace target's database, keeping the
    old one as DBNAME_replaced_YYYYMMDD_HHMMSS."""
    verified = check_file(path, ignore_checksum)
    kind = _check_whole(path, target, tools)
    stamp = f"{(now or datetime.now()):%Y%m%d_%H%M%S}"
    if not into_dev:
        name = free_name(target, f"aios_restore_{stamp}")
        counts = restore_into_new(path, target, tools, name, required, kind)
        return RestoreResult(name, verified, tables=len(counts))
    staging = free_name(target, f"{target.dbname}_incoming_{stamp}")
    old = free_name(target, f"{target.dbname}{REPLACED_TAG}{stamp}")
    counts = restore_into_new(path, target, tools, staging, required, kind)
    kept: str | None = None
    try:
        if target.database_exists(target.dbname):
            target.rename_in_use(target.dbname, old)
            kept = old
        target.rename_database(staging, target.dbname)
    except BaseException:
        if not target.database_exists(target.dbname) and target.database_exists(old):
            target.rename_database(old, target.dbname)
        target.drop_database(staging)
        raise
    return RestoreResult(target.dbname, verified, kept=kept, tables=len(counts))


@dataclass
class VerifyReport:
    checksum_verified: bool
    live: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)

    @property
    def differences(self) -> list[tuple[str, int | None, int | None]]:
        """(table, rows live, rows in backup) for every table whose count differs."""
        tables = sorted(set(self.live) | set(self.restored))
        return [
            (t, self.live.get(t), self.restored.get(t))
            for t in tables
            if self.live.get(t) != self.restored.get(t)
        ]


def verify(
    path: Path,
    target: DbTarget,
    tools: DbTools,
    now: datetime | None = None,
    required: Collection[str] = (),
    ignore_checksum: bool = False,
) -> VerifyReport:
    """Restore into a scratch database, count rows per table there and live; drop the scratch.
    A file that is not whole, restores no table or lacks the app's tables raises."""
    verified = check_file(path, ignore_checksum)
    scratch = f"aios_verify_{(now or datetime.now()):%Y%m%d_%H%M%S_%f}"
    try:
        restored = restore_into_new(path, target, tools, scratch, required)
    finally:
        target.drop_database(scratch)
    return VerifyReport(verified, target.table_counts(), restored)
