"""`devkit db push / status / reset`: thin calls into server.migrations (the API owns its schema)."""

from __future__ import annotations

from types import ModuleType

from devkit.dbtools.target import DbTarget
from devkit.errors import DevkitError
from devkit.warmfork import migrate as entry


def migrations_module() -> ModuleType:
    try:
        from server import migrations
    except ImportError as exc:
        raise DevkitError(
            f"the server's migrations cannot be imported: {exc}",
            "run devkit from the project folder with its .venv (./scripts/dev db ...)",
        ) from None
    if not hasattr(migrations, "apply_pending"):
        raise DevkitError(
            "server.migrations has no apply_pending(): the server package is incomplete",
            "run devkit from the project folder (./scripts/dev db ...)",
        )
    return migrations


def no_changes_text() -> str:
    """The line printed when nothing is pending: the server's own (server.migrations.NO_CHANGES),
    so `devkit db push` and `python -m server.migrations` say the same thing."""
    return str(migrations_module().NO_CHANGES)


def push(target: DbTarget) -> list[str]:
    """Apply pending migrations; the names applied (empty: nothing to do)."""
    migrations_module()  # a clear error when the server package cannot migrate
    target.connect().close()  # a clear error when the database is down
    return entry.apply_pending("server", target.url)  # the API's own start uses the same


def status(target: DbTarget) -> list[tuple[str, bool]]:
    module = migrations_module()
    target.connect().close()
    return [(str(name), bool(applied)) for name, applied in module.migration_status(target.url)]


def pending(target: DbTarget) -> list[str]:
    module = migrations_module()
    return [str(name) for name in module.pending(target.url)]


def reset(target: DbTarget) -> list[str]:
    """Drop and recreate the dev database, then apply every migration."""
    if target.dbname in ("postgres", "template0", "template1"):
        raise DevkitError(
            f"refusing to reset the {target.dbname} database",
            "point DATABASE_URL in .env at the dev database (e.g. .../aios)",
        )
    target.drop_database(target.dbname)
    target.create_database(target.dbname)
    return push(target)
