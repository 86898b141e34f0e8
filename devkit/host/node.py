"""Is the Expo app's client folder installed? Shared by Metro's start and `devkit doctor`.

`npx expo start` in a folder whose packages were never installed does not say so: npx asks
whether to download `expo`, finds no terminal to ask on and exits ("npx canceled due to
missing packages and no YES option"), which a supervisor can only see as a crash loop. So
devkit resolves every package of package.json the way Node does (node_modules in the folder
or any parent, for workspaces with hoisted packages) before it starts Metro.
"""

from __future__ import annotations

import json
from pathlib import Path

# lock file -> the install command of the package manager that wrote it (first match wins)
_LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm install"),
    ("yarn.lock", "yarn install"),
    ("bun.lockb", "bun install"),
    ("bun.lock", "bun install"),
    ("package-lock.json", "npm install"),
)
_PNP_FILES = (".pnp.cjs", ".pnp.js")  # Yarn Plug'n'Play: no node_modules by design
MAX_NAMED = 3


def install_command(client_dir: Path) -> str:
    """The command that installs the client's packages, after its lock file (npm by default)."""
    for folder in (client_dir, *client_dir.parents):
        for lockfile, command in _LOCKFILES:
            if (folder / lockfile).is_file():
                return command
        if (folder / ".git").exists():
            break
    return "npm install"


def _resolvable(client_dir: Path, package: str) -> bool:
    return any(
        (folder / "node_modules" / package / "package.json").is_file()
        for folder in (client_dir, *client_dir.parents)
    )


def _uses_pnp(client_dir: Path) -> bool:
    return any(
        (folder / name).is_file()
        for folder in (client_dir, *client_dir.parents)
        for name in _PNP_FILES
    )


def client_deps_problem(client_dir: Path) -> str | None:
    """Why the client's packages are not installed (naming the fix), or None when they are
    (or when there is no package.json to judge by: that is expo_project_reason's job)."""
    try:
        data = json.loads((client_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or _uses_pnp(client_dir):
        return None
    names: list[str] = []
    for key in ("dependencies", "devDependencies"):
        section = data.get(key)
        if isinstance(section, dict):
            names += [name for name in section if isinstance(name, str)]
    if not names:
        return None
    missing = [name for name in dict.fromkeys(names) if not _resolvable(client_dir, name)]
    if not missing:
        return None
    folder = client_dir.name or str(client_dir)
    fix = f"run {install_command(client_dir)} in {folder}/"
    if not any((d / "node_modules").is_dir() for d in (client_dir, *client_dir.parents)):
        return f"the packages of {folder}/ are not installed (no node_modules): {fix}"
    named = ", ".join(missing[:MAX_NAMED]) + (
        f" and {len(missing) - MAX_NAMED} more" if len(missing) > MAX_NAMED else ""
    )
    return f"{folder}/package.json lists packages that are not installed ({named}): {fix}"
