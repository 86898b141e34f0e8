"""Accounts and tokens against a real PostgreSQL: register, login, me, and every 401 path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask

from server import auth
from server.config import Config

PASSWORD = "correct horse battery"


def register(client: Any, username: str, password: str = PASSWORD, prefix: str = "/api/v1"):
    return client.post(f"{prefix}/auth/register", json={"username": username, "password": password})


def login(client: Any, username: str, password: str = PASSWORD, prefix: str = "/api/v1"):
    return client.post(f"{prefix}/auth/login", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


def make_token(config: Config, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "1", "iat": now, "exp": now + 600, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, config.jwt_secret, algorithm="HS256")


# -- register ----------------------------------------------------------------------------------


def test_register_returns_token_and_user(client: Any) -> None:
    response = register(client, "alice")
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["username"] == "alice"
    assert isinstance(body["user"]["id"], int)
    assert body["user"]["created_at"]
    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json() == {"user": body["user"]}


def test_register_stores_an_argon2_hash_not_the_password(
    client: Any, server_config: Config
) -> None:
    register(client, "hashme")
    with psycopg.connect(server_config.database_url) as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM users WHERE username = 'hashme'"
        ).fetchone()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_duplicate_username_is_409_case_insensitively(client: Any) -> None:
    assert register(client, "Bob").status_code == 201
    for name in ("Bob", "bob", "BOB"):
        response = register(client, name, "another password")
        assert response.status_code == 409
        assert error_of(response) | {"message": ""} == {
            "code": "username_taken",
            "message": "",
            "field": "username",
        }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "carol"}, "password"),
        ({"username": "ab", "password": PASSWORD}, "username"),
        ({"username": "a" * 33, "password": PASSWORD}, "username"),
        ({"username": "has space", "password": PASSWORD}, "username"),
        ({"username": "émile", "password": PASSWORD}, "username"),
        ({"username": "carol\n", "password": PASSWORD}, "username"),
        ({"username": 12345, "password": PASSWORD}, "username"),
        ({"username": None, "password": PASSWORD}, "username"),
        ({"username": "carol", "password": "short"}, "password"),
        ({"username": "carol", "password": "x" * 129}, "password"),
        ({"username": "carol", "password": ["a list"]}, "password"),
        ({"username": "carol", "password": "nul\x00inside!"}, "password"),
    ],
)
def test_register_validation_names_the_field(
    client: Any, payload: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert field in error["message"]


def test_register_accepts_the_boundaries(client: Any) -> None:
    assert register(client, "abc", "x" * 8).status_code == 201
    assert register(client, "A_b.c-9" + "z" * 25, "y" * 128).status_code == 201


# -- login -------------------------------------------------------------------------------------


def test_login_returns_a_working_token(client: Any, server_config: Config) -> None:
    user = register(client, "dave").get_json()["user"]
    response = login(client, "DAVE")  # usernames are case-insensitive
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == user
    claims = jwt.decode(body["token"], server_config.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == str(user["id"])
    assert claims["exp"] - claims["iat"] == server_config.jwt_ttl_seconds
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"
    assert client.get("/api/v1/auth/me", headers=bearer(body["token"])).status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_error(client: Any) -> None:
    register(client, "erin")
    wrong_password = login(client, "erin", "not the password")
    unknown_user = login(client, "nobody_here")
    invalid_name = login(client, "not a valid name!")
    for response in (wrong_password, unknown_user, invalid_name):
        assert response.status_code == 401
        assert error_of(response)["code"] == "invalid_credentials"
    assert wrong_password.get_json() == unknown_user.get_json() == invalid_name.get_json()


def test_unknown_user_still_runs_a_password_verify(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    assert login(client, "ghost_user").status_code == 401
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "frank"}, "password"),
        ({"username": "frank", "password": 123456789}, "password"),
        ({"username": "", "password": PASSWORD}, "username"),
    ],
)
def test_login_shape_errors_are_400(client: Any, payload: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/auth/login", json=payload)
    assert response.status_code == 400
    assert error_of(response)["field"] == field


def test_login_upgrades_an_outdated_hash(client: Any, server_config: Config) -> None:
    register(client, "gina")
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(PASSWORD)
    with psycopg.connect(server_config.database_url) as conn:
        conn.execute("UPDATE users SET password_hash = %s WHERE username = 'gina'", (old,))
    assert login(client, "gina").status_code == 200
    with psycopg.connect(server_config.database_url) as conn:
        (new,) = conn.execute("SELECT password_hash FROM users WHERE username = 'gina'").fetchone()
    assert new != old
    assert PasswordHasher().verify(new, PASSWORD)
    assert login(client, "gina").status_code == 200


# -- tokens ------------------------------------------------------------------------------------


def _me(client: Any, headers: dict[str, str]) -> Any:
    return client.get("/api/v1/auth/me", headers=headers)


def assert_unauthorized(response: Any) -> dict[str, Any]:
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "unauthorized"
    assert response.headers.get("WWW-Authenticate") == "Bearer"
    return error


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer garbage"},
    ],
)
def test_missing_or_malformed_token_is_401(client: Any, headers: dict[str, str]) -> None:
    assert_unauthorized(_me(client, headers))


def test_expired_token_is_401(client: Any, server_config: Config) -> None:
    user_id = register(client, "henry").get_json()["user"]["id"]
    past = int(time.time()) - 7200
    token = make_token(server_config, sub=str(user_id), iat=past, exp=past + 60)
    error = assert_unauthorized(_me(client, bearer(token)))
    assert "expired" in error["message"]
    # The same claims, unexpired, are accepted: the expiry is what failed.
    fresh = make_token(server_config, sub=str(user_id))
    assert _me(client, bearer(fresh)).status_code == 200


def test_a_token_accepted_before_is_refused_once_it_expires(
    client: Any, server_config: Config
) -> None:
    """Verified tokens are remembered (no signature check per request) only until their exp."""
    from tests.support.wait import wait_for

    user_id = register(client, "iris").get_json()["user"]["id"]
    now = int(time.time())
    token = make_token(server_config, sub=str(user_id), iat=now, exp=now + 2)
    assert _me(client, bearer(token)).status_code == 200
    assert _me(client, bearer(token)).status_code == 200  # the remembered verification
    wait_for(lambda: _me(client, bearer(token)).status_code == 401, 10, what="401 after exp")
    assert "expired" in error_of(_me(client, bearer(token)))["message"]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_tampered_tokens_are_401(client: Any, server_config: Config) -> None:
    alice = register(client, "ivy").get_json()
    register(client, "jack")
    token = alice["token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_sub = _b64({**claims, "sub": str(alice["user"]["id"] + 1)})
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    other_secret = jwt.encode(claims, "x" * 48, algorithm="HS256")
    alg_none = _b64({"alg": "none", "typ": "JWT"}) + "." + payload + "."
    hs512 = jwt.encode(claims, server_config.jwt_secret, algorithm="HS512")
    for bad in (
        f"{header}.{forged_sub}.{signature}",
        f"{header}.{payload}.{flipped}",
        other_secret,
        alg_none,
        hs512,
    ):
        assert_unauthorized(_me(client, bearer(bad)))
    assert _me(client, bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": None},
        {"iat": None},
        {"sub": None},
        {"sub": "abc"},
        {"sub": "-1"},
        {"sub": "0"},
        {"sub": "99999999999999999999999"},
        {"sub": 5},
    ],
)
def test_tokens_with_bad_claims_are_401(
    client: Any, server_config: Config, claims: dict[str, Any]
) -> None:
    if claims.get("sub") == 5:
        # PyJWT refuses to encode a non-string sub, so build that token by hand.
        now = int(time.time())
        header = _b64({"alg": "HS256", "typ": "JWT"})
        body = _b64({"sub": 5, "iat": now, "exp": now + 600})
        sig = hmac.new(
            server_config.jwt_secret.encode(), f"{header}.{body}".encode(), hashlib.sha256
        ).digest()
        token = f"{header}.{body}." + base64.urlsafe_b64encode(sig).decode().rstrip("=")
    else:
        token = make_token(server_config, **claims)
    assert_unauthorized(_me(client, bearer(token)))


def test_token_of_a_deleted_user_is_401(client: Any, server_config: Config) -> None:
    token = register(client, "kate").get_json()["token"]
    with psycopg.connect(server_config.database_url) as conn:
        conn.execute("DELETE FROM users WHERE username = 'kate'")
    assert_unauthorized(_me(client, bearer(token)))
    assert_unauthorized(client.post("/api/v1/notes", json={"title": "x"}, headers=bearer(token)))


def test_lowercase_bearer_scheme_is_accepted(client: Any) -> None:
    token = register(client, "liam").get_json()["token"]
    assert _me(client, {"Authorization": f"bearer {token}"}).status_code == 200


# -- /api alias ----------------------------------------------------------------------------------


def test_api_alias_paths_behave_the_same(client: Any) -> None:
    created = register(client, "mia", prefix="/api")
    assert created.status_code == 201
    assert register(client, "mia", prefix="/api").status_code == 409
    assert login(client, "mia", "wrong password", prefix="/api").status_code == 401
    token = login(client, "mia", prefix="/api").get_json()["token"]
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.get_json()["user"] == created.get_json()["user"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    assert_unauthorized(client.get("/api/auth/me"))


# -- hashing parameters ------------------------------------------------------------------------


def test_production_uses_argon2_default_parameters(
    server_config: Config, make_app: Callable[..., Flask]
) -> None:
    defaults = PasswordHasher()
    for env, expect_defaults in (("production", True), ("development", True), ("test", False)):
        app = make_app(server_config, app_env=env)
        with app.app_context():
            hasher = auth.password_hasher()
        params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        expected = (defaults.time_cost, defaults.memory_cost, defaults.parallelism)
        assert (params == expected) is expect_defaults, env
