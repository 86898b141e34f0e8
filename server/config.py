"""Configuration from environment variables only, checked once at startup.

A missing or malformed value raises ConfigError with one line naming the variable and the fix,
so `python -m server` can print it and exit instead of failing later inside a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_ENVS = ("development", "production", "test")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_SECRET_LENGTH = 32
# Secrets that ship in examples or docs: never acceptable in production.
KNOWN_WEAK_SECRETS = frozenset(
    {
        "dev_secret_change_in_production",
        "changeme",
        "change_me",
        "change-me",
        "secret",
        "jwt_secret",
        "password",
        "default",
        "dev",
        "development",
        "test",
        "example",
        "your_secret_here",
        "your-secret-key",
        "supersecret",
        "please_change_me",
    }
)
VERSION_RE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")
# Variables that may come from a file instead (Docker/Kubernetes secrets): NAME_FILE=/run/secrets/x
FILE_VARIABLES = ("DATABASE_URL", "JWT_SECRET")
LOG_STDOUT_MODES = ("json", "readable", "off")
SECRET_FIX = (
    "set JWT_SECRET in .env to at least 32 random characters "
    "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
)


class ConfigError(Exception):
    """A configuration problem a person fixes in .env; str() is one line."""


@dataclass(frozen=True)
class Config:
    """The server's settings, read from the environment (from_env).

    The docstring is not only for readers: without one, @dataclass builds it from
    inspect.signature(), ~4 ms of every app start (a third of a devkit reload's imports).
    """

    database_url: str
    jwt_secret: str
    jwt_ttl_seconds: int = 3600
    port: int = 5000
    app_env: str = "development"
    log_dir: Path = Path("logs")
    log_level: str = "INFO"
    min_app_version: str = ""  # "" = no version gate
    max_body_bytes: int = 1024 * 1024
    db_pool_min: int = 1
    db_pool_max: int = 10
    # X-Forwarded-For/-Proto are trusted from this many proxies in front (0 = none: direct)
    proxy_hops: int = 0
    # size-based rotation of combined.log / error.log: bytes per file, rotated files kept
    log_max_bytes: int = 10 * 1024 * 1024
    log_backup_count: int = 5
    # stdout log lines: "" = by APP_ENV (readable in development, JSON in production)
    log_stdout: str = ""
    # failed logins allowed per client address / per username ("" = no limit); None = by APP_ENV
    login_limit_address: str = ""
    login_limit_username: str = ""
    rate_limit_storage: str = "memory://"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Read and check every variable; raise ConfigError for the first bad one."""

        env = resolve_file_variables(env)

        def get(name: str) -> str:
            return (env.get(name) or "").strip()

        database_url = get("DATABASE_URL")
        if not database_url:
            raise ConfigError(
                "DATABASE_URL is not set: set it in .env, e.g. "
                "DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:5432/aios"
            )
        if (
            not database_url.startswith(("postgresql://", "postgres://"))
            and "=" not in database_url
        ):
            raise ConfigError(
                "DATABASE_URL is not a PostgreSQL URL: use "
                "postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
            )
        app_env = get("APP_ENV").lower() or "development"
        if app_env not in APP_ENVS:
            raise ConfigError(
                f"APP_ENV={get('APP_ENV')!r} is not valid: use one of " + ", ".join(APP_ENVS)
            )
        jwt_secret = get("JWT_SECRET")
        if not jwt_secret:
            raise ConfigError("JWT_SECRET is not set: " + SECRET_FIX)
        if app_env == "production":
            check_production_secret(jwt_secret)
        log_level = get("LOG_LEVEL").upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                f"LOG_LEVEL={get('LOG_LEVEL')!r} is not valid: use one of " + ", ".join(LOG_LEVELS)
            )
        min_app_version = get("MIN_APP_VERSION")
        if min_app_version and parse_version(min_app_version) is None:
            raise ConfigError(
                f"MIN_APP_VERSION={min_app_version!r} is not a version: use "
                "numbers like 1.4.0, or leave it empty to accept every app"
            )
        pool_min = _int(env, "DB_POOL_MIN", 1, low=0, high=100)
        pool_max = _int(env, "DB_POOL_MAX", 10, low=1, high=1000)
        if pool_max < max(pool_min, 1):
            raise ConfigError(
                f"DB_POOL_MAX={pool_max} is below DB_POOL_MIN={pool_min}: "
                "set DB_POOL_MAX to at least DB_POOL_MIN"
            )
        return cls(
            database_url=database_url,
            jwt_secret=jwt_secret,
            jwt_ttl_seconds=_int(env, "JWT_EXPIRES_MINUTES", 60, low=1, high=60 * 24 * 365) * 60,
            port=_int(env, "PORT", 5000, low=1, high=65535),
            app_env=app_env,
            log_dir=Path(get("LOG_DIR") or "logs"),
            log_level=log_level,
            min_app_version=min_app_version,
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1024 * 1024, low=1, high=1 << 34),
            db_pool_min=pool_min,
            db_pool_max=pool_max,
            proxy_hops=_int(env, "PROXY_HOPS", 0, low=0, high=10),
            log_max_bytes=_int(env, "LOG_MAX_BYTES", 10 * 1024 * 1024, low=1024, high=1 << 40),
            log_backup_count=_int(env, "LOG_BACKUP_COUNT", 5, low=1, high=1000),
            log_stdout=_choice(env, "LOG_STDOUT", LOG_STDOUT_MODES),
            login_limit_address=_limit(env, "LOGIN_LIMIT_PER_ADDRESS", app_env, "20/minute"),
            login_limit_username=_limit(env, "LOGIN_LIMIT_PER_USERNAME", app_env, "5/minute"),
            rate_limit_storage=get("RATE_LIMIT_STORAGE") or "memory://",
        )


def resolve_file_variables(env: Mapping[str, str]) -> Mapping[str, str]:
    """NAME_FILE=/run/secrets/name -> NAME=<the file's content>, for the secrets that Docker and
    Kubernetes mount as files. Setting both NAME and NAME_FILE is an error (which one wins?)."""
    resolved = dict(env)
    for name in FILE_VARIABLES:
        path = (env.get(f"{name}_FILE") or "").strip()
        if not path:
            continue
        if (env.get(name) or "").strip():
            raise ConfigError(
                f"both {name} and {name}_FILE are set: keep one ({name}_FILE for secrets "
                "mounted as files, e.g. /run/secrets/...)"
            )
        try:
            resolved[name] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{name}_FILE={path} cannot be read ({exc.strerror or exc}): mount the secret "
                f"there or set {name}_FILE to the file that holds it"
            ) from None
    return resolved


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or "").strip().lower()
    if raw and raw not in choices:
        raise ConfigError(f"{name}={raw!r} is not valid: use one of " + ", ".join(choices))
    return raw


def _limit(env: Mapping[str, str], name: str, app_env: str, production_default: str) -> str:
    """A rate limit such as '5/minute' or '10 per 5 minutes;100/day'; 'off' = no limit.
    Unset: on in production, off elsewhere (tests and development log in often)."""
    raw = (env.get(name) or "").strip()
    if raw.lower() in ("off", "none", "0"):
        return ""
    if not raw:
        return production_default if app_env == "production" else ""
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit: use e.g. '5/minute' or '10 per 5 minutes', "
            "or 'off'"
        ) from None
    return raw


def check_production_secret(secret: str) -> None:
    if secret.lower() in KNOWN_WEAK_SECRETS or "change" in secret.lower():
        raise ConfigError(
            "JWT_SECRET is a known default and APP_ENV=production refuses it: " + SECRET_FIX
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"JWT_SECRET is {len(secret)} characters, too short for "
            f"APP_ENV=production: " + SECRET_FIX
        )
    if len(set(secret)) < 8:
        raise ConfigError("JWT_SECRET repeats too few characters to be random: " + SECRET_FIX)


def parse_version(text: str) -> tuple[int, ...] | None:
    """'1.4.0', 'v2.1', '1.4.0-beta (55)' -> (1, 4, 0) ...; None when no leading number."""
    match = VERSION_RE.match(text)
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number: set {name} in .env to a "
            f"number between {low} and {high} (default {default})"
        ) from None
    if not low <= value <= high:
        raise ConfigError(
            f"{name}={value} is out of range: set {name} in .env to a number "
            f"between {low} and {high} (default {default})"
        )
    return value


def current_config() -> Config:
    """The Config of the Flask app handling the current request."""
    from flask import current_app

    return current_app.config["AIOS_CONFIG"]
