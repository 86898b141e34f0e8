"""`devkit doctor`: environment checks, each pass / warn / fail (or skip) with a one-line fix.

One module per check group (env_checks, db_checks, runtime_checks); every check is a function
of a DoctorContext (model.py) so tests inject readings instead of patching.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from devkit.doctor import db_checks, env_checks, runtime_checks
from devkit.doctor.model import CheckResult, DiskUsage, DoctorContext, LanReading
from devkit.errors import DevkitError
from devkit.settings.masking import Masker

Check = Callable[[DoctorContext], "CheckResult | list[CheckResult]"]

ALL_CHECKS: tuple[Check, ...] = (
    env_checks.check_python,
    env_checks.check_dependencies,
    env_checks.check_node,
    env_checks.check_client_deps,
    db_checks.check_backend,
    env_checks.check_env_file,
    env_checks.check_env_required,
    env_checks.check_env_secrets,
    env_checks.check_env_mode,
    db_checks.check_database,
    db_checks.check_schema,
    runtime_checks.check_api,
    runtime_checks.check_metro,
    runtime_checks.check_ports,
    runtime_checks.check_lan,
    runtime_checks.check_disk,
    db_checks.check_backups,
)


def _user_code_place(exc: BaseException, root: Path) -> str | None:
    """ "file:line" in the project's own code (not devkit, not .venv) where `exc` came from."""
    own = Path(__file__).resolve().parents[1]
    places = []
    if isinstance(exc, SyntaxError) and exc.filename:
        places.append((exc.filename, exc.lineno or 0))
    places += [
        (f.filename, f.lineno or 0) for f in reversed(traceback.extract_tb(exc.__traceback__))
    ]
    for filename, line in places:
        path = Path(filename).resolve()
        if path.is_relative_to(root) and not path.is_relative_to(own):
            if not any(part in (".venv", "venv", "site-packages") for part in path.parts):
                return f"{path.relative_to(root)}:{line}"
    return None


def failed_check(name: str, exc: Exception, root: Path) -> CheckResult:
    """A check that raised: the person's mistake (settings, their own code) or devkit's bug."""
    if isinstance(exc, DevkitError):
        return CheckResult(name, "fail", exc.message, exc.hint)
    place = _user_code_place(exc, root)
    if place:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return CheckResult(
            name,
            "fail",
            f"the project's code fails at {place}: {type(exc).__name__}: {message}",
            f"fix {place.rsplit(':', 1)[0]} (the API and devkit db fail the same way)",
        )
    return CheckResult(
        name, "fail", f"the check itself failed: {exc!r}", "report this as a devkit bug"
    )


def run_checks(ctx: DoctorContext, checks: Iterable[Check] = ALL_CHECKS) -> list[CheckResult]:
    """Run every check; a check that crashes is itself a failed result (doctor never dies)."""
    results: list[CheckResult] = []
    for check in checks:
        try:
            outcome = check(ctx)
        except Exception as exc:  # noqa: BLE001
            name = check.__name__.removeprefix("check_").replace("_", "-")
            outcome = failed_check(name, exc, ctx.settings.root)
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    # last line of defence: no secret of .env (nor a URL's or key=value password) is shown
    mask = Masker.from_env(ctx.settings.env)
    return [replace(r, detail=mask(r.detail), fix=mask(r.fix)) for r in results]


def by_name(results: Iterable[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


__all__ = [
    "ALL_CHECKS",
    "CheckResult",
    "DiskUsage",
    "DoctorContext",
    "LanReading",
    "by_name",
    "run_checks",
]
