"""Checks of the toolchain and of .env: Python, dependencies, Node.js, .env contents and mode."""

from __future__ import annotations

import re
import stat
import tomllib
from typing import Any

from devkit.doctor.model import CheckResult, DoctorContext

REINSTALL = "reinstall the project: .venv/bin/pip install -e . (./scripts/dev does it when pyproject.toml changes)"
REQUIRED_VARS = ("JWT_SECRET", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "DATABASE_URL")
WEAK_SECRETS = {
    "dev_secret_change_in_production",
    "change_me",
    "changeme",
    "secret",
    "password",
    "postgres",
    "aios",
    "test",
    "admin",
    "123456",
}
try:  # one list with `devkit up`'s own warnings
    from devkit.settings.envfile import MIN_JWT_SECRET, WEAK_VALUES

    WEAK_SECRETS |= {v for v in WEAK_VALUES if v}
except ImportError:  # pragma: no cover
    MIN_JWT_SECRET = 32
NEW_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def _pyproject(ctx: DoctorContext) -> dict[str, Any]:
    path = ctx.settings.root / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


def check_python(ctx: DoctorContext) -> CheckResult:
    required = str(_pyproject(ctx).get("requires-python", ">=3.11"))
    have = ".".join(str(n) for n in ctx.python_version)
    match = re.search(r">=\s*([\d.]+)", required)
    minimum = _version_tuple(match.group(1)) if match else (3, 11)
    if tuple(ctx.python_version) >= minimum:
        return CheckResult("python", "pass", f"Python {have} (project needs {required})")
    return CheckResult(
        "python",
        "fail",
        f"Python {have} is older than the project needs ({required})",
        "install a newer Python and recreate .venv (rm -rf .venv; "
        "./scripts/dev), or set DEVKIT_PYTHON to it",
    )


def _requirement(line: str) -> tuple[str, Any, bool]:
    """(name, specifier or None, applies here) using packaging when available."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        name = re.match(r"\s*([A-Za-z0-9._-]+)", line)
        return (name.group(1) if name else line), None, True
    req = Requirement(line)
    applies = req.marker.evaluate() if req.marker else True
    return req.name, req.specifier, applies


def check_dependencies(ctx: DoctorContext) -> CheckResult:
    missing: list[str] = []
    wrong: list[str] = []
    count = 0
    for line in _pyproject(ctx).get("dependencies", []):
        name, specifier, applies = _requirement(str(line))
        if not applies:
            continue
        count += 1
        version = ctx.dist_version(name)
        if version is None:
            missing.append(name)
        elif (
            specifier is not None
            and specifier
            and not specifier.contains(version, prereleases=True)
        ):
            wrong.append(f"{name} {version} (needs {specifier})")
    if not missing and not wrong:
        return CheckResult("dependencies", "pass", f"{count} required packages installed")
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (
        [f"wrong version: {', '.join(wrong)}"] if wrong else []
    )
    return CheckResult("dependencies", "fail", "; ".join(parts), REINSTALL)


def check_node(ctx: DoctorContext) -> CheckResult:
    client = ctx.settings.client_dir
    if not client.is_dir():
        return CheckResult("node", "skip", f"no {client.name}/ folder: Metro does not run")
    node = ctx.version_of(["node", "--version"])
    if node is None:
        return CheckResult(
            "node",
            "fail",
            "Node.js not found (Metro needs Node.js 18 or newer)",
            "install Node.js 18+ (https://nodejs.org, nvm, or apt-get install nodejs)",
        )
    major = (_version_tuple(node) or (0,))[0]
    if major < 18:
        return CheckResult(
            "node",
            "fail",
            f"Node.js {node} is too old (Metro needs 18+)",
            "install Node.js 18 or newer (nvm install 20)",
        )
    npm = ctx.version_of(["npm", "--version"])
    if npm is None:
        return CheckResult(
            "node",
            "fail",
            f"Node.js {node}, but npm/npx not found",
            "install npm (apt-get install npm, or reinstall Node.js)",
        )
    return CheckResult("node", "pass", f"Node.js {node}, npm {npm}")


def check_client_deps(ctx: DoctorContext) -> CheckResult:
    from devkit.host.node import client_deps_problem

    client = ctx.settings.client_dir
    if not (client / "package.json").is_file():
        return CheckResult("client-deps", "skip", f"no {client.name}/package.json")
    problem = client_deps_problem(client)
    if problem:
        what, _, fix = problem.rpartition(": ")
        return CheckResult("client-deps", "fail", what, fix)
    return CheckResult("client-deps", "pass", f"{client.name}/node_modules has the app's packages")


# --- .env --------------------------------------------------------------------------------------
def check_env_file(ctx: DoctorContext) -> CheckResult:
    path = ctx.settings.env_file
    if path.is_file():
        return CheckResult("env-file", "pass", f"{path.name} present")
    return CheckResult(
        "env-file",
        "fail",
        f"{path} does not exist",
        "run devkit up (creates it from .env.example with fresh secrets) or cp .env.example .env",
    )


def check_env_required(ctx: DoctorContext) -> CheckResult:
    if not ctx.settings.env_file.is_file() or ctx.config_error:
        return CheckResult(
            "env-required",
            "skip",
            "no .env" if not ctx.config_error else "settings unreadable (see config)",
        )
    missing = [name for name in REQUIRED_VARS if not ctx.settings.env_value(name)]
    if not missing:
        return CheckResult("env-required", "pass", f"{', '.join(REQUIRED_VARS)} set")
    return CheckResult(
        "env-required",
        "fail",
        f"not set in .env: {', '.join(missing)}",
        f"set {', '.join(missing)} in .env (see .env.example for each)",
    )


def check_env_secrets(ctx: DoctorContext) -> CheckResult:
    if not ctx.settings.env_file.is_file() or ctx.config_error:
        return CheckResult(
            "env-secrets",
            "skip",
            "no .env" if not ctx.config_error else "settings unreadable (see config)",
        )
    problems: list[str] = []
    fixes: list[str] = []
    jwt = ctx.settings.env_value("JWT_SECRET")
    if jwt and (jwt.lower() in WEAK_SECRETS or len(jwt) < MIN_JWT_SECRET):
        problems.append("JWT_SECRET is a default or shorter than 32 characters")
        fixes.append(f"set JWT_SECRET in .env to the output of {NEW_SECRET}")
    password = ctx.settings.env_value("POSTGRES_PASSWORD")
    if password and password.lower() in WEAK_SECRETS:
        problems.append("POSTGRES_PASSWORD is a well-known default")
        fixes.append(
            "set POSTGRES_PASSWORD to a random value (an existing database also needs "
            "ALTER USER ... PASSWORD, or devkit db reset)"
        )
    if not problems:
        return CheckResult("env-secrets", "pass", "no default or short secrets")
    return CheckResult("env-secrets", "fail", "; ".join(problems), "; ".join(fixes))


def check_env_mode(ctx: DoctorContext) -> CheckResult:
    path = ctx.settings.env_file
    if not path.is_file():
        return CheckResult("env-mode", "skip", "no .env")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & stat.S_IROTH:
        return CheckResult(
            "env-mode",
            "fail",
            f".env is readable by every user (mode {mode:o})",
            f"chmod 600 {path}",
        )
    return CheckResult("env-mode", "pass", f".env mode {mode:o}")
