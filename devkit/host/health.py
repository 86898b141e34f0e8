"""The result of one probe: healthy or not, and why. Probes (host) make it; services and the
supervisor (core) pass it on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
