"""`devkit db restore` and `verify`: a backup streamed through gunzip into psql.

psql runs with ON_ERROR_STOP and --single-transaction, so a bad file never leaves a half
restored database; a database devkit created for the restore is dropped again on failure.
`--into-dev` restores into a fresh database first and swaps names only when that succeeded.
"""

from __future__ import annotations

import gzip
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from devkit.dbtools.backup import CHUNK, check_checksum
from devkit.dbtools.target import DbTarget
from devkit.dbtools.tools import DbTools, popen, stderr_tail
from devkit.errors import DevkitError

CORRUPT_HINT = "use another backup (devkit db backup makes a fresh one)"


class CorruptBackupError(DevkitError):
    """The backup file is damaged, truncated or does not replay."""


def _stream_into_psql(path: Path, target: DbTarget, tools: DbTools) -> None:
    errors = tempfile.TemporaryFile()
    proc = popen(
        tools,
        "psql",
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--no-psqlrc"],
        target,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    assert proc.stdin is not None
    broken = False
    try:
        try:
            with gzip.open(path, "rb") as source:
                while chunk := source.read(CHUNK):
                    try:
                        proc.stdin.write(chunk)
                    except BrokenPipeError:
                        broken = True  # psql stopped (SQL error): its exit code says why
                        break
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
            proc.kill()
            proc.wait()
            kind = "truncated" if isinstance(exc, EOFError) else "not a valid gzip file"
            raise CorruptBackupError(
                f"{path.name} is corrupt ({kind}: {exc})", CORRUPT_HINT
            ) from None
        try:
            proc.stdin.close()
        except BrokenPipeError:
            broken = True
        code = proc.wait()
        if code != 0 or broken:
            raise CorruptBackupError(
                f"{path.name} did not restore: psql via {tools.where} exited with code {code}: "
                f"{stderr_tail(errors) or 'no message'}",
                "if the message is about the connection, check the database (devkit doctor); "
                "otherwise the file is damaged: " + CORRUPT_HINT,
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.close()


def _check_file(path: Path) -> bool:
    if not path.is_file():
        raise DevkitError(f"{path} does not exist", "pass a file from BACKUP_DIR (ls backups/)")
    return check_checksum(path)


def restore_into_new(path: Path, target: DbTarget, tools: DbTools, name: str) -> None:
    """Create database `name` and restore `path` into it; drop it again on any failure."""
    if target.database_exists(name):
        raise DevkitError(f"database {name} already exists", "pick another name or drop it first")
    target.create_database(name)
    try:
        _stream_into_psql(path, target.with_db(name), tools)
    except BaseException:
        target.drop_database(name)
        raise


@dataclass(frozen=True)
class RestoreResult:
    database: str
    checksum_verified: bool


def restore(
    path: Path,
    target: DbTarget,
    tools: DbTools,
    into_dev: bool = False,
    now: datetime | None = None,
) -> RestoreResult:
    """Into aios_restore_YYYYMMDD_HHMMSS, or (into_dev) replace target's database."""
    verified = _check_file(path)
    stamp = f"{(now or datetime.now()):%Y%m%d_%H%M%S}"
    if not into_dev:
        name, n = f"aios_restore_{stamp}", 2
        while target.database_exists(name):
            name, n = f"aios_restore_{stamp}_{n}", n + 1
        restore_into_new(path, target, tools, name)
        return RestoreResult(name, verified)
    staging = f"{target.dbname}_incoming_{stamp}"[:63]
    old = f"{target.dbname}_replaced_{stamp}"[:63]
    restore_into_new(path, target, tools, staging)
    try:
        target.terminate_connections(target.dbname)
        if target.database_exists(target.dbname):
            target.rename_database(target.dbname, old)
        target.rename_database(staging, target.dbname)
    except BaseException:
        if not target.database_exists(target.dbname) and target.database_exists(old):
            target.rename_database(old, target.dbname)
        target.drop_database(staging)
        raise
    target.drop_database(old)
    return RestoreResult(target.dbname, verified)


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
    path: Path, target: DbTarget, tools: DbTools, now: datetime | None = None
) -> VerifyReport:
    """Restore into a scratch database, count rows per table there and live; drop the scratch."""
    verified = _check_file(path)
    scratch = f"aios_verify_{(now or datetime.now()):%Y%m%d_%H%M%S_%f}"
    restore_into_new(path, target, tools, scratch)
    try:
        restored = target.table_counts(scratch)
    finally:
        target.drop_database(scratch)
    return VerifyReport(verified, target.table_counts(), restored)
