"""The API part of the checklist: /status, security headers, login, version gate, latency."""

from __future__ import annotations

import re
import secrets
import statistics
import time

import httpx

from devkit.doctor.model import CheckResult, Status
from devkit.verify.context import API_PREFIX, VerifyContext

# the header server/version_gate.py reads (a test keeps the two equal)
APP_VERSION_HEADER = "X-App-Version"
OLDEST_VERSION = "0.0.0"  # below any MIN_APP_VERSION
LATENCY_SAMPLES = 5
LATENCY_PASS_MS, LATENCY_WARN_MS = 500.0, 2000.0  # the seed's p95 mark; then "slow"
REGISTRATION_OFF = (403, 404, 405, 410)


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:120].strip()
    return str(error.get("message", "")) if isinstance(error, dict) else ""


def get_status(client: httpx.Client) -> tuple[httpx.Response | None, str]:
    """GET /status: (response, "") or (None, why it failed)."""
    try:
        return client.get("/status"), ""
    except httpx.HTTPError as exc:
        return None, _why(exc)


def check_status(ctx: VerifyContext, response: httpx.Response | None, error: str) -> CheckResult:
    name = "status"
    if response is None:
        return CheckResult(
            name,
            "fail",
            f"GET {ctx.url}/status: {error}",
            "check that nginx and the API run (docker service ps / kubectl get pods)",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return CheckResult(
            name,
            "fail",
            f"/status answered {response.status_code} without JSON",
            "route /status to the API in nginx (location / { proxy_pass ...; })",
        )
    if response.status_code == 200 and body.get("status") == "ok":
        return CheckResult(
            name,
            "pass",
            f'{{"status":"ok"}}, database {body.get("db", "?")}, '
            f"version {body.get('version', '?')}",
        )
    if body.get("db") == "down":
        return CheckResult(
            name,
            "fail",
            f"/status answered {response.status_code}: the API cannot reach its database",
            "check DATABASE_URL and that PostgreSQL runs (the API's error.log says why)",
        )
    return CheckResult(
        name,
        "fail",
        f"/status answered {response.status_code} {body.get('status', body)!r}",
        "see the API's logs",
    )


def check_security_headers(response: httpx.Response | None) -> CheckResult:
    name = "security-headers"
    if response is None:
        return CheckResult(name, "fail", "no answer to read the headers from", "see status")
    headers = response.headers
    missing = []
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    csp = headers.get("content-security-policy", "")
    if headers.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN") and (
        "frame-ancestors" not in csp
    ):
        missing.append("X-Frame-Options: DENY")
    if not headers.get("referrer-policy"):
        missing.append("Referrer-Policy: no-referrer")
    server = headers.get("server", "")
    leaks = bool(re.search(r"/\d", server))
    if not missing and not leaks:
        return CheckResult(name, "pass", "X-Content-Type-Options, X-Frame-Options, Referrer-Policy")
    problems = [f"missing {', '.join(missing)}"] if missing else []
    fixes = [f"add_header {h.replace(': ', ' ')} always;" for h in missing]
    if leaks:
        problems.append(f"Server header shows the version ({server})")
        fixes.append("server_tokens off;")
    return CheckResult(name, "warn", "; ".join(problems), "in nginx: " + " ".join(fixes))


def _login(client: httpx.Client, user: str, password: str) -> tuple[str | None, httpx.Response]:
    response = client.post(
        f"{API_PREFIX}/auth/login", json={"username": user, "password": password}
    )
    token = response.json().get("token") if response.status_code == 200 else None
    return token, response


def check_login(ctx: VerifyContext, client: httpx.Client) -> CheckResult:
    name = "login"
    user, password, note = ctx.user, ctx.password, ""
    try:
        if not user or not password:
            user, password = f"devkit-verify-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
            made = client.post(
                f"{API_PREFIX}/auth/register", json={"username": user, "password": password}
            )
            if made.status_code in REGISTRATION_OFF:
                return CheckResult(
                    name,
                    "warn",
                    f"registration is disabled ({made.status_code}) and no test user was given:"
                    " login not checked",
                    "pass --user U --password P of a test account",
                )
            if made.status_code != 201:
                return CheckResult(
                    name,
                    "fail",
                    f"registering a user answered {made.status_code}: {_message(made)}",
                    "see the API's error.log (or pass --user/--password of a test account)",
                )
            note = f" (throwaway user {user}; pass --user/--password to use a test account)"
        token, response = _login(client, user, password)
        if token is None:
            return CheckResult(
                name,
                "fail",
                f"login as {user} answered {response.status_code}: {_message(response)}",
                "check the test user's name and password (or create it)",
            )
        me = client.get(f"{API_PREFIX}/auth/me", headers={"Authorization": f"Bearer {token}"})
    except (httpx.HTTPError, ValueError) as exc:
        return CheckResult(name, "fail", f"login flow: {_why(exc)}", "see the API's logs")
    if me.status_code != 200:
        return CheckResult(
            name,
            "fail",
            f"{user} logged in but /auth/me refused the token ({me.status_code})",
            "every API replica must share one JWT_SECRET",
        )
    return CheckResult(name, "pass", f"{user} logs in; /auth/me accepts the token{note}")


def check_version_gate(client: httpx.Client) -> CheckResult:
    name = "version-gate"
    try:
        response = client.get(f"{API_PREFIX}/notes", headers={APP_VERSION_HEADER: OLDEST_VERSION})
    except httpx.HTTPError as exc:
        return CheckResult(name, "fail", f"GET {API_PREFIX}/notes: {_why(exc)}", "see status")
    if response.status_code == 426:
        minimum = response.headers.get("x-min-app-version", "?")
        return CheckResult(
            name, "pass", f"426 for {APP_VERSION_HEADER}: {OLDEST_VERSION} (minimum {minimum})"
        )
    return CheckResult(
        name,
        "warn",
        f"{APP_VERSION_HEADER}: {OLDEST_VERSION} answered {response.status_code}, not 426: "
        "the version gate is off",
        "set MIN_APP_VERSION in the API's environment to the oldest app version you support",
    )


def check_latency(client: httpx.Client) -> CheckResult:
    name = "latency"
    samples: list[float] = []
    try:
        for _ in range(LATENCY_SAMPLES):
            start = time.perf_counter()
            client.get("/status")
            samples.append((time.perf_counter() - start) * 1000)
    except httpx.HTTPError as exc:
        return CheckResult(name, "fail", f"/status: {_why(exc)}", "see status")
    median = statistics.median(samples)
    detail = f"/status median {median:.0f} ms, max {max(samples):.0f} ms ({len(samples)} requests)"
    if median < LATENCY_PASS_MS:
        return CheckResult(name, "pass", detail)
    status: Status = "warn" if median < LATENCY_WARN_MS else "fail"
    return CheckResult(
        name,
        status,
        detail,
        "check the database's health and the API replicas' load (devkit bench URL --allow-remote)",
    )
