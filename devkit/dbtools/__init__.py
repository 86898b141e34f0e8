"""Database tooling behind `devkit db`: target, tools (host or container), backup, prune,
restore/verify and migrations. Each module has one job; commands/db.py only prints."""

from devkit.dbtools.target import DbTarget, mask_url
from devkit.dbtools.tools import ContainerTools, DbTools, HostTools, select_tools

__all__ = ["ContainerTools", "DbTarget", "DbTools", "HostTools", "mask_url", "select_tools"]
