"""deploy/ checked without an engine: nginx -t (Debian's nginx), the Kubernetes manifests
(kubernetes-validate --strict), the stack file (docker stack config / docker-compose config),
every variable the API requires provided by both, the backup retention, `devkit deploy secrets`."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from server.config import Config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def make_cert(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (apt-get install openssl)")
    crt, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return crt, key


def nginx_binary() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if path is None:
        pytest.skip("nginx is not installed (apt-get install nginx; scripts/test does it as root)")
    return path


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    nginx = nginx_binary()
    crt, key = make_cert(tmp_path)
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    # the same file with the certificate where this test made it (in Swarm: /run/secrets/)
    text = text.replace("/run/secrets/tls_crt", str(crt)).replace("/run/secrets/tls_key", str(key))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    done = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr and "test is successful" in done.stderr


def test_nginx_config_has_the_production_settings() -> None:
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    for needle in (
        "listen 443 ssl http2",
        "return 301 https://$host$request_uri",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "Strict-Transport-Security",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_next_upstream error timeout",
        "proxy_read_timeout",
    ):
        assert needle in text, needle
    assert "TLSv1 " not in text and "TLSv1.1" not in text
    # client_max_body_size matches the API's MAX_BODY_BYTES (stack.yml, k8s configmap)
    stack = yaml.safe_load((DEPLOY / "stack.yml").read_text())
    body = int(stack["services"]["api"]["environment"]["MAX_BODY_BYTES"])
    assert f"client_max_body_size {body // 1024}k;" in text


def kustomize_resources() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def test_k8s_manifests_validate_strictly() -> None:
    import kubernetes_validate

    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, "every manifest is in kustomization.yaml, and only those"
    for generator in kustomization.get("configMapGenerator", []):
        for entry in generator["files"]:
            assert (K8S / entry.split("=")[-1]).is_file()
    kinds = set()
    for doc in kustomize_resources():
        kubernetes_validate.validate(doc, "1.30", strict=True)
        kinds.add(doc["kind"])
    assert {
        "Deployment",
        "Service",
        "Ingress",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "CronJob",
    } <= kinds


def test_k8s_manifests_fail_validation_on_an_unknown_field() -> None:
    import kubernetes_validate

    deployment = next(d for d in kustomize_resources() if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30", strict=True)


def test_k8s_deployment_production_settings() -> None:
    deployment = next(d for d in kustomize_resources() if d["kind"] == "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    api = pod["containers"][0]
    assert spec["replicas"] == 3
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert api["securityContext"]["readOnlyRootFilesystem"] is True
    for probe in ("readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"]["path"] == "/status"
        assert api[probe]["failureThreshold"] >= 1 and api[probe]["periodSeconds"] >= 1
    assert api["resources"]["requests"] and api["resources"]["limits"]
    secret_ref = next(e for e in api["env"] if e["name"] == "DATABASE_URL")["valueFrom"]
    assert secret_ref["secretKeyRef"] == {"name": "aios-secrets", "key": "database-url"}
    ingress = next(d for d in kustomize_resources() if d["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"]


def k8s_api_env() -> dict[str, str]:
    """The API container's environment as Kubernetes would give it (secrets: strong values)."""
    docs = kustomize_resources()
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    api = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in api.get("envFrom", []):
        name = source["configMapRef"]["name"]
        cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name)
        env.update(cm["data"])
    for var in api["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = fake_secret(ref["key"])
    return env


def fake_secret(key: str) -> str:
    if "url" in key:
        return "postgresql://aios:pw@db:5432/aios"
    return secrets.token_urlsafe(48)


def test_k8s_provides_every_variable_the_api_requires() -> None:
    config = Config.from_env(k8s_api_env())  # raises ConfigError naming a missing variable
    assert config.app_env == "production" and config.proxy_hops == 1
    assert config.login_limit_address  # production defaults on
    env = k8s_api_env()
    for required in ("DATABASE_URL", "JWT_SECRET"):
        missing = {k: v for k, v in env.items() if k != required}
        with pytest.raises(Exception, match=required):
            Config.from_env(missing)


def test_stack_provides_every_variable_the_api_requires(tmp_path: Path) -> None:
    stack = yaml.safe_load((DEPLOY / "stack.yml").read_text())
    api = stack["services"]["api"]
    env = {k: str(v) for k, v in api["environment"].items() if "${" not in str(v)}
    # the secrets the stack mounts, at their /run/secrets/ paths
    for name in api["secrets"]:
        path = tmp_path / name
        path.write_text(fake_secret(name))
        env = {k: (str(path) if v == f"/run/secrets/{name}" else v) for k, v in env.items()}
    config = Config.from_env(env)
    assert config.database_url.startswith("postgresql://") and len(config.jwt_secret) >= 32
    # no secret value in the file: every secret is external
    for spec in stack["secrets"].values():
        assert spec["external"] is True


def test_stack_file_passes_docker_config(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    env = {**os.environ, "API_IMAGE": "aios-api:test", "HTTPS_PORT": "8443"}
    if docker is not None:
        done = subprocess.run(
            [docker, "stack", "config", "-c", str(DEPLOY / "stack.yml")],
            capture_output=True,
            text=True,
            env=env,
        )
        if done.returncode == 0:
            rendered = yaml.safe_load(done.stdout)
            assert rendered["services"]["api"]["image"] == "aios-api:test"
            assert rendered["services"]["api"]["deploy"]["update_config"]["order"] == "start-first"
            assert rendered["services"]["nginx"]["ports"][0]["mode"] == "host"
            return
        if "unknown" not in done.stderr and "is not a docker command" not in done.stderr:
            pytest.fail(done.stderr)
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("neither `docker stack config` (docker CLI >= 23) nor docker-compose is here")
    done = subprocess.run(
        [compose, "-f", str(DEPLOY / "stack.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr


def run_backup_script(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(K8S / "backup.sh"), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "BACKUP_DIR": str(tmp_path), **env},
    )


def test_backup_retention_keeps_7_daily_4_weekly_12_monthly(tmp_path: Path) -> None:
    for kind, count in (("daily", 12), ("weekly", 9), ("monthly", 15)):
        (tmp_path / kind).mkdir()
        for i in range(count):
            (tmp_path / kind / f"aios-2026-{1 + i // 28:02d}-{1 + i % 28:02d}.sql.gz").write_text(
                "x"
            )
    (tmp_path / "daily" / "notes.txt").write_text("not a backup")
    done = run_backup_script(tmp_path, "prune")
    assert done.returncode == 0, done.stderr
    kept = {
        k: sorted(p.name for p in (tmp_path / k).iterdir()) for k in ("daily", "weekly", "monthly")
    }
    assert (
        len([n for n in kept["daily"] if n.endswith(".gz")]) == 7 and "notes.txt" in kept["daily"]
    )
    assert kept["daily"][0] == "aios-2026-01-06.sql.gz"  # the oldest five went
    assert len(kept["weekly"]) == 4 and len(kept["monthly"]) == 12


def test_backup_failure_keeps_no_partial_file(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump: error: no server' >&2\nexit 1\n")
    (bin_dir / "pg_dump").chmod(0o755)
    out = tmp_path / "out"
    done = subprocess.run(
        ["sh", str(K8S / "backup.sh"), "once"],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "BACKUP_DIR": str(out)},
    )
    assert done.returncode != 0 and "FAILED" in done.stdout
    assert list(out.rglob("*.gz")) == [] and list(out.rglob(".*partial*")) == []


def devkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devkit", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_deploy_secrets_prints_commands_never_values(tmp_path: Path) -> None:
    password, jwt = secrets.token_urlsafe(18), secrets.token_urlsafe(48)
    env_file = tmp_path / ".env.production"
    env_file.write_text(
        f"POSTGRES_PASSWORD={password}\nJWT_SECRET={jwt}\n"
        "DATABASE_URL=postgresql://aios:${POSTGRES_PASSWORD}@postgres:5432/aios\n"
    )
    for target in ("swarm", "k8s"):
        done = devkit("deploy", "secrets", "--env-file", str(env_file), "--target", target)
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr and jwt not in done.stdout + done.stderr
        assert "secret-value" in done.stdout
    swarm_out = devkit("deploy", "secrets", "--env-file", str(env_file)).stdout
    for name in ("aios_database_url", "aios_jwt_secret", "aios_postgres_password", "aios_tls_crt"):
        assert f"docker secret create {name}" in swarm_out
    # the value reaches a pipe (never a terminal), interpolated like .env
    value = devkit("deploy", "secret-value", "--env-file", str(env_file), "DATABASE_URL")
    assert value.stdout == f"postgresql://aios:{password}@postgres:5432/aios"


def test_deploy_secrets_refuses_a_weak_jwt_secret(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "POSTGRES_PASSWORD=pw\nJWT_SECRET=dev_secret_change_in_production\n"
        "DATABASE_URL=postgresql://aios:pw@postgres/aios\n"
    )
    done = devkit("deploy", "secrets", "--env-file", str(env_file))
    assert done.returncode == 1
    assert "JWT_SECRET" in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stderr
