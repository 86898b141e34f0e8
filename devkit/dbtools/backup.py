"""`devkit db backup`: pg_dump | gzip into BACKUP_DIR, atomically, with a .sha256 sidecar.

The dump streams through Python's gzip in 1 MiB chunks into a hidden temp file in the same
folder; only when pg_dump exited 0 and the data is fsync'ed is it renamed to its final name.
A failure (pg_dump error, disk full, interrupt) removes the temp file.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from devkit.dbtools.target import DbTarget
from devkit.dbtools.tools import DbTools, popen, stderr_tail
from devkit.errors import DevkitError

CHUNK = 1 << 20
NAME_RE = re.compile(r"^aios_(\d{8})_(\d{6})(?:_\d+)?\.sql\.gz$")
PARTIAL_PREFIX = ".aios_partial_"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    sha256: str


class _HashingWriter:
    """Unbuffered writer on a file descriptor that hashes what lands on disk.

    os.write may write only part of the data when the disk is nearly full; the loop retries
    so that the next call raises ENOSPC instead of bytes being lost silently.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.hash.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        os.fsync(self.fd)


def backup_name(now: datetime, folder: Path) -> Path:
    base = f"aios_{now:%Y%m%d_%H%M%S}"
    path, n = folder / f"{base}.sql.gz", 2
    while path.exists():
        path, n = folder / f"{base}_{n}.sql.gz", n + 1
    return path


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _disk_error(exc: OSError, folder: Path) -> DevkitError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DevkitError(
            f"the disk holding {folder} is full; the backup was not written",
            "free some space (devkit db prune removes old backups) or set "
            "BACKUP_DIR in .env to a folder on another disk",
        )
    return DevkitError(
        f"cannot write the backup in {folder}: {exc.strerror or exc}",
        f"check that {folder} exists and is writable, or set BACKUP_DIR in .env",
    )


def backup_database(
    target: DbTarget, tools: DbTools, folder: Path, now: datetime | None = None
) -> BackupResult:
    """Dump `target` to folder/aios_YYYYMMDD_HHMMSS.sql.gz (+ .sha256); return what was written."""
    now = now or datetime.now()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, folder) from None
    final = backup_name(now, folder)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=".sql.gz", dir=folder)
    except OSError as exc:
        raise _disk_error(exc, folder) from None
    tmp = Path(tmp_name)
    errors = tempfile.TemporaryFile()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(fd, "wb", buffering=0) as raw:
            writer = _HashingWriter(raw.fileno())
            proc = popen(
                tools,
                "pg_dump",
                ["--format=plain", "--no-owner", "--no-privileges"],
                target,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            assert proc.stdout is not None
            try:
                # level 6 like the gzip CLI: level 9 (Python's default) is far slower for ~2% less
                with gzip.GzipFile(
                    filename=final.name.removesuffix(".gz"),
                    mode="wb",
                    compresslevel=6,
                    fileobj=writer,
                    mtime=int(now.timestamp()),
                ) as gz:
                    while chunk := proc.stdout.read(CHUNK):
                        gz.write(chunk)
                writer.flush()
            except OSError as exc:
                raise _disk_error(exc, folder) from None
            code = proc.wait()
            if code != 0:
                raise DevkitError(
                    f"pg_dump failed (exit code {code}) via {tools.where}: "
                    f"{stderr_tail(errors) or 'no message'}",
                    "check that the database is running and DATABASE_URL in .env "
                    "is right (devkit doctor checks both)",
                )
        os.replace(tmp, final)
        check = sidecar(final)
        check_tmp = check.with_name(PARTIAL_PREFIX + check.name)
        try:
            with open(check_tmp, "w", encoding="ascii") as handle:
                handle.write(f"{writer.hash.hexdigest()}  {final.name}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(check_tmp, check)
        except OSError as exc:
            final.unlink(missing_ok=True)
            check_tmp.unlink(missing_ok=True)
            raise _disk_error(exc, folder) from None
        _fsync_dir(folder)
        return BackupResult(final, writer.size, writer.hash.hexdigest())
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        errors.close()


def read_sidecar(path: Path) -> str | None:
    """The expected sha256 from the sidecar, None when there is none."""
    check = sidecar(path)
    if not check.exists():
        return None
    text = check.read_text(encoding="ascii", errors="replace").strip()
    digest = text.split()[0] if text else ""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise DevkitError(
            f"{check.name} is not a sha256sum line",
            f"fix or delete {check}, or add --ignore-checksum to use the file without it",
        )
    return digest


def check_checksum(path: Path) -> bool:
    """True when a sidecar exists and matches; False without sidecar; raise on mismatch."""
    expected = read_sidecar(path)
    if expected is None:
        return False
    actual = file_sha256(path)
    if actual != expected:
        raise DevkitError(
            f"{path.name} is corrupt: its sha256 {actual[:12]}... does not match "
            f"{sidecar(path).name} ({expected[:12]}...)",
            "use another backup (devkit db backup makes a fresh one); if you know the file "
            "is good and the .sha256 is wrong, add --ignore-checksum (the completeness and "
            "table checks still run)",
        )
    return True
