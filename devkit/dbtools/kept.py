"""Databases a restore kept: the dev database it replaced, renamed DBNAME_replaced_STAMP.

A `restore --into-dev` never drops what it replaces; these helpers list the kept ones, swap one
back in (the current dev database is kept in turn) and drop them when the person says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devkit.dbtools.restore import REPLACED_TAG, free_name
from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError


@dataclass(frozen=True)
class KeptDatabase:
    name: str
    size_bytes: int


def kept_databases(target: DbTarget) -> list[KeptDatabase]:
    """The kept replaced databases of target's database, oldest first."""
    prefix = target.dbname + REPLACED_TAG
    with target.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database "
            "WHERE starts_with(datname, %s) ORDER BY datname",
            (prefix,),
        ).fetchall()
    return [KeptDatabase(str(name), int(size)) for name, size in rows]


def _check_kept(target: DbTarget, name: str) -> None:
    if not name.startswith(target.dbname + REPLACED_TAG):
        raise DevkitError(
            f"{name} is not a database kept by devkit db restore",
            "list them: devkit db kept",
        )
    if not target.database_exists(name):
        raise DevkitError(f"database {name} does not exist", "list them: devkit db kept")


def bring_back(target: DbTarget, name: str, now: datetime | None = None) -> str | None:
    """Make kept database `name` the dev database again; the current one is kept in its place
    (its new name returned)."""
    _check_kept(target, name)
    stamp = f"{(now or datetime.now()):%Y%m%d_%H%M%S}"
    current = free_name(target, f"{target.dbname}{REPLACED_TAG}{stamp}")
    kept: str | None = None
    if target.database_exists(target.dbname):
        target.rename_in_use(target.dbname, current)
        kept = current
    try:
        target.rename_database(name, target.dbname)
    except BaseException:
        if kept and not target.database_exists(target.dbname):
            target.rename_database(kept, target.dbname)
        raise
    return kept


def drop_kept(target: DbTarget, names: list[str]) -> list[str]:
    for name in names:
        _check_kept(target, name)
    for name in names:
        target.drop_database(name)
    return names
