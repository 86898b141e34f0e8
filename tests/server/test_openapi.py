"""GET /openapi.json describes exactly the routes the app serves, in valid OpenAPI 3.0."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask

import server
from server.openapi import build_document

IGNORED_METHODS = {"HEAD", "OPTIONS"}  # added by Flask to every route, not API operations
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def flask_rule_to_openapi(rule: str) -> str:
    """/api/v1/notes/<int:note_id> -> /api/v1/notes/{note_id}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def app_operations(app: Flask) -> set[tuple[str, str]]:
    ops = set()
    static_dir = Path(server.__file__).parent / "static"
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" and not static_dir.exists():
            continue  # Flask's default static route; there is no static folder to serve
        for method in rule.methods or ():
            if method not in IGNORED_METHODS:
                ops.add((flask_rule_to_openapi(rule.rule), method.lower()))
    return ops


def document_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def iter_operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def test_document_is_served_as_json(client: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc == build_document()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]


def test_document_and_url_map_agree(app: Flask, client: Any) -> None:
    doc = client.get("/openapi.json").get_json()
    served = app_operations(app)
    documented = document_operations(doc)
    assert served - documented == set(), "routes missing from /openapi.json"
    assert documented - served == set(), "documented operations the app does not serve"
    # The essentials are present (guards against both sides being empty or wrong alike).
    for path in (
        "/status",
        "/metrics",
        "/openapi.json",
        "/api/v1/auth/register",
        "/api/auth/login",
        "/api/v1/notes/{note_id}",
        "/api/notes",
    ):
        assert path in doc["paths"], path


def test_the_agreement_check_catches_an_undocumented_route(app: Flask) -> None:
    app.add_url_rule("/api/v1/secret", "secret", lambda: "hidden")
    assert ("/api/v1/secret", "get") in app_operations(app) - document_operations(build_document())


def test_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(build_document())
    schema.validate()  # raises on any violation of the OpenAPI 3.0 meta-schema


def test_every_reference_resolves_and_ids_are_unique() -> None:
    doc = build_document()

    def refs(node: Any):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part]
    ids = [op["operationId"] for _, _, op in iter_operations(doc)]
    assert len(ids) == len(set(ids))


def test_operations_document_their_error_responses() -> None:
    doc = build_document()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    error_schema = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error_schema["required"]) == {"code", "message", "field"}
    for path, method, op in iter_operations(doc):
        responses = op["responses"]
        assert any(code.startswith("2") for code in responses), (path, method)
        if not path.startswith("/api/"):
            assert "security" not in op
            continue
        names = {p.get("$ref", "").rsplit("/", 1)[-1] for p in op.get("parameters", [])}
        assert "AppVersion" in names, (path, method)
        assert {"400", "426", "503"} <= set(responses), (path, method)
        if "security" in op:
            assert op["security"] == [{"bearerAuth": []}]
            assert "401" in responses, (path, method)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(responses), (path, method)
            assert list(op["requestBody"]["content"]) == ["application/json"]
        if "{note_id}" in path:
            assert "404" in responses, (path, method)
    register = doc["paths"]["/api/v1/auth/register"]["post"]
    assert "409" in register["responses"] and "security" not in register
    assert "security" not in doc["paths"]["/api/auth/login"]["post"]
    assert doc["paths"]["/api/auth/me"]["get"]["security"] == [{"bearerAuth": []}]


def test_alias_paths_mirror_the_versioned_ones() -> None:
    doc = build_document()
    versioned = {
        p[len("/api/v1") :]: item for p, item in doc["paths"].items() if p.startswith("/api/v1/")
    }
    aliases = {
        p[len("/api") :]: item
        for p, item in doc["paths"].items()
        if p.startswith("/api/") and not p.startswith("/api/v1/")
    }
    assert versioned.keys() == aliases.keys()
    for path, item in versioned.items():
        alias = aliases[path]
        assert {m for m in item if m in HTTP_METHODS} == {m for m in alias if m in HTTP_METHODS}
        for method in (m for m in item if m in HTTP_METHODS):
            assert alias[method]["responses"] == item[method]["responses"]
            assert alias[method].get("requestBody") == item[method].get("requestBody")


def test_documented_limits_match_the_server(client: Any) -> None:
    """Spot-check that the numbers in the document are the ones the server enforces."""
    schemas = build_document()["components"]["schemas"]
    title_max = schemas["NoteCreate"]["properties"]["title"]["maxLength"]
    username = schemas["Credentials"]["properties"]["username"]
    ok = client.post(
        "/api/v1/auth/register", json={"username": "u" * username["maxLength"], "password": "p" * 8}
    )
    assert ok.status_code == 201
    too_long = client.post(
        "/api/v1/auth/register",
        json={"username": "v" * (username["maxLength"] + 1), "password": "p" * 8},
    )
    assert too_long.status_code == 400
    headers = {"Authorization": f"Bearer {ok.get_json()['token']}"}
    assert (
        client.post("/api/v1/notes", json={"title": "t" * title_max}, headers=headers).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/notes", json={"title": "t" * (title_max + 1)}, headers=headers
        ).status_code
        == 400
    )


def test_request_schemas_are_the_validating_models() -> None:
    """One source of truth: the documented request bodies are generated from the pydantic models
    that validate them, so a limit changed in one place changes in both."""
    from server.models import REQUEST_MODELS, openapi_schemas

    schemas = build_document()["components"]["schemas"]
    for model in REQUEST_MODELS:
        assert schemas[model.__name__] == openapi_schemas()[model.__name__]
    assert schemas["NoteCreate"]["properties"]["title"]["maxLength"] == 200
    assert schemas["Credentials"]["required"] == ["username", "password"]


def test_documented_limits_are_the_enforced_ones(client: Any) -> None:
    """Each documented maxLength is accepted at the limit and refused one character above it."""
    props = build_document()["components"]["schemas"]["Credentials"]["properties"]
    longest_name = "u" * props["username"]["maxLength"]
    longest_password = "p" * props["password"]["maxLength"]
    ok = client.post(
        "/api/v1/auth/register", json={"username": longest_name, "password": longest_password}
    )
    assert ok.status_code == 201, ok.get_json()
    for field, value in (("username", longest_name + "u"), ("password", longest_password + "p")):
        payload = {"username": "limits", "password": "password-123", field: value}
        refused = client.post("/api/v1/auth/register", json=payload)
        assert refused.status_code == 400
        assert refused.get_json()["error"]["field"] == field
