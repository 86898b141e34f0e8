"""The one `--root` resolution every command uses (devkit/commands/common.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from devkit.commands.common import project_root
from devkit.errors import ConfigError


def test_given_root_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "proj").mkdir()
    monkeypatch.chdir(tmp_path)
    assert project_root(argparse.Namespace(root="proj")) == tmp_path.resolve() / "proj"


def test_without_root_the_nearest_pyproject_upwards_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEVKIT_ROOT", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_root(argparse.Namespace(root=None)) == tmp_path.resolve()
    assert project_root(argparse.Namespace()) == tmp_path.resolve()  # commands without --root


def test_a_missing_root_folder_is_an_error_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        project_root(argparse.Namespace(root=str(tmp_path / "nope")))
    assert "no such folder" in caught.value.message
    assert caught.value.hint
