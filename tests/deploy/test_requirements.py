"""The image installs deploy/requirements.txt, not pyproject.toml (no Textual, docker SDK or
watchfiles in production). A library server/ starts importing must land there too, with the
same version range as pyproject.toml, or the image builds and then fails at import."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> dict[str, str]:
    lines = (ROOT / "deploy" / "requirements.txt").read_text().splitlines()
    return {
        _name(line): line.strip() for line in lines if line.strip() and not line.startswith("#")
    }


def _server_imports() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        if path.name == "gunicorn_conf.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "server"}


def _with_dependencies(names: set[str]) -> set[str]:
    """The distributions and everything they install (extras and markers aside)."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        pending += [_name(r) for r in requires if "extra ==" not in r]
    return seen


def test_every_library_the_server_imports_is_in_the_image_requirements() -> None:
    distributions = importlib.metadata.packages_distributions()
    listed = _with_dependencies(set(_requirements()))
    missing = {}
    for module in sorted(_server_imports()):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & listed:
            missing[module] = sorted(names)
    assert not missing, f"server/ imports these, deploy/requirements.txt lacks them: {missing}"


def test_image_requirements_use_pyprojects_version_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ranges = {_name(r): r.replace(" ", "") for r in project}
    for name, line in _requirements().items():
        assert name in ranges, f"{name} is in deploy/requirements.txt but not in pyproject.toml"
        assert line.replace(" ", "") == ranges[name], f"{name}: {line} vs {ranges[name]}"
