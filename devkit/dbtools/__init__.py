"""Database tooling behind `devkit db`: target, tools (host or container), backup, prune,
restore/verify (backup_check: is a file whole), kept (replaced databases) and migrations. Each
module has one job; commands/db.py only prints.

Names are loaded on first use (PEP 562): `devkit up` imports dbtools.container without paying
for psycopg here.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "DbTarget": "target",
    "mask_url": "target",
    "ContainerTools": "tools",
    "DbTools": "tools",
    "HostTools": "tools",
    "select_tools": "tools",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"devkit.dbtools.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
