"""Accounts and bearer tokens: register, login, me, and the `require_auth` decorator.

Passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile);
only APP_ENV=test uses cheap parameters so the test suite is not dominated by hashing.
Tokens are HS256 JWTs carrying sub (user id), iat and exp.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, g, jsonify, request

from server import db
from server.config import current_config
from server.errors import ApiError
from server.models import USERNAME_PATTERN, Credentials, LoginRequest, parse_body
from server.ratelimit import limit_failed_logins
from server.validation import BIGINT_MAX

bp = Blueprint("auth", __name__)

USERNAME_RE = re.compile(USERNAME_PATTERN)  # use .fullmatch: `$` alone allows a final newline
JWT_ALGORITHM = "HS256"

_hashers: dict[bool, PasswordHasher] = {}
_dummy_hashes: dict[bool, str] = {}

F = TypeVar("F", bound=Callable[..., Any])


def password_hasher() -> PasswordHasher:
    """Production defaults, or cheap parameters when APP_ENV=test."""
    cheap = current_config().app_env == "test"
    if cheap not in _hashers:
        _hashers[cheap] = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            if cheap
            else PasswordHasher()
        )
    return _hashers[cheap]


def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (similar timing either way)."""
    cheap = current_config().app_env == "test"
    if cheap not in _dummy_hashes:
        _dummy_hashes[cheap] = password_hasher().hash("not-a-real-password-0123456789")
    return _dummy_hashes[cheap]


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def issue_token(user_id: int) -> str:
    config = current_config()
    now = int(time.time())
    payload = {"sub": str(user_id), "iat": now, "exp": now + config.jwt_ttl_seconds}
    return jwt.encode(payload, config.jwt_secret, algorithm=JWT_ALGORITHM)


# Tokens whose signature and claims were verified: (secret, token) -> (user id, exp). A client
# sends the same token with every request; verifying it again each time was ~7% of a request's
# CPU. An entry is only good until the token's exp; the secret is part of the key.
_verified: dict[tuple[str, str], tuple[int, float]] = {}
VERIFIED_MAX = 4096


def decode_token(token: str) -> int:
    """The user id in a valid token; ApiError 401 for expired, tampered or malformed ones."""
    secret = current_config().jwt_secret
    known = _verified.get((secret, token))
    if known is not None and known[1] > time.time():
        return known[0]
    user_id, exp = _verify(token, secret)
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[(secret, token)] = (user_id, exp)
    return user_id


def _verify(token: str, secret: str) -> tuple[int, float]:
    """Signature and claims checked by PyJWT: (user id, exp)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("The token has expired; log in again.") from None
    except jwt.PyJWTError:
        raise unauthorized("The token is invalid; log in again.") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.isascii() or not sub.isdigit():
        raise unauthorized("The token is invalid; log in again.")
    user_id = int(sub)
    if not 0 < user_id <= BIGINT_MAX:
        raise unauthorized("The token is invalid; log in again.")
    return user_id, float(claims["exp"])


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "Missing bearer token; send 'Authorization: Bearer <token>' from /auth/login."
        )
    return token.strip()


def require_auth(view: F) -> F:
    """Reject the request with 401 unless it carries a valid token; sets `g.user_id`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.user_id = decode_token(bearer_token())
        return view(*args, **kwargs)

    return cast(F, wrapper)


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "created_at": row["created_at"].isoformat(),
    }


@bp.post("/auth/register")
def register() -> Any:
    credentials = parse_body(Credentials)
    username, password = credentials.username, credentials.password
    password_hash = password_hasher().hash(password)
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id, username, created_at",
            (username, password_hash),
        ).fetchone()
    if row is None:
        raise ApiError(
            409, "username_taken", "That username is already taken; choose another.", "username"
        )
    return jsonify({"token": issue_token(row["id"]), "user": user_json(row)}), 201


@bp.post("/auth/login")
@limit_failed_logins
def login() -> Any:
    # Shape checks only: length/charset rules are not revealed at login.
    body = parse_body(LoginRequest)
    username, password = body.username, body.password
    hasher = password_hasher()
    dummy = _dummy_hash()  # made before any lookup, so the first unknown user costs no extra
    row = None
    if USERNAME_RE.fullmatch(username):
        with db.connection() as conn:
            row = conn.execute(
                "SELECT id, username, password_hash, created_at FROM users "
                "WHERE lower(username) = lower(%s)",
                (username,),
            ).fetchone()
    try:
        # Verify even for unknown users so both failures take about the same time.
        hasher.verify(row["password_hash"] if row else dummy, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None:
        raise ApiError(
            401,
            "invalid_credentials",
            "Wrong username or password; check both and try again.",
        )
    if hasher.check_needs_rehash(row["password_hash"]):
        with db.connection() as conn:
            conn.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s",
                (hasher.hash(password), row["id"]),
            )
    return jsonify({"token": issue_token(row["id"]), "user": user_json(row)})


@bp.get("/auth/me")
@require_auth
def me() -> Any:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT id, username, created_at FROM users WHERE id = %s", (g.user_id,)
        ).fetchone()
    if row is None:
        raise unauthorized("The account for this token no longer exists; register again.")
    return jsonify({"user": user_json(row)})
