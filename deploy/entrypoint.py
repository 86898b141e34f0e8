"""Entrypoint of the AIOS API image.

  serve    (default) apply pending migrations, then exec gunicorn (PID 1, graceful SIGTERM)
  migrate  apply pending migrations and exit (Kubernetes Job, one-off runs)
  other    exec it as given (python -c ..., sh)

Migrations on `serve` are safe with many replicas starting at once: server.migrations takes a
PostgreSQL advisory lock, so the first replica applies them and the others find nothing to do.
MIGRATE_ON_START=0 skips them (Kubernetes runs the migration Job instead). While the database
is not reachable yet, the migration step retries for MIGRATE_WAIT seconds (default 60).
"""

from __future__ import annotations

import os
import sys
import time

GUNICORN = ["gunicorn", "-c", "/app/gunicorn.conf.py", "server.wsgi:app"]


def migrate() -> int:
    import psycopg

    from server.config import ConfigError, resolve_file_variables
    from server.migrations import apply_pending

    try:
        url = (resolve_file_variables(os.environ).get("DATABASE_URL") or "").strip()
    except ConfigError as exc:
        print(f"migrate: configuration error: {exc}", file=sys.stderr, flush=True)
        return 2
    if not url:
        print("migrate: DATABASE_URL (or DATABASE_URL_FILE) is not set", file=sys.stderr)
        return 2
    deadline = time.monotonic() + float(os.environ.get("MIGRATE_WAIT") or 60)
    while True:
        try:
            names = apply_pending(url)
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                print(f"migrate: cannot reach the database: {first}", file=sys.stderr)
                return 1
            time.sleep(1)
            continue
        except psycopg.Error as exc:
            print(f"migrate: a migration failed and was rolled back: {exc}", file=sys.stderr)
            return 1
        print("migrate: " + (", ".join(names) if names else "no schema changes"), flush=True)
        return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "migrate":
        return migrate()
    if command == "serve":
        if os.environ.get("MIGRATE_ON_START", "1") != "0":
            status = migrate()
            if status:
                return status
        os.execvp(GUNICORN[0], GUNICORN + argv[1:])
    os.execvp(argv[0], argv)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
