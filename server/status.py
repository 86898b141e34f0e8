"""GET /status: is the API up, and can it reach its database right now?"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from flask import Blueprint, Response, jsonify

from server.db import get_database

bp = Blueprint("status", __name__)


@cache
def api_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("devkit")
    except PackageNotFoundError:
        return "0.0.0"


@bp.get("/status")
def status() -> tuple[Response, int]:
    db_ok = get_database().ping()
    body = {
        "status": "ok" if db_ok else "degraded",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "db": "ok" if db_ok else "down",
        "version": api_version(),
    }
    return jsonify(body), 200 if db_ok else 503
