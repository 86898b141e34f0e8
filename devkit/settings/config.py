"""devkit's settings: `[tool.devkit]` in pyproject.toml plus the variables of `.env`.

Everything is a frozen dataclass; an unknown key is an error that names it. An empty
`[tool.devkit]` table (or none at all) gives working defaults.
"""

from __future__ import annotations

import io
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from devkit.errors import ConfigError

DB_BACKENDS = ("auto", "docker", "native")
RESTART_POLICIES = ("always", "on-failure", "never")
PROBE_KINDS = ("http", "tcp", "exec", "log")

DEFAULT_WATCH_IGNORE = (
    ".venv",
    "venv",
    ".git",
    "__pycache__",
    "node_modules",
    "logs",
    ".devkit",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.pyc",
    "*.log",
    "*.swp",
    "*~",
    ".#*",
)


@dataclass(frozen=True)
class ProbeSettings:
    """Readiness probe of an extra process."""

    kind: str  # http | tcp | exec | log
    target: str  # URL, host:port, shell command, or regex
    interval: float = 1.0
    timeout: float = 2.0
    failure_threshold: int = 3  # consecutive failures before a healthy process shows unhealthy
    success_threshold: int = 1  # consecutive passes before it shows healthy (again)


@dataclass(frozen=True)
class ProcessSettings:
    """An extra process declared under [tool.devkit.processes.NAME]."""

    name: str
    command: str
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    restart: str = "on-failure"
    readiness: ProbeSettings | None = None
    required: bool = False


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Paths are absolute (resolved against `root`)."""

    root: Path
    db_backend: str = "auto"
    compose_file: Path = Path("compose/docker-compose.yml")
    compose_service: str = "postgres"
    state_dir: Path = Path(".devkit")
    api_module: str = "server"
    api_watch: tuple[Path, ...] = (Path("server"),)
    api_watch_ignore: tuple[str, ...] = DEFAULT_WATCH_IGNORE
    api_reload: str = "fork"  # fork (warm parent, fast) | spawn (fresh interpreter each time)
    migrate_on_start: bool = True
    client_dir: Path = Path("client")
    metro_command: str = "npx expo start --port {port}"
    log_buffer_lines: int = 10_000
    shutdown_timeout: float = 10.0
    restart_backoff_max: float = 30.0
    crash_loop_limit: int = 5  # restarts within crash_loop_window before giving up
    crash_loop_window: float = 60.0
    adb_reverse: bool = True
    processes: tuple[ProcessSettings, ...] = ()
    components: tuple[str, ...] = ("postgres", "api", "metro")  # built-ins `up` runs
    env: Mapping[str, str] = field(default_factory=dict)  # values of .env (interpolated)

    # --- values read from .env, with defaults -----------------------------------------
    def env_value(self, name: str, default: str = "") -> str:
        value = self.env.get(name)
        return value if value else default

    def env_int(self, name: str, default: int) -> int:
        raw = self.env_value(name, str(default))
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(
                f"{name}={raw!r} in .env is not a number",
                f"set {name} to a whole number in {self.root / '.env'}",
            ) from None

    def env_port(self, name: str) -> int:
        """A port setting of .env (validated by load_settings; checked again here)."""
        default = PORT_DEFAULTS[name]
        return parse_port(name, self.env_value(name, str(default)), self.root / ".env")

    @property
    def api_port(self) -> int:
        return self.env_port("PORT")

    @property
    def metro_port(self) -> int:
        return self.env_port("METRO_PORT")

    @property
    def postgres_port(self) -> int:
        return self.env_port("POSTGRES_PORT")

    @property
    def database_url(self) -> str:
        return self.env_value("DATABASE_URL")

    @property
    def backup_dir(self) -> Path:
        return self.root / self.env_value("BACKUP_DIR", "backups")

    @property
    def env_file(self) -> Path:
        return self.root / ".env"


_PATH_KEYS = {"compose_file", "state_dir", "client_dir"}
PORT_DEFAULTS = {"PORT": 5000, "METRO_PORT": 8081, "POSTGRES_PORT": 5432}


def parse_port(name: str, raw: str, env_file: Path) -> int:
    """The port in `raw`, or a ConfigError naming the variable, the rule and the fix."""
    default = PORT_DEFAULTS.get(name)
    example = f"e.g. {name}={default}" if default else f"e.g. {name}=8000"
    fix = f"set {name} to a whole number from 1 to 65535 in {env_file} ({example})"
    text = raw.strip()
    if not text.isdigit():
        raise ConfigError(f"{name}={raw!r} in {env_file.name} is not a port number", fix)
    port = int(text)
    if port == 0:
        raise ConfigError(
            f"{name}=0 in {env_file.name}: port 0 means 'any free port', which phones and "
            "the printed URLs cannot point at",
            fix,
        )
    if port > 65535:
        raise ConfigError(
            f"{name}={port} in {env_file.name} is out of range (ports are 1 to 65535)", fix
        )
    return port


def check_ports(env: Mapping[str, str], env_file: Path) -> None:
    """Every port setting of .env, once, for every command (load_settings calls it)."""
    for name in PORT_DEFAULTS:
        if env.get(name):
            parse_port(name, env[name], env_file)


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder upwards with a pyproject.toml (or DEVKIT_ROOT)."""
    if os.environ.get("DEVKIT_ROOT"):
        return Path(os.environ["DEVKIT_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise ConfigError(
        f"no pyproject.toml found in {here} or any folder above it",
        "run devkit from the project's folder (or set DEVKIT_ROOT)",
    )


def _unclosed_quote(value: str) -> str | None:
    """The quote character a value opens and never closes on its line, else None."""
    text = value.lstrip()
    if not text or text[0] not in "'\"":
        return None
    quote, escaped = text[0], False
    for char in text[1:]:
        if escaped:
            escaped = False
        elif char == "\\" and quote == '"':
            escaped = True
        elif char == quote:
            return None
    return quote


def read_env_file(path: Path) -> dict[str, str]:
    """Parse .env with ${VAR} interpolation; a malformed line is a ConfigError naming it.

    Refused rather than guessed: a line that is not NAME=value, and a quote that is not closed
    on its line (python-dotenv would read the following lines into the value, or skip them
    with a warning, and start anyway).
    """
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, value = stripped.partition("=")
        if not sep or not name.strip().replace("_", "a").isalnum() or name.strip()[0].isdigit():
            raise ConfigError(
                f"{path.name} line {number} is not NAME=value: {line.strip()[:60]!r}",
                f"fix or delete line {number} of {path} (compare with .env.example)",
            )
        quote = _unclosed_quote(value)
        if quote:
            raise ConfigError(
                f"{path.name} line {number}: the value of {name.strip()} opens a {quote} "
                "quote that is not closed on that line",
                f"close the quote on line {number} of {path} "
                f"({name.strip()}={quote}...{quote}) or remove it",
            )
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:  # anything else python-dotenv cannot read: refuse, never skip
            number = binding.original.line
            first = binding.original.string.splitlines()[0] if binding.original.string else ""
            raise ConfigError(
                f"{path.name} line {number} cannot be read: {first.strip()[:60]!r}",
                f"fix or delete line {number} of {path} (compare with .env.example)",
            )
    values = dotenv_values(stream=io.StringIO(text), interpolate=True)
    return {key: (value or "") for key, value in values.items()}


def _probe(name: str, raw: Any) -> ProbeSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"[tool.devkit.processes.{name}] readiness must be a table",
            'e.g. readiness = { http = "http://127.0.0.1:3000/" }',
        )
    kinds = [key for key in raw if key in PROBE_KINDS]
    options = ("interval", "timeout", "failure_threshold", "success_threshold")
    unknown = [key for key in raw if key not in (*PROBE_KINDS, *options)]
    if unknown or len(kinds) != 1:
        raise ConfigError(
            f"[tool.devkit.processes.{name}] readiness has {'unknown key ' + unknown[0] if unknown else 'not exactly one probe'}",
            "use exactly one of http, tcp, exec, log "
            "(plus optional interval, timeout, failure_threshold, success_threshold)",
        )
    try:
        return ProbeSettings(
            kind=kinds[0],
            target=str(raw[kinds[0]]),
            interval=float(raw.get("interval", 1.0)),
            timeout=float(raw.get("timeout", 2.0)),
            failure_threshold=int(raw.get("failure_threshold", 3)),
            success_threshold=int(raw.get("success_threshold", 1)),
        )
    except (TypeError, ValueError):
        raise ConfigError(
            f"[tool.devkit.processes.{name}] readiness has a value that is not a number",
            "interval and timeout are seconds; failure_threshold and success_threshold are "
            "whole numbers of consecutive checks",
        ) from None


def _process(name: str, raw: Any) -> ProcessSettings:
    where = f"[tool.devkit.processes.{name}]"
    if not isinstance(raw, Mapping) or "command" not in raw:
        raise ConfigError(f"{where} needs a command", f'add command = "..." under {where}')
    allowed = {f.name for f in fields(ProcessSettings)} - {"name"}
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r} in {where}",
                f"remove it; known keys: {', '.join(sorted(allowed))}",
            )
    restart = str(raw.get("restart", "on-failure"))
    if restart not in RESTART_POLICIES:
        raise ConfigError(
            f"{where} restart = {restart!r} is not a restart policy",
            f"use one of {', '.join(RESTART_POLICIES)}",
        )
    return ProcessSettings(
        name=name,
        command=str(raw["command"]),
        cwd=str(raw.get("cwd", ".")),
        env={str(k): str(v) for k, v in dict(raw.get("env", {})).items()},
        depends_on=tuple(str(d) for d in raw.get("depends_on", ())),
        restart=restart,
        readiness=_probe(name, raw["readiness"]) if "readiness" in raw else None,
        required=bool(raw.get("required", False)),
    )


def load_settings(root: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read pyproject.toml [tool.devkit] and .env under `root`; `overrides` win (CLI flags)."""
    root = (root or find_root()).resolve()
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"pyproject.toml is not valid TOML: {exc}", "fix the syntax error in pyproject.toml"
            ) from None
        table = dict(data.get("tool", {}).get("devkit", {}))
    table.update({k: v for k, v in (overrides or {}).items() if v is not None})

    known = {f.name for f in fields(Settings)} - {"root", "env"}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in known:
            raise ConfigError(
                f"unknown key {key!r} in [tool.devkit]",
                f"remove it or use one of: {', '.join(sorted(known))}",
            )
        if key == "processes":
            if not isinstance(raw, Mapping):
                raise ConfigError(
                    "[tool.devkit] processes must be a table of tables",
                    "declare each as [tool.devkit.processes.NAME]",
                )
            values[key] = tuple(_process(str(n), spec) for n, spec in raw.items())
        elif key in _PATH_KEYS:
            values[key] = Path(str(raw))
        elif key == "api_watch":
            values[key] = tuple(Path(str(p)) for p in raw)
        elif key == "api_watch_ignore":
            values[key] = tuple(str(p) for p in raw)
        elif key == "components":
            values[key] = tuple(str(p) for p in raw)
        else:
            values[key] = raw

    env = read_env_file(root / ".env")
    check_ports(env, root / ".env")
    settings = Settings(root=root, env=env, **values)
    if settings.db_backend not in DB_BACKENDS:
        raise ConfigError(
            f"db_backend = {settings.db_backend!r} is not a backend",
            f"use one of {', '.join(DB_BACKENDS)}",
        )
    if settings.api_reload not in ("fork", "spawn"):
        raise ConfigError(
            f"api_reload = {settings.api_reload!r} is not a reload mode", "use fork (fast) or spawn"
        )
    return _absolute(settings)


def _absolute(settings: Settings) -> Settings:
    from dataclasses import replace

    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else settings.root / path

    return replace(
        settings,
        compose_file=resolve(settings.compose_file),
        state_dir=resolve(settings.state_dir),
        client_dir=resolve(settings.client_dir),
        api_watch=tuple(resolve(p) for p in settings.api_watch),
    )
