"""client_deps_problem: are the Expo app's packages installed, judged as Node resolves them."""

from __future__ import annotations

import json
from pathlib import Path

from devkit.host.node import client_deps_problem, install_command


def client(tmp_path: Path, deps: dict[str, str], dev: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "client"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"dependencies": deps, "devDependencies": dev or {}}
    (folder / "package.json").write_text(json.dumps(data))
    return folder


def install(folder: Path, *names: str) -> None:
    for name in names:
        (folder / "node_modules" / name).mkdir(parents=True, exist_ok=True)
        (folder / "node_modules" / name / "package.json").write_text("{}")


def test_no_node_modules_names_the_install_command(tmp_path: Path) -> None:
    folder = client(tmp_path, {"expo": "~57.0.0", "react": "19"})
    problem = client_deps_problem(folder)
    assert (
        problem
        == "the packages of client/ are not installed (no node_modules): run npm install in client/"
    )


def test_missing_packages_are_named_and_scoped_names_resolve(tmp_path: Path) -> None:
    folder = client(tmp_path, {"expo": "1", "@expo/vector-icons": "1", "react": "1"}, {"jest": "1"})
    install(folder, "expo", "@expo/vector-icons")
    problem = client_deps_problem(folder) or ""
    assert "lists packages that are not installed (react, jest)" in problem
    install(folder, "react", "jest")
    assert client_deps_problem(folder) is None


def test_hoisted_workspace_packages_and_yarn_pnp_count_as_installed(tmp_path: Path) -> None:
    folder = client(tmp_path / "repo" / "apps", {"expo": "1"})
    install(tmp_path / "repo", "expo")  # node_modules two levels up, as npm workspaces hoist
    assert client_deps_problem(folder) is None
    pnp = client(tmp_path / "pnp", {"expo": "1"})
    (pnp / ".pnp.cjs").write_text("")
    assert client_deps_problem(pnp) is None


def test_the_lock_file_picks_the_package_manager(tmp_path: Path) -> None:
    folder = client(tmp_path, {"expo": "1"})
    assert install_command(folder) == "npm install"
    (folder / "yarn.lock").write_text("")
    assert install_command(folder) == "yarn install"
    assert "run yarn install in client/" in (client_deps_problem(folder) or "")


def test_nothing_to_judge_is_no_problem(tmp_path: Path) -> None:
    assert client_deps_problem(tmp_path / "absent") is None
    folder = client(tmp_path, {})
    assert client_deps_problem(folder) is None
    (folder / "package.json").write_text("{not json")
    assert client_deps_problem(folder) is None
