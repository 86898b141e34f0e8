"""Failed-login limits per client address and per username (429 with Retry-After).

Built on `limits` (the engine under flask-limiter) with one limiter per app, so apps created in
one process (tests) never share counters. Only failed attempts (401) count: a person who types
the right password is never locked out by their own successful logins, while guessing stops
after a few tries. The check runs before the password is verified, so a locked-out guess costs
no argon2 work.

Counters live in memory by default (RATE_LIMIT_STORAGE=memory://): each gunicorn worker and
each replica counts on its own, so the effective limit is the configured one times
workers x replicas. Point RATE_LIMIT_STORAGE at a shared store (redis://host:6379) to make it
exact across replicas.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from server.errors import ApiError

EXTENSION = "aios_login_limits"
F = TypeVar("F", bound=Callable[..., Any])


class LoginLimits:
    """Counts failed logins per address and per username; says when to refuse."""

    def __init__(self, per_address: str, per_username: str, storage_uri: str) -> None:
        self.per_address: list[RateLimitItem] = parse_many(per_address) if per_address else []
        self.per_username: list[RateLimitItem] = parse_many(per_username) if per_username else []
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def _keys(self, address: str, username: str) -> list[tuple[RateLimitItem, str]]:
        keys = [(item, f"login:addr:{address}") for item in self.per_address]
        if username:
            keys += [(item, f"login:user:{username}") for item in self.per_username]
        return keys

    def retry_after(self, address: str, username: str) -> int:
        """Seconds until one more attempt is allowed (0 = allowed now)."""
        wait = 0.0
        for item, key in self._keys(address, username):
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                wait = max(wait, reset - time.time())
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, address: str, username: str) -> None:
        for item, key in self._keys(address, username):
            self.limiter.hit(item, key)


def init_app(app: Flask, per_address: str, per_username: str, storage_uri: str) -> None:
    if per_address or per_username:
        app.extensions[EXTENSION] = LoginLimits(per_address, per_username, storage_uri)


def _username() -> str:
    data = request.get_json(silent=True)
    name = data.get("username") if isinstance(data, dict) else None
    return name.strip().lower()[:256] if isinstance(name, str) else ""


def limit_failed_logins(view: F) -> F:
    """Refuse with 429 + Retry-After while the address or the username is over its limit of
    failed attempts; count every 401 the view answers."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limits: LoginLimits | None = current_app.extensions.get(EXTENSION)
        if limits is None:
            return view(*args, **kwargs)
        address, username = request.remote_addr or "unknown", _username()
        wait = limits.retry_after(address, username)
        if wait:
            raise ApiError(
                429,
                "too_many_requests",
                f"Too many failed logins; try again in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )
        try:
            return view(*args, **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                limits.failed(address, username)
            raise

    return cast(F, wrapper)
