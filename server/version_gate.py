"""Refuse apps older than MIN_APP_VERSION with 426, telling the user to update the app.

A request without X-App-Version (browsers, curl, tools) passes: the gate is for the mobile app,
which always sends it. Health, metrics and the API description are exempt.
"""

from __future__ import annotations

from flask import Flask, request

from server.config import parse_version
from server.errors import ApiError

HEADER = "X-App-Version"
EXEMPT_PATHS = frozenset({"/status", "/metrics", "/openapi.json"})


def init_app(app: Flask, min_app_version: str) -> None:
    minimum = parse_version(min_app_version) if min_app_version else None
    if minimum is None:
        return

    @app.before_request
    def _gate() -> None:
        if request.path in EXEMPT_PATHS:
            return
        sent = request.headers.get(HEADER)
        if sent is None or not sent.strip():
            return
        version = parse_version(sent)
        if version is None:
            raise ApiError(
                400,
                "invalid_app_version",
                f"{HEADER} must be a version like {min_app_version}, got {sent[:40]!r}",
                HEADER,
            )
        if version < minimum:
            raise ApiError(
                426,
                "unsupported_version",
                f"this app version ({sent.strip()[:40]}) is no longer supported: "
                f"please update the app to version {min_app_version} or newer",
                headers={"X-Min-App-Version": min_app_version},
            )
