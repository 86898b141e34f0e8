"""Facts about the Expo client folder that Metro needs before it can start.

`client_deps_problem` is shared by `devkit doctor` and the Metro service's pre-start check, so
both say the same thing: without node_modules, npx refuses ("npx canceled due to missing
packages") and Metro would crash-loop with no hint.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_NAMED = 3


def client_deps_problem(client_dir: Path) -> str | None:
    """What is missing for `npx expo start` in client_dir (the fix included), or None.

    None also when there is nothing to check (no client/ or no package.json).
    """
    package = client_dir / "package.json"
    if not package.is_file():
        return None
    fix = f"run npm install in {client_dir.name}/ (cd {client_dir} && npm install)"
    modules = client_dir / "node_modules"
    if not modules.is_dir():
        return f"{client_dir.name}/ has no node_modules (its packages are not installed): {fix}"
    try:
        data = json.loads(package.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{package} cannot be read ({exc}): fix it, then {fix}"
    wanted = data.get("dependencies") if isinstance(data, dict) else None
    names = [str(n) for n in wanted] if isinstance(wanted, dict) else []
    missing = [n for n in names if not (modules / n / "package.json").is_file()]
    if missing:
        shown = ", ".join(missing[:MAX_NAMED]) + (" ..." if len(missing) > MAX_NAMED else "")
        return (
            f"{len(missing)} package(s) of {client_dir.name}/package.json are not in "
            f"node_modules ({shown}): {fix}"
        )
    return None
