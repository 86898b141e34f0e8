"""Run the checklist in order; the HTTP checks share one client."""

from __future__ import annotations

import ssl

import httpx

from devkit.doctor.model import CheckResult
from devkit.verify import http_checks, tls_checks
from devkit.verify.context import VerifyContext


def _verify_setting(ctx: VerifyContext) -> ssl.SSLContext | bool:
    """How the HTTP checks treat the certificate: its own check already judged it."""
    if not ctx.is_https or ctx.insecure or not ctx.cert_trusted:
        return False
    return ssl.create_default_context(cafile=str(ctx.ca_file) if ctx.ca_file else None)


def run_checks(ctx: VerifyContext) -> list[CheckResult]:
    cert = tls_checks.check_certificate(ctx)
    with httpx.Client(base_url=ctx.url, verify=_verify_setting(ctx), timeout=ctx.timeout) as client:
        response, error = http_checks.get_status(client)
        results = [
            http_checks.check_status(ctx, response, error),
            cert,
            tls_checks.check_redirect(ctx, client),
            tls_checks.check_hsts(ctx, response),
            http_checks.check_security_headers(response),
            http_checks.check_login(ctx, client),
            http_checks.check_version_gate(client),
            http_checks.check_latency(client),
        ]
    return results
