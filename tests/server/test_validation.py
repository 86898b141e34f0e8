"""Bodies the API cannot use get clear 4xx errors (never a 500): wrong media type, broken JSON,
non-object JSON, text PostgreSQL cannot store, and bodies over MAX_BODY_BYTES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from flask import Flask
from pydantic import Field, ValidationError
from werkzeug.test import EnvironBuilder, run_wsgi_app

from server.config import Config
from server.errors import ApiError
from server.models import NO_NUL, NOT_BLANK, RequestBody, first_error
from server.validation import int_query_param

API = "/api/v1"


@pytest.fixture
def token_headers(client: Any) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/register", json={"username": "validator", "password": "password-123"}
    )
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def note_url(client: Any, token_headers: dict[str, str]) -> str:
    response = client.post(f"{API}/notes", json={"title": "t"}, headers=token_headers)
    return f"{API}/notes/{response.get_json()['id']}"


def body_endpoints(note_url: str) -> list[tuple[str, str]]:
    return [
        ("post", f"{API}/auth/register"),
        ("post", f"{API}/auth/login"),
        ("post", f"{API}/notes"),
        ("patch", note_url),
        ("post", "/api/auth/login"),
        ("post", "/api/notes"),
    ]


def error_of(response: Any) -> dict[str, Any]:
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        (None, b'{"title": "x"}'),
        ("text/plain", b'{"title": "x"}'),
        ("application/x-www-form-urlencoded", b"title=x"),
        ("multipart/form-data; boundary=b", b"--b--"),
        ("application/xml", b"<title>x</title>"),
    ],
)
def test_non_json_media_type_is_415(
    client: Any,
    token_headers: dict[str, str],
    note_url: str,
    content_type: str | None,
    data: bytes,
) -> None:
    headers = dict(token_headers)
    if content_type:
        headers["Content-Type"] = content_type
    for method, url in body_endpoints(note_url):
        response = getattr(client, method)(url, data=data, headers=headers)
        assert response.status_code == 415, (method, url)
        error = error_of(response)
        assert error["code"] == "unsupported_media_type"
        assert "application/json" in error["message"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"{'title': 'x'}",
        b'{"title": "x",}',
        b"\xff\xfe\xfa",
        b"NaN",
        b'{"title": NaN}',
        b'{"title": Infinity}',
        b"[" * 100_000 + b"]" * 100_000,
        b"1" * 5000,
        b"null",
        b"[]",
        b'"a string"',
        b"42",
        b"true",
        b'[{"title": "x"}]',
    ],
    ids=lambda d: repr(d[:20]),
)
def test_unusable_json_is_400_invalid_json(
    client: Any, token_headers: dict[str, str], note_url: str, data: bytes
) -> None:
    headers = token_headers | {"Content-Type": "application/json"}
    for method, url in body_endpoints(note_url):
        response = getattr(client, method)(url, data=data, headers=headers)
        assert response.status_code == 400, (method, url)
        assert error_of(response)["code"] == "invalid_json"


def test_json_with_charset_and_suffix_types_is_accepted(
    client: Any, token_headers: dict[str, str]
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.aios+json"):
        response = client.post(
            f"{API}/notes",
            data=b'{"title": "x"}',
            headers=token_headers | {"Content-Type": content_type},
        )
        assert response.status_code == 201, content_type


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"title": "\\ud800"}', "title"),  # lone surrogate: not encodable to UTF-8
        (b'{"title": "ok", "body": "\\udfff tail"}', "body"),
        (b'{"title": "a\\u0000b"}', "title"),
    ],
)
def test_text_postgres_cannot_store_is_400(
    client: Any, token_headers: dict[str, str], raw: bytes, field: str
) -> None:
    response = client.post(
        f"{API}/notes", data=raw, headers=token_headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)


def test_lone_surrogate_password_is_400(client: Any) -> None:
    for path in ("register", "login"):
        response = client.post(
            f"{API}/auth/{path}",
            data=b'{"username": "someone", "password": "abc\\ud83dxyz12"}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, path
        assert error_of(response)["field"] == "password"


def test_oversized_body_is_413(
    server_config: Config,
    make_app: Callable[..., Flask],
    client: Any,
    token_headers: dict[str, str],
    note_url: str,
) -> None:
    limit = server_config.max_body_bytes
    big = b'{"title": "x", "body": "' + b"y" * limit + b'"}'
    for method, url in body_endpoints(note_url):
        response = getattr(client, method)(
            url, data=big, headers=token_headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 413, (method, url)
        assert error_of(response)["code"] == "payload_too_large"
    # A small limit applies to otherwise valid requests too.
    small = make_app(server_config, max_body_bytes=64).test_client()
    ok = small.post(f"{API}/auth/login", json={"username": "validator", "password": "password-123"})
    assert ok.status_code == 200
    response = small.post(
        f"{API}/auth/login", json={"username": "validator", "password": "password-123" * 10}
    )
    assert response.status_code == 413


def test_oversized_body_without_content_length_is_413(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    """A streamed (chunked) body has no Content-Length; the limit must still hold."""
    app = make_app(server_config, max_body_bytes=64)
    payload = b'{"username": "' + b"u" * 200 + b'", "password": "password-123"}'
    environ = EnvironBuilder(
        path=f"{API}/auth/login", method="POST", data=payload, content_type="application/json"
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    app_iter, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    body = b"".join(app_iter)
    assert status.startswith("413"), (status, body[:300])
    assert b"payload_too_large" in body


# -- helpers in isolation ------------------------------------------------------------------


class Sample(RequestBody):
    a: Annotated[str, Field(min_length=1, max_length=3, pattern=NOT_BLANK)]
    b: Annotated[str, Field(max_length=3, pattern=NO_NUL)] = ""


def test_model_failures_become_400_naming_the_field() -> None:
    assert Sample.model_validate({"a": "xyz"}) == Sample(a="xyz", b="")
    for data in [
        {},
        {"a": "xyzw"},
        {"a": ""},
        {"a": 1},
        {"a": True},
        {"a": "  "},
        {"a": "x\x00"},
        {"a": "\ud800"},
        {"a": ["x"]},
    ]:
        with pytest.raises(ValidationError) as caught:
            Sample.model_validate(data)
        error = first_error(caught.value)
        assert (error.status, error.code, error.field) == (400, "validation_error", "a"), data
        assert "'a'" in error.message, (data, error.message)
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"a": "x", "b": None})
    assert first_error(caught.value).field == "b"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 20), ("?n=1", 1), ("?n=100", 100), ("?n=007", 7)],
)
def test_int_query_param_accepts(app: Flask, query: str, expected: int) -> None:
    with app.test_request_context("/" + query):
        assert int_query_param("n", default=20, minimum=1, maximum=100) == expected


@pytest.mark.parametrize("value", ["0", "101", "+5", " 5", "5 ", "0x10", "1e2", "²", "-0"])
def test_int_query_param_rejects(app: Flask, value: str) -> None:
    with app.test_request_context("/", query_string={"n": value}):
        with pytest.raises(ApiError) as caught:
            int_query_param("n", default=20, minimum=1, maximum=100)
    assert (caught.value.status, caught.value.field) == (400, "n")
