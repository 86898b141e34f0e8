"""Build the ordered list of services of one `devkit up` from the settings.

postgres (devkit.services.postgres), api (devkit.services.api), metro, then the extra processes.
The PostgreSQL and API modules are imported only when used, so `components` can leave them out
(and tests of the engine run without them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devkit.core.service import Service
from devkit.errors import ConfigError
from devkit.settings.config import Settings

BUILTIN = ("postgres", "api", "metro")


@dataclass
class Plan:
    services: list[Service]
    notes: list[str] = field(default_factory=list)  # e.g. "postgres: native (no Docker engine)"


def enabled_builtins(settings: Settings) -> tuple[str, ...]:
    chosen = tuple(getattr(settings, "components", BUILTIN))
    for name in chosen:
        if name not in BUILTIN:
            raise ConfigError(
                f"components lists {name!r}, which is not a built-in component",
                f"use some of {', '.join(BUILTIN)}; declare others under "
                "[tool.devkit.processes.NAME]",
            )
    return chosen


def build_services(settings: Settings, db_backend: str | None = None) -> Plan:
    chosen = enabled_builtins(settings)
    plan = Plan(services=[])
    if "postgres" in chosen:
        from devkit.services.postgres import choose_backend, make_postgres_service

        choice = choose_backend(settings, db_backend)
        plan.notes.append(f"postgres: {choice.kind} ({choice.reason})")
        plan.services.append(make_postgres_service(settings, choice))
    if "api" in chosen:
        from devkit.services.api import ApiService

        api = ApiService(settings)
        if "postgres" not in chosen:
            api.depends_on = tuple(d for d in api.depends_on if d != "postgres")
        plan.services.append(api)
    if "metro" in chosen:
        from devkit.services.metro import MetroService

        plan.services.append(MetroService(settings))
    if settings.processes:
        from devkit.services.process import ProcessService

        taken = {s.name for s in plan.services}
        for spec in settings.processes:
            if spec.name in taken or spec.name in BUILTIN:
                raise ConfigError(
                    f"[tool.devkit.processes.{spec.name}] uses the name of a built-in component",
                    "give the process another name",
                )
            plan.services.append(ProcessService(settings, spec))
    known = {s.name for s in plan.services}
    for svc in plan.services:
        for dep in svc.depends_on:
            if dep not in known and dep not in BUILTIN:
                raise ConfigError(
                    f"{svc.name} depends on {dep!r}, which is not a component",
                    f"known components: {', '.join(sorted(known))}",
                )
    return plan
