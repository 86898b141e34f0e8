"""`devkit doctor`: environment checks, each pass / warn / fail (or skip) with a one-line fix.

One module per check group (env_checks, db_checks, runtime_checks); every check is a function
of a DoctorContext (model.py) so tests inject readings instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from devkit.doctor import db_checks, env_checks, runtime_checks
from devkit.doctor.model import CheckResult, DiskUsage, DoctorContext, LanReading

Check = Callable[[DoctorContext], "CheckResult | list[CheckResult]"]

ALL_CHECKS: tuple[Check, ...] = (
    env_checks.check_python,
    env_checks.check_dependencies,
    env_checks.check_node,
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


def run_checks(ctx: DoctorContext, checks: Iterable[Check] = ALL_CHECKS) -> list[CheckResult]:
    """Run every check; a check that crashes is itself a failed result (doctor never dies)."""
    results: list[CheckResult] = []
    for check in checks:
        try:
            outcome = check(ctx)
        except Exception as exc:  # noqa: BLE001
            name = check.__name__.removeprefix("check_").replace("_", "-")
            outcome = CheckResult(
                name, "fail", f"the check itself failed: {exc!r}", "report this as a devkit bug"
            )
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


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
