"""Property-based fuzzing of the API against its own /openapi.json (schemathesis + hypothesis).

For every documented operation, schemathesis generates requests from the document (valid and
deliberately invalid ones) and sends them to the real app on a real database, authenticated as
a registered user who owns a few notes. Every response must be a non-5xx, with a documented
status code, content type, headers and body schema: the document is checked against the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.config import Config

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 30
MIN_APP_VERSION = "1.2.0"


@pytest.fixture
def fuzz_app(server_config: Config, make_app: Callable[..., Flask]) -> Flask:
    """The app with the version gate on, so generated X-App-Version headers exercise it."""
    return make_app(server_config, min_app_version=MIN_APP_VERSION)


@pytest.fixture
def fuzz_user(fuzz_app: Flask) -> dict[str, str]:
    """A registered user owning a few notes (low ids, so generated ids sometimes hit)."""
    client = fuzz_app.test_client()
    response = client.post(
        "/api/v1/auth/register", json={"username": "fuzzer", "password": "fuzz-password"}
    )
    assert response.status_code == 201
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    for i in range(5):
        assert (
            client.post(
                "/api/v1/notes", json={"title": f"seed {i}", "body": "b"}, headers=headers
            ).status_code
            == 201
        )
    return headers


@pytest.fixture
def api_schema(fuzz_app: Flask, fuzz_user: dict[str, str]) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow  # about a minute: every operation, positive and negative cases
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: Any, fuzz_user: dict[str, str]) -> None:
    headers = dict(fuzz_user)
    if case.headers:
        headers.update({k: v for k, v in case.headers.items() if k.lower() != "authorization"})
    case.call_and_validate(headers=headers, checks=CHECKS)
