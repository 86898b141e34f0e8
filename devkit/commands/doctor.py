"""`devkit doctor [--json]`: check the development environment; exit 1 when a check fails.

A configuration error (malformed .env, unknown [tool.devkit] key) does not stop the doctor:
it becomes the first failed check and the rest run on default settings.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from devkit.commands import COMMANDS
from devkit.commands.common import project_root, settings_from
from devkit.doctor import CheckResult, DoctorContext, run_checks
from devkit.doctor.report import as_json, as_text
from devkit.errors import ConfigError
from devkit.settings.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help=COMMANDS["doctor"])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def _default_settings(args: argparse.Namespace) -> Settings:
    root = project_root(args)
    plain = Settings(root=root)
    return replace(
        plain,
        compose_file=root / plain.compose_file,
        state_dir=root / plain.state_dir,
        client_dir=root / plain.client_dir,
    )


def run(args: argparse.Namespace) -> int:
    first: list[CheckResult] = []
    try:
        ctx = DoctorContext(settings_from(args))
    except ConfigError as exc:
        first.append(CheckResult("config", "fail", exc.message, exc.hint))
        ctx = DoctorContext(_default_settings(args), config_error=exc.message)
    results = first + run_checks(ctx)
    print(as_json(results) if args.json else as_text(results))
    return 1 if any(r.status == "fail" for r in results) else 0
