"""Errors a person can act on: what failed and the one thing that fixes it.

Each front end renders them its own way (stderr + exit 1 in the CLI, a toast in the TUI).
"""

from __future__ import annotations


class DevkitError(Exception):
    """A failure with a human explanation (`message`) and a fix (`hint`)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(DevkitError):
    """Bad settings in pyproject.toml [tool.devkit] or in .env."""


class PortInUseError(DevkitError):
    """A port devkit needs is held by another process."""


class BackendUnavailableError(DevkitError):
    """Neither Docker nor local PostgreSQL binaries can be used."""


class AlreadyRunningError(DevkitError):
    """Another `devkit up` holds the run lock."""
