"""Every error is JSON in one shape, never an HTML page: 404, 405, 413, 400, 500, ApiError."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from server.config import Config
from server.errors import ApiError


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == code and error["message"]
    return error


def test_unknown_path_is_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/status")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_json_413(server_config: Config, make_app: Callable[..., Flask]) -> None:
    app = make_app(server_config, max_body_bytes=100)
    client = app.test_client()
    error = assert_error(
        client.post("/api/v1/auth/login", data=b"x" * 101, content_type="application/json"),
        413,
        "payload_too_large",
    )
    assert "100" in error["message"]
    # at the limit the body is read normally (whatever the route then says, it is not 413)
    assert (
        client.post(
            "/api/v1/auth/login", data=b"x" * 100, content_type="application/json"
        ).status_code
        != 413
    )


def test_api_error_and_unexpected_errors(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    app = make_app(server_config)

    @app.get("/boom/api")
    def api() -> None:
        raise ApiError(409, "conflict_here", "already there", "username")

    @app.get("/boom/bug")
    def bug() -> None:
        raise RuntimeError("secret internals")

    @app.get("/boom/badjson")
    def badjson() -> dict:
        from flask import request

        return request.get_json()  # Flask's own 400 for unparsable JSON

    client = app.test_client()
    error = assert_error(client.get("/boom/api"), 409, "conflict_here")
    assert (error["message"], error["field"]) == ("already there", "username")
    response = client.get("/boom/bug")
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert_error(
        client.get("/boom/badjson", data=b"{nope", content_type="application/json"),
        400,
        "bad_request",
    )
