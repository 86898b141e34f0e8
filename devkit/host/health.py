"""The result of one probe: healthy or not, and why. Probes (host) make it; services and the
supervisor (core) pass it on. A Problem is the other axis: the component serves (healthy) but
what it serves is broken, e.g. Metro answers /status while the app's bundle fails to build."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Problem:
    """Something wrong with what a healthy component serves: a one-line summary for tables
    and status, and the lines that explain it (message, code frame) for the error panel."""

    summary: str
    lines: tuple[str, ...] = ()
