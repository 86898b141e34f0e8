"""The TLS part of the checklist: the certificate, the http -> https redirect, HSTS."""

from __future__ import annotations

import ssl

import httpx

from devkit.doctor.model import CheckResult, Status
from devkit.verify.context import VerifyContext
from devkit.verify.tls import FAIL_DAYS, WARN_DAYS, CertReading, read_certificate

NOT_HTTPS_FIX = (
    "serve the API over https (nginx with a certificate, e.g. from Let's Encrypt) and verify "
    "the https:// URL"
)
HSTS_MIN_AGE = 180 * 86400
HSTS_FIX = 'in nginx: add_header Strict-Transport-Security "max-age=31536000" always;'
REDIRECT_FIX = (
    "in nginx: server { listen 80; return 301 https://$host$request_uri; } "
    "(or pass --http-port when plain http listens elsewhere)"
)


def _untrusted_fix(reason: str, host: str) -> str:
    text = reason.lower()
    if "expired" in text:
        return "renew the certificate (certbot renew) and reload nginx"
    if "not yet valid" in text:
        return "check the server's clock, or the certificate's start date"
    if "hostname" in text or "ip address mismatch" in text:
        return f"issue a certificate whose names include {host}"
    return "serve the full chain (fullchain.pem) from nginx; for a private CA pass --ca-file CA.pem"


def _judge(ctx: VerifyContext, cert: CertReading) -> CheckResult:
    name = "tls-certificate"
    days = cert.days_left(ctx.now)
    when = f"expires {cert.not_after:%Y-%m-%d} ({days:.0f} days)"
    if cert.verify_error:
        ctx.cert_trusted = False
        detail = f"not trusted for {ctx.host}: {cert.verify_error}; {when}"
        fix = _untrusted_fix(cert.verify_error, ctx.host)
        if ctx.insecure:
            return CheckResult(name, "warn", f"--insecure: {detail} (would fail)", fix)
        return CheckResult(name, "fail", detail, fix)
    if days < WARN_DAYS:
        status: Status = "fail" if days < FAIL_DAYS else "warn"
        limit = FAIL_DAYS if status == "fail" else WARN_DAYS
        detail = f"valid for {ctx.host} but {when}: under {limit} days"
        if ctx.insecure and status == "fail":
            status, detail = "warn", f"--insecure: {detail} (would fail)"
        return CheckResult(
            name, status, detail, "renew the certificate (certbot renew) and reload nginx"
        )
    return CheckResult(name, "pass", f"valid for {ctx.host}, {when}, issuer {cert.issuer}")


def check_certificate(ctx: VerifyContext) -> CheckResult:
    name = "tls-certificate"
    if not ctx.is_https:
        ctx.cert_trusted = True
        return CheckResult(
            name, "fail", f"{ctx.url} is plain http: there is no certificate", NOT_HTTPS_FIX
        )
    try:
        cert = read_certificate(ctx.host, ctx.port, ctx.ca_file, ctx.timeout)
    except (OSError, ssl.SSLError, ValueError) as exc:
        ctx.cert_trusted = False
        return CheckResult(
            name,
            "fail",
            f"no TLS handshake with {ctx.host}:{ctx.port}: {exc}",
            "check that nginx listens with ssl on that port (listen 443 ssl;)",
        )
    return _judge(ctx, cert)


def check_redirect(ctx: VerifyContext, client: httpx.Client) -> CheckResult:
    name = "https-redirect"
    plain = ctx.url if not ctx.is_https and ctx.http_port is None else ctx.http_url
    try:
        response = client.get(plain + "/status", follow_redirects=False)
    except httpx.HTTPError as exc:
        return CheckResult(
            name, "fail", f"nothing answers on {plain} ({type(exc).__name__})", REDIRECT_FIX
        )
    location = response.headers.get("location", "")
    if response.status_code in (301, 302, 307, 308):
        if location.startswith("https://"):
            return CheckResult(name, "pass", f"{plain} answers {response.status_code} → {location}")
        return CheckResult(
            name,
            "fail",
            f"{plain} redirects ({response.status_code}) to {location or 'nowhere'}, not https",
            REDIRECT_FIX,
        )
    prefix = "the URL is plain http and " if not ctx.is_https else ""
    return CheckResult(
        name,
        "fail",
        f"{prefix}{plain}/status answers {response.status_code} instead of redirecting to https",
        REDIRECT_FIX,
    )


def _max_age(value: str) -> int | None:
    for part in value.split(";"):
        key, _, number = part.strip().partition("=")
        if key.strip().lower() == "max-age":
            try:
                return int(number.strip().strip('"'))
            except ValueError:
                return None
    return None


def check_hsts(ctx: VerifyContext, response: httpx.Response | None) -> CheckResult:
    name = "hsts"
    if not ctx.is_https:
        return CheckResult(
            name, "fail", "HSTS counts only over https; this URL is plain http", NOT_HTTPS_FIX
        )
    if response is None:
        return CheckResult(name, "fail", "no answer to read the header from", HSTS_FIX)
    value = response.headers.get("strict-transport-security")
    if not value:
        return CheckResult(name, "fail", "no Strict-Transport-Security header", HSTS_FIX)
    age = _max_age(value)
    if age is None or age < HSTS_MIN_AGE:
        return CheckResult(
            name, "warn", f"Strict-Transport-Security: {value} (max-age under 180 days)", HSTS_FIX
        )
    return CheckResult(name, "pass", f"Strict-Transport-Security: {value}")
