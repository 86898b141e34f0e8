"""The dev database as a target: its URL split into parts, masked for printing, and admin SQL.

Every `devkit db` operation works on a DbTarget. Administrative statements (CREATE / DROP /
RENAME DATABASE) run on the cluster's `postgres` database with the same credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

from devkit.errors import DevkitError
from devkit.settings.masking import mask_url

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


def pg_error_text(exc: BaseException) -> str:
    """The reason in a psycopg connection error ("Connection refused", "password ...")."""
    lines = [
        line.strip()
        for line in str(exc).splitlines()
        if line.strip() and not line.strip().startswith("Is the server")
    ]
    text = lines[-1] if lines else type(exc).__name__
    reason = text.rsplit(" failed: ", 1)[-1]
    return reason.removeprefix("FATAL:").strip()


@dataclass(frozen=True)
class DbTarget:
    """One database on one server, reachable from this host."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> DbTarget:
        """From DATABASE_URL in either form libpq takes: postgresql://USER:PASSWORD@HOST:PORT/DB
        or key=value (host=... port=... user=... password=... dbname=...), as `devkit up` does."""
        if not url:
            raise DevkitError(
                "DATABASE_URL is not set",
                "set DATABASE_URL in .env (see .env.example) or run devkit up once",
            )
        if "://" not in url:
            return cls._from_conninfo(url)
        shape = (
            "DATABASE_URL is not a postgresql://USER:PASSWORD@HOST:PORT/DB URL "
            "(nor host=... port=... user=... password=... dbname=...)"
        )
        parts = urlsplit(url.strip())
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise DevkitError(
                f"{shape}: {mask_url(url)}", "fix DATABASE_URL in .env (see .env.example)"
            )
        try:
            port = parts.port or 5432
        except ValueError:
            raise DevkitError(
                f"DATABASE_URL has a port that is not a port (1 to 65535): {mask_url(url)}",
                "fix the port in DATABASE_URL in .env (it usually comes from POSTGRES_PORT)",
            ) from None
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")),
        )

    @classmethod
    def _from_conninfo(cls, url: str) -> DbTarget:
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
        except psycopg.Error as exc:
            # psycopg's message may quote a piece of the string (the password): not shown
            raise DevkitError(
                f"DATABASE_URL cannot be read as key=value settings ({type(exc).__name__}): "
                f"{mask_url(url)}",
                "use postgresql://USER:PASSWORD@HOST:PORT/DB, or host=... port=... user=... "
                "password=... dbname=... (quote values with spaces: password='a b')",
            ) from None
        raw_port = parts.get("port", "5432")
        if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
            raise DevkitError(
                f"DATABASE_URL has port={raw_port!r}, not a port (1 to 65535): {mask_url(url)}",
                "fix the port in DATABASE_URL in .env",
            )
        if not parts.get("dbname"):
            raise DevkitError(
                f"DATABASE_URL names no database (dbname=...): {mask_url(url)}",
                "add dbname=aios (or the database you use) to DATABASE_URL in .env",
            )
        host = parts.get("host") or parts.get("hostaddr") or "127.0.0.1"
        return cls(
            host=host,
            port=int(raw_port),
            user=parts.get("user", ""),
            password=parts.get("password", ""),
            dbname=parts["dbname"],
        )

    def with_db(self, dbname: str) -> DbTarget:
        return replace(self, dbname=dbname)

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"

    @property
    def masked(self) -> str:
        return mask_url(self.url)

    # --- SQL helpers ----------------------------------------------------------------------
    def connect(self, dbname: str | None = None, timeout: int = 5) -> psycopg.Connection:
        url = self.with_db(dbname).url if dbname else self.url
        try:
            return psycopg.connect(url, connect_timeout=timeout, autocommit=True)
        except psycopg.OperationalError as exc:
            raise DevkitError(
                f"cannot connect to {mask_url(url)}: {pg_error_text(exc)}",
                "start the database (devkit up) and check DATABASE_URL in .env",
            ) from None

    def server_major(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None
        return int(row[0]) // 10000

    def database_exists(self, name: str) -> bool:
        with self.connect("postgres") as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None

    def create_database(self, name: str) -> None:
        check_name(name)
        with self.connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop `name`, terminating its connections first (PostgreSQL 13+: WITH (FORCE))."""
        check_name(name)
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def terminate_connections(self, name: str) -> int:
        with self.connect("postgres") as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        return len(rows)

    def rename_database(self, old: str, new: str) -> None:
        check_name(old)
        check_name(new)
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(old), sql.Identifier(new)
                )
            )

    def rename_in_use(self, old: str, new: str, attempts: int = 3) -> None:
        """Rename `old` although clients (the API's pool) reconnect to it: end their sessions
        and rename (PostgreSQL waits up to 5 s for ended sessions to go), a few times.

        Refusing new connections first (ALLOW_CONNECTIONS false) would always win, but a devkit
        killed in between would leave the dev database closed: not worth it."""
        for attempt in range(1, attempts + 1):
            self.terminate_connections(old)
            try:
                self.rename_database(old, new)
                return
            except DevkitError:
                raise
            except psycopg.errors.ObjectInUse:
                if attempt == attempts:
                    raise DevkitError(
                        f"database {old} stayed in use: clients kept reconnecting to it",
                        "stop what keeps connecting (devkit down, or stop the api in the "
                        "dashboard) and run the command again; nothing was changed",
                    ) from None

    def table_counts(self, dbname: str | None = None) -> dict[str, int]:
        """Exact row count of every user table, keyed "schema.table"."""
        with self.connect(dbname) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema') "
                "ORDER BY 1, 2"
            ).fetchall()
            counts: dict[str, int] = {}
            for schema, table in tables:
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                row = conn.execute(query).fetchone()
                assert row is not None
                counts[f"{schema}.{table}"] = int(row[0])
        return counts


def check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise DevkitError(
            f"{name!r} is not a usable database name",
            "use letters, digits and underscores (at most 63 characters)",
        )
