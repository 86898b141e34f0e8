"""One JSON error shape for every failure: {"error": {"code", "message", "field"}}.

Flask's own HTML error pages (404, 405, 413, 400, 500) are replaced so clients never parse HTML.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    426: "unsupported_version",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}
MESSAGES = {
    404: "no such endpoint: see GET /openapi.json for the API's endpoints",
    413: "the request body is larger than this server accepts (MAX_BODY_BYTES)",
    500: "internal server error; the request id in X-Request-ID locates it in error.log",
}


class ApiError(Exception):
    """Raise anywhere in a request to answer with this status and error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: Any = ()
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    for name, value in headers.items() if isinstance(headers, dict) else headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def db_unavailable(detail: str = "") -> ApiError:
    return ApiError(
        503,
        "db_unavailable",
        "the database is not reachable right now; retry "
        "shortly" + (f" ({detail})" if detail else ""),
        headers={"Retry-After": "2"},
    )


def register(app: Flask) -> None:
    from psycopg import OperationalError
    from psycopg_pool import PoolTimeout

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = CODES.get(status, f"http_{status}")
        message = MESSAGES.get(status) or exc.description or exc.name
        return error_response(status, code, message, None, exc.get_headers())

    @app.errorhandler(PoolTimeout)
    @app.errorhandler(OperationalError)
    def _db_down(exc: Exception) -> Response:
        app.extensions["aios_logs"].logger.warning(
            "database unavailable: %s", exc, extra={"fields": _rid()}
        )
        err = db_unavailable()
        return error_response(err.status, err.code, err.message, None, err.headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.extensions["aios_logs"].logger.error(
            "unhandled error: %r", exc, exc_info=exc, extra={"fields": _rid()}
        )
        return error_response(500, "internal_error", MESSAGES[500])


def _rid() -> dict[str, str]:
    return {"request_id": g.get("request_id", "")}
