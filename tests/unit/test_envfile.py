from __future__ import annotations

import stat
from pathlib import Path

import pytest

from devkit.errors import ConfigError
from devkit.settings.config import read_env_file
from devkit.settings.envfile import ensure_env_file

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_first_run_creates_env_with_fresh_secrets_and_mode_0600(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(EXAMPLE.read_text())
    result = ensure_env_file(tmp_path)
    assert result.created
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = read_env_file(env)
    assert (
        len(values["JWT_SECRET"]) >= 32
        and values["JWT_SECRET"] != "dev_secret_change_in_production"
    )
    assert values["POSTGRES_PASSWORD"] not in ("change_me", "")
    assert values["POSTGRES_PASSWORD"] in values["DATABASE_URL"]  # interpolation still works
    assert "# Port the API listens on" in env.read_text()  # comments kept
    assert result.warnings == []
    other = tmp_path / "other"
    other.mkdir()
    (other / ".env.example").write_text(EXAMPLE.read_text())
    ensure_env_file(other)
    assert read_env_file(other / ".env")["JWT_SECRET"] != values["JWT_SECRET"]


def test_existing_values_are_never_overwritten_and_weak_secrets_warn(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(EXAMPLE.read_text())
    env = tmp_path / ".env"
    env.write_text("JWT_SECRET=dev_secret_change_in_production\nPOSTGRES_PASSWORD=change_me\n")
    env.chmod(0o600)
    before = env.read_text()
    result = ensure_env_file(tmp_path)
    assert not result.created
    assert env.read_text() == before
    assert any("JWT_SECRET" in w for w in result.warnings)
    assert any("POSTGRES_PASSWORD" in w for w in result.warnings)


def test_world_readable_env_with_secrets_warns(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("JWT_SECRET=" + "k" * 48 + "\n")
    env.chmod(0o644)
    result = ensure_env_file(tmp_path)
    assert any("chmod 600" in w for w in result.warnings)


def test_malformed_env_names_the_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=5000\n# fine\nthis is not valid\n")
    with pytest.raises(ConfigError) as info:
        ensure_env_file(tmp_path)
    assert "line 3" in info.value.message
    assert "line 3" in info.value.hint


def test_no_example_and_no_env_is_fine(tmp_path: Path) -> None:
    result = ensure_env_file(tmp_path)
    assert not result.created and not (tmp_path / ".env").exists()
