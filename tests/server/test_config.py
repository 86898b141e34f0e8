"""Configuration comes only from the environment; bad values stop startup with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import Config, ConfigError, parse_version

GOOD = {
    "DATABASE_URL": "postgresql://aios:pw@127.0.0.1:5432/aios",
    "JWT_SECRET": "k7Qz9-Vw2Lm8Rt5Yx1Bn4Cp6Df3Gh0Js_Ua7Ie2Ok9",
}
ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    config = Config.from_env(GOOD)
    assert (config.port, config.app_env, config.log_level) == (5000, "development", "INFO")
    assert (config.jwt_ttl_seconds, config.max_body_bytes) == (3600, 1024 * 1024)
    assert config.min_app_version == "" and config.log_dir == Path("logs")


def test_values_are_read() -> None:
    config = Config.from_env(
        {
            **GOOD,
            "PORT": "5001",
            "APP_ENV": "production",
            "JWT_EXPIRES_MINUTES": "5",
            "LOG_DIR": "/tmp/x",
            "LOG_LEVEL": "debug",
            "MIN_APP_VERSION": "1.4.0",
            "MAX_BODY_BYTES": "65536",
            "DB_POOL_MIN": "0",
            "DB_POOL_MAX": "3",
        }
    )
    assert config.port == 5001 and config.app_env == "production"
    assert config.jwt_ttl_seconds == 300 and config.log_dir == Path("/tmp/x")
    assert config.log_level == "DEBUG" and config.min_app_version == "1.4.0"
    assert (config.max_body_bytes, config.db_pool_min, config.db_pool_max) == (65536, 0, 3)


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"JWT_SECRET": ""}, "JWT_SECRET"),
        ({"PORT": "50x0"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"MIN_APP_VERSION": "latest"}, "MIN_APP_VERSION"),
        ({"MAX_BODY_BYTES": "-1"}, "MAX_BODY_BYTES"),
        ({"JWT_EXPIRES_MINUTES": "1h"}, "JWT_EXPIRES_MINUTES"),
        ({"DB_POOL_MIN": "5", "DB_POOL_MAX": "2"}, "DB_POOL_MAX"),
    ],
)
def test_bad_values_name_the_variable(changes: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({**GOOD, **changes})
    message = str(caught.value)
    assert message.startswith(variable) and "\n" not in message
    assert "set" in message or "use" in message  # says what to do


@pytest.mark.parametrize(
    "secret",
    [
        "dev_secret_change_in_production",
        "changeme",
        "short-but-random-9f3k",
        "a" * 40,
        "CHANGE_ME_please_to_something_long_1234567",
    ],
)
def test_production_refuses_weak_secrets(secret: str) -> None:
    env = {**GOOD, "APP_ENV": "production", "JWT_SECRET": secret}
    with pytest.raises(ConfigError, match="^JWT_SECRET"):
        Config.from_env(env)
    # outside production the same secret is accepted (developers' machines)
    assert Config.from_env({**env, "APP_ENV": "development"}).jwt_secret == secret


def test_production_accepts_a_strong_secret() -> None:
    assert Config.from_env({**GOOD, "APP_ENV": "production"}).app_env == "production"


def test_versions_parse() -> None:
    assert parse_version("1.4.0") == parse_version("v1.4") == (1, 4)
    assert parse_version("2.0.1-beta (77)") == (2, 0, 1)
    assert parse_version("1.10") > parse_version("1.9")
    assert parse_version("beta") is None


def test_python_m_server_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update({"JWT_SECRET": GOOD["JWT_SECRET"], "LOG_DIR": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-m", "server"],
        cwd=ROOT,
        env=env,
        timeout=60,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL is not set" in lines[0], lines
