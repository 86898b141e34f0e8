"""The account the load runs as: a token given, a user who logs in, or a throwaway user
registered for the run and given a few notes so the list endpoint returns a real page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from devkit.errors import DevkitError

API_PREFIX = "/api"  # the server answers under /api and /api/v1


@dataclass(frozen=True)
class Account:
    token: str
    username: str  # "" when a token was given
    how: str  # "token given" | "logged in" | "throwaway user, N notes"


def _fail(what: str, response: httpx.Response, base: str) -> DevkitError:
    try:
        message = response.json().get("error", {}).get("message", "")
    except (ValueError, AttributeError):
        message = response.text[:200]
    return DevkitError(
        f"{what} at {base} answered {response.status_code}: {message or 'no message'}",
        "check the URL is the AIOS API (GET /status), or pass --token / --user",
    )


def check_api(client: httpx.Client, base: str) -> None:
    try:
        client.get("/status")
    except httpx.HTTPError as exc:
        raise DevkitError(
            f"no API answers at {base} ({type(exc).__name__}: {exc})",
            "start the stack (devkit up), or give the API's URL: devkit bench http://HOST:PORT",
        ) from None


def login(client: httpx.Client, base: str, username: str, password: str) -> Account:
    response = client.post(
        f"{API_PREFIX}/auth/login", json={"username": username, "password": password}
    )
    if response.status_code != 200:
        raise _fail(f"login as {username}", response, base)
    return Account(response.json()["token"], username, "logged in")


def throwaway(client: httpx.Client, base: str, notes: int) -> Account:
    username = f"devkit-bench-{secrets.token_hex(4)}"
    response = client.post(
        f"{API_PREFIX}/auth/register",
        json={"username": username, "password": secrets.token_urlsafe(24)},
    )
    if response.status_code != 201:
        raise _fail("registering a throwaway user", response, base)
    token = response.json()["token"]
    for i in range(notes):
        made = client.post(
            f"{API_PREFIX}/notes",
            json={"title": f"bench note {i + 1}", "body": "seeded by devkit bench " * 8},
            headers={"Authorization": f"Bearer {token}"},
        )
        if made.status_code != 201:
            raise _fail("seeding notes", made, base)
    return Account(token, username, f"throwaway user {username}, {notes} notes")


def prepare(
    base: str,
    *,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    notes: int = 20,
    timeout: float = 10.0,
) -> Account:
    """The bearer token for the load (checks first that an API answers at `base`)."""
    with httpx.Client(base_url=base, timeout=timeout) as client:
        check_api(client, base)
        if token:
            return Account(token, "", "token given")
        if user:
            if not password:
                raise DevkitError(
                    f"--user {user} needs a password",
                    "add --password P (or set DEVKIT_BENCH_PASSWORD)",
                )
            return login(client, base, user, password)
        return throwaway(client, base, notes)
