"""Checks of the database side: a backend to run PostgreSQL, reachability, schema, backups."""

from __future__ import annotations

import psycopg

from devkit.dbtools import prune
from devkit.dbtools.target import pg_error_text
from devkit.doctor.model import CheckResult, DoctorContext
from devkit.host import pgcluster
from devkit.settings.masking import mask_url

BACKUP_MAX_AGE_HOURS = 24


def check_backend(ctx: DoctorContext) -> CheckResult:
    wanted = ctx.settings.db_backend
    engine = ctx.docker() if wanted in ("auto", "docker") and ctx.docker else None
    bindir = ctx.pg_bindir() if wanted in ("auto", "native") else None
    docker_fix = "start Docker (Docker Desktop, or: sudo systemctl start docker)"
    if wanted == "docker":
        if engine:
            return CheckResult("postgres-backend", "pass", f"{engine} (db_backend = docker)")
        return CheckResult(
            "postgres-backend",
            "fail",
            "db_backend = docker but no Docker engine answers",
            f"{docker_fix}, or use --db-backend native",
        )
    if wanted == "native":
        if bindir:
            return CheckResult("postgres-backend", "pass", f"local PostgreSQL binaries in {bindir}")
        return CheckResult(
            "postgres-backend",
            "fail",
            "db_backend = native but no PostgreSQL binaries were found",
            pgcluster.INSTALL_HINT,
        )
    if engine:
        return CheckResult("postgres-backend", "pass", f"{engine} (used by db_backend = auto)")
    if bindir:
        return CheckResult(
            "postgres-backend",
            "pass",
            f"no Docker engine; local PostgreSQL binaries in {bindir} will be used",
        )
    return CheckResult(
        "postgres-backend",
        "fail",
        "neither a Docker engine nor local PostgreSQL binaries were found",
        f"{docker_fix}, or " + pgcluster.INSTALL_HINT,
    )


def _connect_error(url: str, ctx: DoctorContext) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(ctx.timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return pg_error_text(exc)
    return None


def check_database(ctx: DoctorContext) -> CheckResult:
    url = ctx.settings.database_url
    if not url:
        return CheckResult(
            "database",
            "fail",
            "DATABASE_URL is not set",
            "set DATABASE_URL in .env (see .env.example)",
        )
    error = _connect_error(url, ctx)
    if error is None:
        return CheckResult("database", "pass", f"{mask_url(url)} answers")
    if "password authentication failed" in error or "does not exist" in error:
        fix = (
            "DATABASE_URL's user, password or database does not match the server: fix .env "
            "(the password PostgreSQL was created with wins) or devkit db reset"
        )
    else:
        fix = "start it: devkit up (or check POSTGRES_PORT / DATABASE_URL in .env)"
    return CheckResult("database", "fail", f"{mask_url(url)}: {error}", fix)


def check_schema(ctx: DoctorContext) -> CheckResult:
    url = ctx.settings.database_url
    if not url or _connect_error(url, ctx) is not None:
        return CheckResult("schema", "skip", "database not reachable (see database)")
    try:
        from server import migrations

        migrations.pending  # noqa: B018 - a namespace package without the module has none
    except (ImportError, AttributeError) as exc:
        return CheckResult(
            "schema", "warn", f"server.migrations cannot be used: {exc}", REINSTALL_SERVER
        )
    # any other error importing it (SyntaxError, NameError ...) is the project's own code:
    # run_checks names the file and line
    try:
        waiting = list(migrations.pending(url))
    except Exception as exc:  # noqa: BLE001 - report whatever the server's code raised
        return CheckResult(
            "schema",
            "fail",
            f"cannot read the migration state: {exc}",
            "run devkit db status for details",
        )
    if not waiting:
        return CheckResult("schema", "pass", "no pending migrations")
    return CheckResult(
        "schema",
        "fail",
        f"{len(waiting)} pending migration(s): "
        f"{', '.join(map(str, waiting[:3]))}{' ...' if len(waiting) > 3 else ''}",
        "devkit db push (devkit up also applies them on start)",
    )


REINSTALL_SERVER = "run devkit from the project folder with its .venv (./scripts/dev doctor)"


def check_backups(ctx: DoctorContext) -> CheckResult:
    folder = ctx.settings.backup_dir
    stamps = []
    if folder.is_dir():
        stamps = [s for s in (prune.parse_name(p.name) for p in folder.iterdir()) if s]
    if not stamps:
        return CheckResult(
            "backups",
            "warn",
            f"no backups in {folder}",
            "devkit db backup (nightly: see README, Backups from cron)",
        )
    newest = max(stamps)
    hours = (ctx.now - newest).total_seconds() / 3600
    if hours > BACKUP_MAX_AGE_HOURS:
        return CheckResult(
            "backups",
            "warn",
            f"newest backup is {hours:.0f} h old ({newest:%Y-%m-%d %H:%M})",
            "devkit db backup (and add the cron line from the README)",
        )
    return CheckResult(
        "backups", "pass", f"newest backup {newest:%Y-%m-%d %H:%M} ({max(hours, 0):.1f} h old)"
    )
