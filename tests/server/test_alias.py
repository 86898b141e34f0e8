"""/api/... is an alias of /api/v1/...: the same routes, methods and behaviour."""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskClient


def routes(app: Flask, prefix: str) -> set[tuple[str, frozenset[str]]]:
    return {
        (rule.rule.removeprefix(prefix), frozenset(rule.methods or ()))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix + "/")
    }


def test_same_route_table(app: Flask) -> None:
    v1 = routes(app, "/api/v1")
    alias = {r for r in routes(app, "/api") if not r[0].startswith("/v1/")}
    assert v1, "the API has /api/v1 routes"
    assert alias == v1


def test_alias_behaves_like_v1(client: FlaskClient) -> None:
    username = f"u{uuid.uuid4().hex[:10]}"
    creds = {"username": username, "password": "correct horse battery 9"}
    assert client.post("/api/auth/register", json=creds).status_code in (200, 201)
    via_v1 = client.post("/api/v1/auth/login", json=creds)
    via_alias = client.post("/api/auth/login", json=creds)
    assert via_v1.status_code == via_alias.status_code == 200
    token = via_alias.get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me_v1 = client.get("/api/v1/auth/me", headers=headers)
    me_alias = client.get("/api/auth/me", headers=headers)
    assert me_v1.status_code == me_alias.status_code == 200
    assert me_v1.get_json() == me_alias.get_json()
    created = client.post("/api/notes", json={"title": "hello"}, headers=headers)
    assert created.status_code in (200, 201)
    listed = client.get("/api/v1/notes", headers=headers).get_json()
    assert [n["title"] for n in listed["items"]] == ["hello"]
    assert client.get("/api/notes", headers=headers).get_json() == listed
    # failures are the same too
    assert (
        client.get("/api/auth/me").status_code == client.get("/api/v1/auth/me").status_code == 401
    )
