"""Notes against a real PostgreSQL: CRUD, cursor pagination, validation and user isolation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
import pytest
from flask import Flask

from server.config import Config

API = "/api/v1"


@pytest.fixture
def users(client: Any) -> dict[str, dict[str, str]]:
    """Two registered users, "a" and "b", as ready-to-send Authorization headers."""
    out = {}
    for key in ("a", "b"):
        response = client.post(
            f"{API}/auth/register", json={"username": f"user_{key}", "password": "password-123"}
        )
        assert response.status_code == 201
        out[key] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return out


def create(
    client: Any,
    headers: dict[str, str],
    title: str = "t",
    body: str | None = None,
    prefix: str = API,
) -> dict[str, Any]:
    payload = {"title": title} if body is None else {"title": title, "body": body}
    response = client.post(f"{prefix}/notes", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


# -- CRUD ----------------------------------------------------------------------------------------


def test_create_get_update_delete(client: Any, users: dict[str, dict[str, str]]) -> None:
    a = users["a"]
    response = client.post(f"{API}/notes", json={"title": "Groceries", "body": "eggs"}, headers=a)
    assert response.status_code == 201
    note = response.get_json()
    assert set(note) == {"id", "title", "body", "created_at", "updated_at"}
    assert (note["title"], note["body"]) == ("Groceries", "eggs")
    assert response.headers["Location"].endswith(f"{API}/notes/{note['id']}")

    got = client.get(f"{API}/notes/{note['id']}", headers=a)
    assert got.status_code == 200 and got.get_json() == note

    patched = client.patch(f"{API}/notes/{note['id']}", json={"body": "eggs, milk"}, headers=a)
    assert patched.status_code == 200
    updated = patched.get_json()
    assert (updated["title"], updated["body"]) == ("Groceries", "eggs, milk")
    assert updated["created_at"] == note["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        note["updated_at"]
    )
    assert client.get(f"{API}/notes/{note['id']}", headers=a).get_json() == updated

    retitled = client.patch(f"{API}/notes/{note['id']}", json={"title": "Shop"}, headers=a)
    assert (retitled.get_json()["title"], retitled.get_json()["body"]) == ("Shop", "eggs, milk")

    deleted = client.delete(f"{API}/notes/{note['id']}", headers=a)
    assert deleted.status_code == 204 and deleted.data == b""
    for again in (
        client.get(f"{API}/notes/{note['id']}", headers=a),
        client.delete(f"{API}/notes/{note['id']}", headers=a),
        client.patch(f"{API}/notes/{note['id']}", json={"title": "x"}, headers=a),
    ):
        assert again.status_code == 404
        assert error_of(again)["code"] == "not_found"


def test_body_defaults_to_empty(client: Any, users: dict[str, dict[str, str]]) -> None:
    assert create(client, users["a"], "only a title")["body"] == ""


def test_unknown_fields_are_ignored(client: Any, users: dict[str, dict[str, str]]) -> None:
    response = client.post(
        f"{API}/notes", json={"title": "x", "id": 999, "user_id": 1}, headers=users["a"]
    )
    assert response.status_code == 201
    assert response.get_json()["id"] != 999


def test_missing_and_huge_ids_are_404(client: Any, users: dict[str, dict[str, str]]) -> None:
    for note_id in ("0", "424242", str(2**63 - 1), str(2**63), "9" * 40):
        for method in ("get", "delete"):
            response = getattr(client, method)(f"{API}/notes/{note_id}", headers=users["a"])
            assert response.status_code == 404, (method, note_id)
        response = client.patch(f"{API}/notes/{note_id}", json={"title": "x"}, headers=users["a"])
        assert response.status_code == 404


# -- auth and isolation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/notes"),
        ("post", "/notes"),
        ("get", "/notes/1"),
        ("patch", "/notes/1"),
        ("delete", "/notes/1"),
    ],
)
def test_notes_need_a_token(client: Any, method: str, path: str) -> None:
    for prefix in (API, "/api"):
        response = getattr(client, method)(prefix + path, json={"title": "x"})
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"


def test_users_see_only_their_own_notes(client: Any, users: dict[str, dict[str, str]]) -> None:
    a, b = users["a"], users["b"]
    note = create(client, a, "a's secret", "private")
    mine = create(client, b, "b's note")
    url = f"{API}/notes/{note['id']}"
    assert client.get(url, headers=b).status_code == 404
    assert client.patch(url, json={"title": "hacked"}, headers=b).status_code == 404
    assert client.delete(url, headers=b).status_code == 404
    # The 404 is the same as for a note that never existed.
    assert (
        client.get(url, headers=b).get_json()
        == client.get(f"{API}/notes/987654", headers=b).get_json()
    )
    assert client.get(url, headers=a).get_json() == note  # untouched
    assert [n["id"] for n in client.get(f"{API}/notes", headers=b).get_json()["items"]] == [
        mine["id"]
    ]
    assert [n["id"] for n in client.get(f"{API}/notes", headers=a).get_json()["items"]] == [
        note["id"]
    ]


# -- pagination ---------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_cover_everything(
    client: Any, users: dict[str, dict[str, str]]
) -> None:
    ids = [create(client, users["a"], f"note {i}")["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = client.get(f"{API}/notes", query_string=query, headers=users["a"])
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["items"]) <= 3
        seen += [n["id"] for n in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


def test_exact_page_size_ends_with_null_cursor(
    client: Any, users: dict[str, dict[str, str]]
) -> None:
    for i in range(2):
        create(client, users["a"], f"n{i}")
    page = client.get(f"{API}/notes?limit=2", headers=users["a"]).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"] is None
    empty = client.get(f"{API}/notes", headers=users["b"]).get_json()
    assert empty == {"items": [], "next_cursor": None}


def test_default_limit_is_20_and_max_100(client: Any, users: dict[str, dict[str, str]]) -> None:
    for i in range(21):
        create(client, users["a"], f"n{i}")
    page = client.get(f"{API}/notes", headers=users["a"]).get_json()
    assert len(page["items"]) == 20 and page["next_cursor"] is not None
    assert len(client.get(f"{API}/notes?limit=100", headers=users["a"]).get_json()["items"]) == 21


def test_same_created_at_is_ordered_by_id(
    client: Any, users: dict[str, dict[str, str]], server_config: Config
) -> None:
    """Keyset pagination must not skip or repeat notes that share a timestamp."""
    ids = [create(client, users["a"], f"n{i}")["id"] for i in range(5)]
    with psycopg.connect(server_config.database_url) as conn:
        conn.execute("UPDATE notes SET created_at = '2024-01-01T00:00:00Z'")
    seen: list[int] = []
    cursor = None
    while True:
        url = f"{API}/notes?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=users["a"]).get_json()
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "٣", "9" * 30])
def test_bad_limit_is_400(client: Any, users: dict[str, dict[str, str]], limit: str) -> None:
    response = client.get(f"{API}/notes", query_string={"limit": limit}, headers=users["a"])
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", "limit")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a",
        "%%",
        _b64("garbage"),
        _b64("2024-01-01T00:00:00+00:00"),
        _b64("2024-01-01T00:00:00|5"),
        _b64("not a date|5"),
        _b64("2024-01-01T00:00:00+00:00|x"),
        _b64(f"2024-01-01T00:00:00+00:00|{2**63}"),
        _b64("2024-01-01T00:00:00+00:00|-1"),
        "x" * 500,
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
)
def test_bad_cursor_is_400(client: Any, users: dict[str, dict[str, str]], cursor: str) -> None:
    response = client.get(f"{API}/notes", query_string={"cursor": cursor}, headers=users["a"])
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", "cursor")


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"body": "no title"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   \n\t"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": 42}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"title": "ok", "body": "x" * 10_001}, "body"),
        ({"title": "ok", "body": None}, "body"),
        ({"title": "ok", "body": {"a": 1}}, "body"),
        ({"title": "ok", "body": "nul\x00"}, "body"),
    ],
)
def test_create_validation_names_the_field(
    client: Any, users: dict[str, dict[str, str]], payload: dict[str, Any], field: str
) -> None:
    response = client.post(f"{API}/notes", json=payload, headers=users["a"])
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert field in error["message"]


def test_create_accepts_the_boundaries(client: Any, users: dict[str, dict[str, str]]) -> None:
    note = create(client, users["a"], "x" * 200, "y" * 10_000)
    assert len(note["title"]) == 200 and len(note["body"]) == 10_000
    assert create(client, users["a"], "☃ ü 日本")["title"] == "☃ ü 日本"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, None),
        ({"other": 1}, None),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"body": "x" * 10_001}, "body"),
        ({"body": 7}, "body"),
    ],
)
def test_patch_validation(
    client: Any, users: dict[str, dict[str, str]], payload: dict[str, Any], field: str | None
) -> None:
    note = create(client, users["a"], "keep me", "and me")
    response = client.patch(f"{API}/notes/{note['id']}", json=payload, headers=users["a"])
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert client.get(f"{API}/notes/{note['id']}", headers=users["a"]).get_json() == note


def test_patch_can_clear_the_body(client: Any, users: dict[str, dict[str, str]]) -> None:
    note = create(client, users["a"], "t", "something")
    response = client.patch(f"{API}/notes/{note['id']}", json={"body": ""}, headers=users["a"])
    assert response.status_code == 200 and response.get_json()["body"] == ""


# -- /api alias ----------------------------------------------------------------------------------


def test_api_alias_serves_the_same_notes(client: Any, users: dict[str, dict[str, str]]) -> None:
    a = users["a"]
    note = create(client, a, "via alias", prefix="/api")
    assert client.get(f"{API}/notes/{note['id']}", headers=a).get_json() == note
    assert client.get(f"/api/notes/{note['id']}", headers=a).get_json() == note
    listed = client.get("/api/notes?limit=1", headers=a).get_json()
    assert listed == client.get(f"{API}/notes?limit=1", headers=a).get_json()
    assert (
        client.patch(f"/api/notes/{note['id']}", json={"title": "renamed"}, headers=a).get_json()[
            "title"
        ]
        == "renamed"
    )
    assert client.get(f"/api/notes/{note['id']}", headers=users["b"]).status_code == 404
    assert client.get("/api/notes?limit=0", headers=a).status_code == 400
    assert client.delete(f"/api/notes/{note['id']}", headers=a).status_code == 204
    assert client.get(f"{API}/notes/{note['id']}", headers=a).status_code == 404


# -- timestamps -----------------------------------------------------------------------------------


def test_timestamps_are_utc_isoformat_in_every_view(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    """The list (tuple rows) and the single-note views (dict rows) write the same strings,
    as datetime.isoformat() does, in UTC even when the database's own TimeZone is not."""
    with psycopg.connect(server_config.database_url, autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f"ALTER DATABASE \"{dbname}\" SET TimeZone = 'America/Sao_Paulo'")
    client = make_app(server_config).test_client()  # its pool connects after the change
    token = client.post(
        f"{API}/auth/register", json={"username": "stamper", "password": "password-123"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    note = create(client, headers, "stamped")
    with psycopg.connect(server_config.database_url) as conn:
        conn.execute(
            "UPDATE notes SET created_at = '2024-01-01T12:00:00.12+00', "
            "updated_at = '2024-01-01T12:00:00+00' WHERE id = %s",
            (note["id"],),
        )
    listed = client.get(f"{API}/notes", headers=headers).get_json()["items"][0]
    got = client.get(f"{API}/notes/{note['id']}", headers=headers).get_json()
    assert listed == got
    assert (got["created_at"], got["updated_at"]) == (
        "2024-01-01T12:00:00.120000+00:00",
        "2024-01-01T12:00:00+00:00",
    )
