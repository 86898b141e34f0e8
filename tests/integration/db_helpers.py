"""Shared by the test_db_* files: seed a database with rows in several tables."""

from __future__ import annotations

import psycopg

from devkit.dbtools.target import DbTarget

SEED_COUNTS = {"public.users": 3, "public.notes": 25, "audit.events": 7, "public.empty": 0}


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL UNIQUE)")
        conn.execute(
            "CREATE TABLE notes (id serial PRIMARY KEY, user_id int REFERENCES users, "
            "body text, created timestamptz DEFAULT now())"
        )
        conn.execute("CREATE SCHEMA audit")
        conn.execute("CREATE TABLE audit.events (id bigserial PRIMARY KEY, payload jsonb)")
        conn.execute("CREATE TABLE empty (x int)")
        for name in ("ana", "bo", "ça va 'quoted'"):
            conn.execute("INSERT INTO users (name) VALUES (%s)", (name,))
        for n in range(25):
            conn.execute(
                "INSERT INTO notes (user_id, body) VALUES (%s, %s)",
                (n % 3 + 1, f"line one\nline two\t{n} \\ backslash 'q' \"dq\""),
            )
        for n in range(7):
            conn.execute(
                "INSERT INTO audit.events (payload) VALUES (%s::jsonb)",
                (f'{{"n": {n}, "text": "ü€"}}',),
            )


def databases(target: DbTarget, prefix: str) -> list[str]:
    with target.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
        ).fetchall()
    return [row[0] for row in rows]
