"""Is a backup file whole? Checked before anything is restored from it.

A file is whole only when it says so itself: a plain dump (gzip'd or not) ends with pg_dump's
"-- PostgreSQL database dump complete" line, a custom-format archive has its table of contents
(read by `pg_restore --list`). An empty file, a gzip stream cut short or a dump cut between two
statements (each of which would replay "cleanly" into an empty database) is refused.
The tables a restore must produce come from the app's migrations (server/migrations/*.sql).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Collection
from pathlib import Path

from devkit.errors import DevkitError

TRAILER = b"-- PostgreSQL database dump complete"
CUSTOM_MAGIC = b"PGDMP"
GZIP_MAGIC = b"\x1f\x8b"
CORRUPT_HINT = "use another backup (devkit db backup makes a fresh one)"
PLAIN, PLAIN_GZ, CUSTOM = "plain", "plain-gz", "custom"
_CREATE_TABLE = re.compile(
    r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:\"?\w+\"?\.)?\"?\w+\"?)", re.IGNORECASE
)
_TAIL = 4096


class CorruptBackupError(DevkitError):
    """The backup file is damaged, truncated, incomplete or does not replay."""


def check_file(path: Path) -> None:
    """A readable regular file, or an error that says what it is instead."""
    if path.is_dir():
        raise DevkitError(
            f"{path} is a folder, not a backup file",
            f"pass one of the files in it (ls {path})",
        )
    if not path.exists():
        raise DevkitError(f"{path} does not exist", "pass a file from BACKUP_DIR (ls backups/)")
    if not path.is_file():
        raise DevkitError(f"{path} is not a regular file", "pass a backup file (ls backups/)")


def backup_format(path: Path) -> str:
    """PLAIN_GZ, PLAIN (an uncompressed .sql) or CUSTOM by the file's first bytes; an empty
    file, or a .gz that is not gzip, is refused."""
    with open(path, "rb") as handle:
        head = handle.read(5)
    if not head:
        raise CorruptBackupError(
            f"{path.name} is empty (0 bytes): it holds no backup",
            "this is what an interrupted copy or a failed `> file` leaves; " + CORRUPT_HINT,
        )
    if head.startswith(GZIP_MAGIC):
        return PLAIN_GZ
    if head == CUSTOM_MAGIC:
        return CUSTOM
    if path.name.endswith(".gz"):
        raise CorruptBackupError(
            f"{path.name} is corrupt (not a valid gzip file: it does not start like one)",
            CORRUPT_HINT,
        )
    return PLAIN


def _incomplete(path: Path, size: int) -> CorruptBackupError:
    what = "holds no SQL" if size == 0 else f"stops after {size} bytes of SQL"
    return CorruptBackupError(
        f"{path.name} is incomplete: it {what} without pg_dump's closing "
        f"'{TRAILER.decode()}' line (cut short while it was written or copied)",
        "restoring it would replace your data with part of it; " + CORRUPT_HINT,
    )


def check_plain_complete(path: Path, compressed: bool) -> None:
    """Read the whole dump once: it must decompress and end with pg_dump's trailer."""
    tail, size = b"", 0
    try:
        opener = gzip.open if compressed else open
        with opener(path, "rb") as source:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                tail = (tail + chunk)[-_TAIL:]
    except EOFError as exc:
        raise CorruptBackupError(
            f"{path.name} is corrupt (truncated: {exc})", CORRUPT_HINT
        ) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise CorruptBackupError(
            f"{path.name} is corrupt (not a valid gzip file: {exc})", CORRUPT_HINT
        ) from None
    if TRAILER not in tail:
        raise _incomplete(path, size)


def app_tables(migrations_dir: Path | None) -> set[str]:
    """ "schema.table" of every table the migrations create ("public." when unqualified)."""
    if migrations_dir is None or not migrations_dir.is_dir():
        return set()
    found: set[str] = set()
    for sql_file in sorted(migrations_dir.glob("*.sql")):
        for match in _CREATE_TABLE.finditer(sql_file.read_text(encoding="utf-8")):
            name = match.group(1).replace('"', "")
            found.add(name if "." in name else f"public.{name}")
    return found


def check_tables(path: Path, restored: Collection[str], required: Collection[str]) -> None:
    """The restore produced tables, and every table the app's schema has."""
    missing = sorted(set(required) - set(restored))
    if not restored:
        raise CorruptBackupError(
            f"{path.name} restored 0 tables: it is not a backup of a database with data",
            "nothing was changed; " + CORRUPT_HINT,
        )
    if missing:
        raise CorruptBackupError(
            f"{path.name} lacks the app's table(s) {', '.join(missing)} (server/migrations "
            f"creates them); it restored {len(restored)} other table(s): not a backup of "
            "this app's database",
            "nothing was changed; " + CORRUPT_HINT,
        )
