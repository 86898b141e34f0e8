"""`devkit verify URL`: the seed's production checklist against a deployment, like doctor:
each check passes, warns or fails with a one-line fix; exit 1 when one fails."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from devkit.commands import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help=COMMANDS["verify"],
        description="Check a deployment like the seed's 'How to Verify': /status answers "
        '{"status":"ok"}, the TLS certificate is trusted for the host and not about to '
        "expire (warn under 30 days, fail under 7), http:// redirects to https://, HSTS and "
        "the other security headers, login works, the version gate answers 426 to an old app, "
        "/status latency.",
    )
    parser.add_argument("url", help="the deployment's base URL, e.g. https://api.example.com")
    parser.add_argument("--user", help="test account to log in as (default: register one)")
    parser.add_argument("--password", help="its password (or DEVKIT_VERIFY_PASSWORD)")
    parser.add_argument("--ca-file", type=Path, help="trust this CA certificate (PEM)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="certificate problems warn instead of failing (said in the output)",
    )
    parser.add_argument(
        "--http-port", type=int, help="where plain http listens, for the redirect check (80)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (5)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from devkit.doctor.report import as_json, as_text
    from devkit.verify.context import VerifyContext
    from devkit.verify.run import run_checks

    ctx = VerifyContext(
        url=args.url,
        ca_file=args.ca_file,
        insecure=args.insecure,
        user=args.user,
        password=args.password or os.environ.get("DEVKIT_VERIFY_PASSWORD"),
        http_port=args.http_port,
        timeout=args.timeout,
    )
    results = run_checks(ctx)
    if args.json:
        data = json.loads(as_json(results))
        print(json.dumps({"url": ctx.url, **data}, indent=2))
    else:
        print(f"verify {ctx.url}\n")
        print(as_text(results))
    return 1 if any(r.status == "fail" for r in results) else 0
