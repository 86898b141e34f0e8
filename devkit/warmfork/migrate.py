"""The one way devkit applies the API's migrations: `<module>.migrations.apply_pending(url)`.

Used in-process by the forked child (fork reloading), as `python -m devkit.warmfork.migrate
--module server` by spawn reloading, and by `devkit db push`. Stdlib only (the warm parent's
children run it before anything else of devkit could be imported).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib.machinery import PathFinder
from types import ModuleType


def migrations_module(module: str) -> ModuleType | None:
    """`<module>.migrations`, or None when the project's package has none.

    Looked up in the package's own folders only: another `server` package installed
    elsewhere (an editable install on sys.meta_path) must not lend its migrations.
    """
    try:
        package = importlib.import_module(module)
    except ModuleNotFoundError:
        return None
    folders = getattr(package, "__path__", None)
    if folders is None or PathFinder.find_spec(f"{module}.migrations", folders) is None:
        return None
    return importlib.import_module(f"{module}.migrations")


def apply_pending(module: str, url: str) -> list[str]:
    """Apply what is pending; the names applied (empty: nothing to do or no migrations)."""
    migrations = migrations_module(module)
    if migrations is None:
        return []
    return [str(name) for name in migrations.apply_pending(url)]


def on_start(module: str) -> None:
    """Before the API serves: migrate when DEVKIT_MIGRATE=1, printing what was applied."""
    if os.environ.get("DEVKIT_MIGRATE") != "1":
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        if migrations_module(module) is not None:
            print("migrations skipped: DATABASE_URL is not set", file=sys.stderr, flush=True)
        return
    applied = apply_pending(module, url)
    if applied:
        print(f"applied migrations: {applied}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.warmfork.migrate")
    parser.add_argument("--module", default="server")
    args = parser.parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    on_start(args.module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
