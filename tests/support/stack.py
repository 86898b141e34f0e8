"""A temp project running the real stack: native PostgreSQL, a copy of the real server/ and the
stand-in Metro, each on free ports. Whole-stack tests edit the copy, never the repository."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.standins import make_project

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StackProject:
    root: Path
    api_port: int
    metro_port: int
    pg_port: int
    database_url: str

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.api + path, timeout=5, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.api + path, timeout=5, **kwargs)  # type: ignore[arg-type]


def make_stack_project(
    root: Path, *, metro: bool = True, extra: dict[str, object] | None = None
) -> StackProject:
    api_port, metro_port, pg_port = free_port(), free_port(), free_port()
    password = secrets.token_urlsafe(16)
    url = f"postgresql://aios:{password}@127.0.0.1:{pg_port}/aios"
    components = ("postgres", "api", "metro") if metro else ("postgres", "api")
    make_project(
        root,
        components=components,
        expo_client=metro,
        extra={"db_backend": "native", **(extra or {})},
        env={
            "APP_ENV": "development",
            "PORT": str(api_port),
            "METRO_PORT": str(metro_port),
            "POSTGRES_USER": "aios",
            "POSTGRES_PASSWORD": password,
            "POSTGRES_DB": "aios",
            "POSTGRES_PORT": str(pg_port),
            "DATABASE_URL": url,
            "JWT_SECRET": secrets.token_urlsafe(40),
            "LOG_DIR": "logs",
            "MIN_APP_VERSION": "1.0.0",
        },
    )
    shutil.copytree(
        REPO / "server", root / "server", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return StackProject(root, api_port, metro_port, pg_port, url)
