"""`devkit db push|status|psql|reset|backup|prune|restore|verify|kept|bring-back|drop-kept`:
parse, call dbtools, print."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.commands.common import settings_from
from devkit.dbtools import backup as backups
from devkit.dbtools import kept, migrate, prune, restore
from devkit.dbtools.backup_check import app_tables
from devkit.dbtools.target import DbTarget
from devkit.dbtools.tools import DbTools, select_tools
from devkit.errors import DevkitError
from devkit.settings.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help=COMMANDS["db"])
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub.add_parser("push", help="apply pending migrations").set_defaults(run=run_push)
    sub.add_parser("status", help="applied and pending migrations").set_defaults(run=run_status)
    psql = sub.add_parser("psql", help="psql on the dev database")
    psql.add_argument("psql_args", nargs=argparse.REMAINDER, help="passed on to psql")
    psql.set_defaults(run=run_psql)
    reset = sub.add_parser("reset", help="drop and recreate the dev database, then migrate")
    reset.add_argument("--yes", action="store_true", help="do not ask")
    reset.set_defaults(run=run_reset)
    backup = sub.add_parser("backup", help="gzip'd pg_dump into BACKUP_DIR with a .sha256")
    backup.add_argument("--prune", action="store_true", help="then apply the retention policy")
    backup.set_defaults(run=run_backup)
    prune_p = sub.add_parser("prune", help="keep 7 daily, 4 weekly, 12 monthly backups")
    prune_p.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    prune_p.set_defaults(run=run_prune)
    restore_p = sub.add_parser("restore", help="restore a backup into a new database")
    restore_p.add_argument("file", type=Path)
    restore_p.add_argument(
        "--into-dev", action="store_true", help="replace the dev database instead (asks)"
    )
    restore_p.add_argument("--yes", action="store_true", help="do not ask")
    restore_p.add_argument("--ignore-checksum", action="store_true", help=IGNORE_HELP)
    restore_p.set_defaults(run=run_restore)
    sub.add_parser(
        "kept", help="databases a restore --into-dev replaced (kept until you drop them)"
    ).set_defaults(run=run_kept)
    back = sub.add_parser("bring-back", help="make a kept database the dev database again")
    back.add_argument("name", help="a name from devkit db kept")
    back.add_argument("--yes", action="store_true", help="do not ask")
    back.set_defaults(run=run_bring_back)
    drop = sub.add_parser("drop-kept", help="drop databases kept by restore --into-dev")
    drop.add_argument("names", nargs="*", help="names from devkit db kept")
    drop.add_argument("--all", action="store_true", help="every kept database")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.set_defaults(run=run_drop_kept)
    verify = sub.add_parser("verify", help="restore into a scratch database and compare counts")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when row counts differ from the live database or the backup has no table",
    )
    verify.add_argument("--ignore-checksum", action="store_true", help=IGNORE_HELP)
    verify.set_defaults(run=run_verify)


IGNORE_HELP = (
    "use the file even when its .sha256 does not match (skips only the checksum; "
    "the completeness and table checks still run)"
)


# --- helpers ---------------------------------------------------------------------------------
def _required_tables(settings: Settings) -> set[str]:
    """The app's tables (server/migrations), which a backup of its database must hold."""
    own = settings.root.joinpath(*settings.api_module.split("."), "migrations")
    if own.is_dir():
        return app_tables(own)
    try:
        return app_tables(migrate.migrations_module().MIGRATIONS_DIR)
    except (DevkitError, AttributeError):
        return set()


def _checksum_note(verified: bool, ignored: bool) -> str:
    if ignored:
        return "checksum NOT checked: --ignore-checksum"
    return "checksum ok" if verified else "no .sha256 file: checksum not checked"


def _target(settings: Settings) -> DbTarget:
    return DbTarget.from_url(settings.database_url)


def _tools(settings: Settings, target: DbTarget) -> DbTools:
    from devkit.dbtools.container import find_postgres_container

    return select_tools(
        target,
        find_container=lambda: find_postgres_container(settings.root, settings.compose_service),
    )


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise DevkitError(
            f"{question} needs confirmation and there is no terminal to ask", "add --yes to confirm"
        )
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _backup_file(settings: Settings, name: Path) -> Path:
    if name.exists() or name.is_absolute():
        return name
    return settings.backup_dir / name


# --- commands --------------------------------------------------------------------------------
def run_push(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    applied = migrate.push(target)
    if not applied:
        print(migrate.no_changes_text())
    for name in applied:
        print(f"applied {name}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    rows = migrate.status(target)
    print(f"database {target.masked}")
    for name, applied in rows:
        print(f"  {'applied' if applied else 'PENDING'}  {name}")
    waiting = sum(1 for _, applied in rows if not applied)
    print(
        f"{len(rows) - waiting} applied, {waiting} pending"
        + ("  (apply: devkit db push)" if waiting else "")
    )
    return 0


def run_psql(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    target = _target(settings)
    argv, env = _tools(settings, target).argv(
        "psql", list(args.psql_args or []), target, interactive=sys.stdin.isatty()
    )
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        raise DevkitError(
            f"cannot run {argv[0]}: {exc.strerror}",
            "install the PostgreSQL client (psql) or Docker",
        ) from None
    return 1  # not reached


def run_reset(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    if not _confirm(f"drop and recreate database {target.dbname} at {target.masked}?", args.yes):
        print("nothing changed")
        return 1
    applied = migrate.reset(target)
    print(f"database {target.dbname} recreated; applied {len(applied)} migration(s)")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    target = _target(settings)
    tools = _tools(settings, target)
    result = backups.backup_database(target, tools, settings.backup_dir)
    print(
        f"backup written: {result.path} ({result.size / 1024:.1f} KiB, sha256 "
        f"{result.sha256[:12]}..., pg_dump via {tools.where})"
    )
    if args.prune:
        return _prune(settings, dry_run=False)
    return 0


def run_prune(args: argparse.Namespace) -> int:
    return _prune(settings_from(args), dry_run=args.dry_run)


def _prune(settings: Settings, dry_run: bool) -> int:
    folder = settings.backup_dir
    todo = prune.plan(folder)
    verb = "would delete" if dry_run else "deleted"
    for path in todo.delete + todo.stale_partials:
        print(f"{verb} {path.name}")
    if not dry_run:
        prune.apply(todo)
    print(
        f"{len(todo.keep)} backup(s) kept, {len(todo.delete)} {verb.split()[-1]} "
        f"in {folder} (policy: 7 daily, 4 weekly, 12 monthly)"
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    target = _target(settings)
    path = _backup_file(settings, args.file)
    if args.into_dev and not _confirm(
        f"replace database {target.dbname} with {path.name}? The current one is kept "
        "(renamed) until you drop it",
        args.yes,
    ):
        print("nothing changed")
        return 1
    result = restore.restore(
        path,
        target,
        _tools(settings, target),
        into_dev=args.into_dev,
        required=_required_tables(settings),
        ignore_checksum=args.ignore_checksum,
    )
    note = _checksum_note(result.checksum_verified, args.ignore_checksum)
    print(
        f"restored {path.name} into database {result.database} ({result.tables} table(s); {note})"
    )
    if not args.into_dev:
        print(f"  url: {target.with_db(result.database).masked}")
    elif result.kept:
        print(f"the previous {target.dbname} is kept as database {result.kept}")
        print(f"  bring it back: devkit db bring-back {result.kept}")
        print(f"  drop it when you are sure: devkit db drop-kept {result.kept}")
    return 0


def run_kept(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    found = kept.kept_databases(target)
    if not found:
        print(f"no kept databases of {target.dbname}")
        return 0
    for item in found:
        print(f"  {item.name}  ({item.size_bytes / 1024 / 1024:.1f} MiB)")
    print(
        f"{len(found)} kept; bring one back: devkit db bring-back NAME; "
        "drop: devkit db drop-kept NAME (or --all)"
    )
    return 0


def run_bring_back(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    if not _confirm(
        f"make {args.name} the database {target.dbname} again? The current one is kept",
        args.yes,
    ):
        print("nothing changed")
        return 1
    replaced = kept.bring_back(target, args.name)
    print(f"{args.name} is database {target.dbname} again")
    if replaced:
        print(f"the one it replaced is kept as {replaced} (devkit db drop-kept {replaced})")
    return 0


def run_drop_kept(args: argparse.Namespace) -> int:
    target = _target(settings_from(args))
    names = [k.name for k in kept.kept_databases(target)] if args.all else list(args.names)
    if not names:
        print("nothing to drop" + ("" if args.all else " (name them, or --all)"))
        return 0 if args.all else 1
    if not _confirm(f"drop {', '.join(names)}? Their data is lost", args.yes):
        print("nothing changed")
        return 1
    for name in kept.drop_kept(target, names):
        print(f"dropped {name}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    target = _target(settings)
    path = _backup_file(settings, args.file)
    report = restore.verify(
        path,
        target,
        _tools(settings, target),
        required=_required_tables(settings),
        ignore_checksum=args.ignore_checksum,
    )
    note = _checksum_note(report.checksum_verified, args.ignore_checksum)
    print(f"{path.name} restores cleanly ({note}); {len(report.restored)} table(s)")
    differences = report.differences
    if not differences:
        print("row counts match the live database")
        return 0
    print(
        f"{len(differences)} table(s) differ from the live database "
        "(expected when data changed since the backup):"
    )
    for table, live, saved in differences:
        print(
            f"  {table}: live {'-' if live is None else live}, "
            f"backup {'-' if saved is None else saved}"
        )
    return 1 if args.strict else 0
