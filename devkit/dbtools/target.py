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
        if not url:
            raise DevkitError(
                "DATABASE_URL is not set",
                "set DATABASE_URL in .env (see .env.example) or run devkit up once",
            )
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise DevkitError(
                f"DATABASE_URL is not a postgresql://USER:PASSWORD@HOST:PORT/DB URL: "
                f"{mask_url(url)}",
                "fix DATABASE_URL in .env (see .env.example)",
            )
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")),
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
