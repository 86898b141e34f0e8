"""Helpers shared by command modules: the one `--root` resolution, settings honouring it."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devkit.errors import ConfigError
from devkit.settings.config import Settings, find_root, load_settings


def project_root(args: argparse.Namespace) -> Path:
    """The project folder: `--root` when given (it must exist), else the nearest pyproject.toml
    upwards (or DEVKIT_ROOT). Every command resolves its root here."""
    given = getattr(args, "root", None)
    if not given:
        return find_root()
    root = Path(given).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(
            f"--root {given}: no such folder",
            "pass the project folder (the one holding pyproject.toml), or leave --root out",
        )
    return root


def settings_from(args: argparse.Namespace, overrides: Mapping[str, Any] | None = None) -> Settings:
    return load_settings(project_root(args), overrides)
