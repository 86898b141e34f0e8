"""Helpers shared by command modules: load settings honouring --root."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devkit.settings.config import Settings, load_settings


def settings_from(args: argparse.Namespace, overrides: Mapping[str, Any] | None = None) -> Settings:
    root = Path(args.root) if getattr(args, "root", None) else None
    return load_settings(root, overrides)
