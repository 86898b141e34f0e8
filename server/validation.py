"""Reading a request: the JSON body (media type, size limit, syntax) and query parameters.

Every failure becomes an ApiError (400/413/415) so clients get the same
`{"error": {"code", "message", "field"}}` shape, and nothing a client sends can reach
PostgreSQL in a form it would reject with a 500 (integers outside bigint here; NUL characters
and lone surrogates in the body models of server/models.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from server.config import current_config
from server.errors import ApiError

BIGINT_MAX = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")


def validation_error(field: str | None, message: str) -> ApiError:
    """A 400 `validation_error` naming the offending field."""
    return ApiError(400, "validation_error", message, field)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object.

    415 `unsupported_media_type` unless the Content-Type is JSON; 413 `payload_too_large`
    above the configured limit; 400 `invalid_json` for bytes that are not a JSON object.
    """
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the request body as JSON with the header 'Content-Type: application/json'.",
        )
    raw = _limited_body()
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(
            400, "invalid_json", "Request body is not valid JSON; send a JSON object."
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_json", 'Request body must be a JSON object, e.g. {"title": "..."}.'
        )
    return data


def _limited_body() -> bytes:
    """The raw body, refusing more than max_body_bytes even without a Content-Length.

    For a streamed (chunked) body Werkzeug silently stops reading at the limit, so a body
    that reaches the limit is probed for one more byte.
    """
    limit = current_config().max_body_bytes
    too_large = ApiError(
        413,
        "payload_too_large",
        f"Request body is larger than the {limit}-byte limit (MAX_BODY_BYTES); send less.",
    )
    length = request.content_length
    if length is not None and length > limit:
        raise too_large
    try:
        raw = request.get_data(cache=True)
        if length is None and len(raw) >= limit and request.stream.read(1):
            raise too_large
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def int_query_param(name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A plain decimal integer query parameter within [minimum, maximum]."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw):
        raise validation_error(
            name, f"'{name}' must be a whole number between {minimum} and {maximum}."
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise validation_error(name, f"'{name}' must be between {minimum} and {maximum}.")
    return value
