"""Create and check `.env`: the first run copies `.env.example` with fresh secrets.

Values a person set are never overwritten. Variables missing from an existing `.env` are not
added silently either (the defaults of .env.example apply through the settings); only a
missing file is created. Weak or default secrets are reported as warnings.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from devkit.settings.config import read_env_file

GENERATED = {
    "JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(18),
}
WEAK_VALUES = {
    "",
    "change_me",
    "changeme",
    "secret",
    "password",
    "postgres",
    "dev_secret_change_in_production",
}
MIN_JWT_SECRET = 32


@dataclass
class EnvFileResult:
    path: Path
    created: bool = False
    warnings: list[str] = field(default_factory=list)


def _fill(template: str) -> str:
    """The example's lines with the generated secrets put in (comments kept)."""
    out = []
    for line in template.splitlines():
        name, sep, _ = line.partition("=")
        key = name.strip()
        if sep and not key.startswith("#") and key in GENERATED:
            line = f"{key}={GENERATED[key]()}"
        out.append(line)
    return "\n".join(out) + "\n"


def weak_secret_warnings(values: dict[str, str], path: Path) -> list[str]:
    warnings = []
    jwt = values.get("JWT_SECRET", "")
    if jwt.lower() in WEAK_VALUES or len(jwt) < MIN_JWT_SECRET:
        warnings.append(
            f"JWT_SECRET in {path.name} is a default or shorter than {MIN_JWT_SECRET} characters;"
            " set a random one: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    password = values.get("POSTGRES_PASSWORD")
    if password is not None and password.lower() in WEAK_VALUES:
        warnings.append(
            f"POSTGRES_PASSWORD in {path.name} is a well-known default; "
            "set a random one (before the database is first created)"
        )
    return warnings


def ensure_env_file(root: Path) -> EnvFileResult:
    """Create ROOT/.env from ROOT/.env.example when missing; validate it; list warnings.

    A malformed .env raises ConfigError naming the line (config.read_env_file).
    """
    path = root / ".env"
    example = root / ".env.example"
    result = EnvFileResult(path=path)
    if not path.exists() and example.exists():
        text = _fill(example.read_text(encoding="utf-8"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        result.created = True
    if not path.exists():
        return result
    values = read_env_file(path)
    result.warnings.extend(weak_secret_warnings(values, path))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077 and any(values.get(k) for k in GENERATED):
        result.warnings.append(
            f"{path.name} holds secrets but is readable by others "
            f"(mode {mode:o}); run: chmod 600 {path}"
        )
    return result
