"""X-App-Version below MIN_APP_VERSION -> 426 "update the app"; health and docs are exempt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.config import Config

GATED = "/api/v1/auth/me"


@pytest.fixture
def gated(server_config: Config, make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(server_config, min_app_version="1.4.0").test_client()


@pytest.mark.parametrize("version", ["1.3.9", "0.9", "v1.3", "1.3.12-beta"])
def test_old_versions_get_426(gated: FlaskClient, version: str) -> None:
    response = gated.get(GATED, headers={"X-App-Version": version})
    assert response.status_code == 426
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_version" and error["field"] is None
    assert "update the app" in error["message"] and "1.4.0" in error["message"]
    # the alias is gated too
    assert gated.get("/api/auth/me", headers={"X-App-Version": version}).status_code == 426


@pytest.mark.parametrize("version", ["1.4.0", "1.4", "1.10.0", "2.0.0 (88)"])
def test_current_versions_pass(gated: FlaskClient, version: str) -> None:
    # past the gate: the route itself answers (401 without a token)
    assert gated.get(GATED, headers={"X-App-Version": version}).status_code == 401


def test_no_header_passes(gated: FlaskClient) -> None:
    assert gated.get(GATED).status_code == 401


def test_malformed_header_is_400(gated: FlaskClient) -> None:
    response = gated.get(GATED, headers={"X-App-Version": "banana"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "X-App-Version"


@pytest.mark.parametrize("path", ["/status", "/metrics", "/openapi.json"])
def test_exempt_paths(gated: FlaskClient, path: str) -> None:
    assert gated.get(path, headers={"X-App-Version": "0.1"}).status_code == 200


def test_no_gate_when_unset(client: FlaskClient) -> None:
    assert client.get(GATED, headers={"X-App-Version": "0.0.1"}).status_code == 401
