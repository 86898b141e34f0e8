"""`devkit deploy secrets`: the commands that create the production secrets from an env file.

The printed commands never contain a value: each reads it when it runs, through
`devkit deploy secret-value NAME`, which refuses to write to a terminal. So the commands can be
pasted, logged or reviewed without leaking anything.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from devkit.errors import DevkitError
from devkit.settings.config import read_env_file

MIN_JWT_SECRET = 32
K8S_SECRET = "aios-secrets"
K8S_TLS_SECRET = "aios-tls"


@dataclass(frozen=True)
class SecretSpec:
    variable: str  # in the env file
    docker_name: str  # Docker secret (deploy/stack.yml)
    k8s_key: str | None  # key in the aios-secrets Kubernetes secret (None: not used there)


SECRETS = (
    SecretSpec("DATABASE_URL", "aios_database_url", "database-url"),
    SecretSpec("JWT_SECRET", "aios_jwt_secret", "jwt-secret"),
    SecretSpec("POSTGRES_PASSWORD", "aios_postgres_password", None),
)


def load_values(env_file: Path) -> dict[str, str]:
    """The secret variables of `env_file`, checked: present, non-empty, strong enough."""
    if not env_file.is_file():
        raise DevkitError(
            f"no env file at {env_file}",
            "copy .env.example to .env.production and set DATABASE_URL, JWT_SECRET and "
            "POSTGRES_PASSWORD for production",
        )
    values = read_env_file(env_file)
    missing = [s.variable for s in SECRETS if not values.get(s.variable, "").strip()]
    if missing:
        raise DevkitError(
            f"{env_file.name} does not set " + ", ".join(missing), f"set them in {env_file}"
        )
    jwt = values["JWT_SECRET"]
    if len(jwt) < MIN_JWT_SECRET or "change" in jwt.lower():
        raise DevkitError(
            f"JWT_SECRET in {env_file.name} is too weak for production",
            "set at least 32 random characters: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'",
        )
    return {s.variable: values[s.variable] for s in SECRETS}


def warnings_for(values: dict[str, str]) -> list[str]:
    url = values["DATABASE_URL"]
    notes = []
    if "@127.0.0.1" in url or "@localhost" in url:
        notes.append(
            "DATABASE_URL points at this machine: inside the Swarm stack the database is "
            "`postgres` (postgresql://aios:PASSWORD@postgres:5432/aios)"
        )
    if values["POSTGRES_PASSWORD"] not in url:
        notes.append("DATABASE_URL does not contain POSTGRES_PASSWORD: the API will not log in")
    return notes


def _value_command(env_file: Path, variable: str) -> str:
    return f"devkit deploy secret-value --env-file {shlex.quote(str(env_file))} {variable}"


def docker_commands(env_file: Path, tls_cert: str, tls_key: str) -> list[str]:
    lines = [
        f"{_value_command(env_file, s.variable)} | docker secret create {s.docker_name} -"
        for s in SECRETS
    ]
    lines += [
        f"docker secret create aios_tls_crt {shlex.quote(tls_cert)}",
        f"docker secret create aios_tls_key {shlex.quote(tls_key)}",
    ]
    return lines


def k8s_commands(env_file: Path, tls_cert: str, tls_key: str, namespace: str = "aios") -> list[str]:
    files = " ".join(
        f"--from-file={s.k8s_key}=<({_value_command(env_file, s.variable)})"
        for s in SECRETS
        if s.k8s_key
    )
    return [
        f"kubectl create namespace {namespace} --dry-run=client -o yaml | kubectl apply -f -",
        f"kubectl -n {namespace} create secret generic {K8S_SECRET} {files}",
        f"kubectl -n {namespace} create secret tls {K8S_TLS_SECRET} "
        f"--cert={shlex.quote(tls_cert)} --key={shlex.quote(tls_key)}",
    ]


def secret_value(env_file: Path, variable: str) -> str:
    known = {s.variable for s in SECRETS}
    if variable not in known:
        raise DevkitError(
            f"{variable} is not one of the deploy secrets", "use one of " + ", ".join(sorted(known))
        )
    return load_values(env_file)[variable]
