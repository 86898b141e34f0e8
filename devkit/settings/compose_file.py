"""Read one service of compose/docker-compose.yml the way Docker Compose would.

The compose file is the single source of truth for the docker backend: image, environment,
ports, volumes, healthcheck and stop signal come from it, with `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:?error}` and `$$` interpolated from the environment given (devkit
passes .env overlaid by the shell environment, Compose's own precedence).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.errors import ConfigError

_VAR = re.compile(
    r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}"
    r"|([A-Za-z_][A-Za-z0-9_]*))"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


@dataclass(frozen=True)
class PortMapping:
    host_ip: str
    host_port: int | None
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class VolumeMount:
    source: str  # a named volume (as in the file, unprefixed) or a host path
    target: str
    named: bool
    read_only: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    retries: int = 0
    start_period_ns: int = 0

    def docker_sdk(self) -> dict[str, Any]:
        """The `healthcheck=` argument of docker SDK containers.create/run."""
        out: dict[str, Any] = {"test": list(self.test)}
        for key, value in (
            ("interval", self.interval_ns),
            ("timeout", self.timeout_ns),
            ("retries", self.retries),
            ("start_period", self.start_period_ns),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class ComposeService:
    name: str
    image: str
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    healthcheck: Healthcheck | None = None
    stop_signal: str | None = None
    command: tuple[str, ...] | None = None
    declared_volumes: tuple[str, ...] = ()  # top-level `volumes:` names

    def published(self, container_port: int) -> PortMapping | None:
        return next((p for p in self.ports if p.container_port == container_port), None)


def interpolate(text: str, env: Mapping[str, str], where: str = "") -> str:
    """Compose-style variable substitution in one string."""

    def replace(match: re.Match[str]) -> str:
        escaped, braced, op, arg, bare = match.groups()
        if escaped:
            return "$"
        name = braced or bare
        value = env.get(name)
        if op is None:
            return value or ""
        arg = interpolate(arg or "", env, where)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise ConfigError(
                f"{where or 'compose file'}: {name} is required: {arg}", f"set {name} in .env"
            )
        return value or ""

    return _VAR.sub(replace, text)


def _walk(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):
        return interpolate(value, env, where)
    if isinstance(value, list):
        return [_walk(v, env, where) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, env, where) for k, v in value.items()}
    return value


def parse_duration(value: Any) -> int:
    """Compose durations ("1s", "1m30s", "500ms", or seconds as a number) in nanoseconds."""
    if isinstance(value, int | float):
        return int(value * 1_000_000_000)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"compose file: {value!r} is not a duration", 'use e.g. "1s" or "500ms"')
    return int(sum(float(n) * _UNIT_NS[u] for n, u in parts))


def _environment(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for item in raw:
        name, _, value = str(item).partition("=")
        out[name] = value
    return out


def _port(raw: Any) -> PortMapping:
    if isinstance(raw, dict):  # long syntax
        return PortMapping(
            str(raw.get("host_ip", "")),
            int(raw["published"]) if raw.get("published") else None,
            int(raw["target"]),
            str(raw.get("protocol", "tcp")),
        )
    text = str(raw)
    text, _, protocol = text.partition("/")
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        host_ip, host, container = parts
    elif len(parts) == 2:
        host_ip, (host, container) = "", parts
    else:
        host_ip, host, container = "", "", parts[0]
    host_ip = host_ip.strip("[]")
    return PortMapping(host_ip, int(host) if host else None, int(container), protocol or "tcp")


def _volume(raw: Any) -> VolumeMount:
    if isinstance(raw, dict):
        source = str(raw.get("source", ""))
        return VolumeMount(
            source,
            str(raw["target"]),
            raw.get("type", "volume") == "volume",
            bool(raw.get("read_only", False)),
        )
    parts = str(raw).split(":")
    if len(parts) == 1:
        return VolumeMount("", parts[0], True)
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) > 2 else "rw"
    named = not source.startswith((".", "/", "~"))
    return VolumeMount(source, target, named, "ro" in mode.split(","))


def _healthcheck(raw: Any) -> Healthcheck | None:
    if not raw or raw.get("disable"):
        return None
    test = raw.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test == ["NONE"]:
        return None
    return Healthcheck(
        test=tuple(str(t) for t in test),
        interval_ns=parse_duration(raw["interval"]) if "interval" in raw else 0,
        timeout_ns=parse_duration(raw["timeout"]) if "timeout" in raw else 0,
        retries=int(raw.get("retries", 0)),
        start_period_ns=parse_duration(raw["start_period"]) if "start_period" in raw else 0,
    )


def load_service(path: Path, service: str, env: Mapping[str, str]) -> ComposeService:
    """The service `service` of the compose file at `path`, interpolated with `env`."""
    import yaml

    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"the compose file {path} does not exist",
            "restore compose/docker-compose.yml, set compose_file in "
            "[tool.devkit], or use --db-backend native",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", f"fix the syntax of {path}") from None
    services = data.get("services") or {}
    if service not in services:
        raise ConfigError(
            f"{path} has no service {service!r}",
            f"add a `{service}:` service or set compose_service in [tool.devkit]",
        )
    raw = _walk(services[service] or {}, env, where)
    if not raw.get("image"):
        raise ConfigError(
            f"{path}: service {service!r} has no image", "add image: (e.g. postgres:15)"
        )
    command = raw.get("command")
    if isinstance(command, str):
        import shlex

        command = shlex.split(command)
    try:
        return ComposeService(
            name=service,
            image=str(raw["image"]),
            environment=_environment(raw.get("environment")),
            ports=tuple(_port(p) for p in raw.get("ports") or ()),
            volumes=tuple(_volume(v) for v in raw.get("volumes") or ()),
            healthcheck=_healthcheck(raw.get("healthcheck")),
            stop_signal=str(raw["stop_signal"]) if raw.get("stop_signal") else None,
            command=tuple(str(c) for c in command) if command else None,
            declared_volumes=tuple(str(v) for v in (data.get("volumes") or {})),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: service {service!r} is malformed: {exc}",
            "compare it with the Compose file reference",
        ) from None
