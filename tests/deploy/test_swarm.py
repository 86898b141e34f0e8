"""deploy/stack.yml on a real Docker Swarm (one node, private engine), all images built here.

One stack is deployed for the module (plain `docker stack deploy`), then: /status, the redirect,
the register/login/notes flow and the client's address through nginx with TLS; the backup
written by the backup service; and four faults, each under a bounded request loop through nginx
that counts failed requests: an API container killed, a rolling update, an image whose /status
fails (rolled back), PostgreSQL killed. Everything is removed afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.deploy.engine import (
    NGINX_IMAGE,
    PG_IMAGE,
    ROOT,
    LoadLoop,
    build_images,
    docker,
    require_engine,
)
from tests.deploy.test_deploy_files import make_cert
from tests.support.ports import free_port
from tests.support.wait import wait_for

# setup builds the images and deploys the stack: longer than the default per-test timeout
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

STACK = "aiostest"
API = f"{STACK}_api"
IMAGE_V1, IMAGE_V2, IMAGE_BROKEN = "aios-api:test-1", "aios-api:test-2", "aios-api:test-broken"
SECRET_NAMES = (
    "aios_database_url",
    "aios_jwt_secret",
    "aios_postgres_password",
    "aios_tls_crt",
    "aios_tls_key",
)
NODE_LABEL = "devkit.test-swarm"
FIGURES: dict[str, str] = {}


@dataclass
class Stack:
    https: str
    http: str
    env: dict[str, str]
    ca: Path  # the self-signed certificate nginx serves (make_cert in create_secrets)
    token: str = ""
    notes: list[int] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.https, verify=False, timeout=15)


def swarm_state() -> str:
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


def own_swarm() -> bool:
    """Init a one-node swarm on 127.0.0.1, or reuse one a previous run of these tests left;
    never join or change anybody else's swarm. True when this run created it."""
    if swarm_state() == "active":
        labels = docker("node", "inspect", "self", "--format", "{{json .Spec.Labels}}").stdout
        if NODE_LABEL not in labels:
            pytest.skip(
                "this engine is part of a swarm these tests did not create: use a "
                "private engine (scripts/docker-engine start)"
            )
        return False
    docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    try:
        docker("node", "update", "--label-add", f"{NODE_LABEL}=1", node)
    except AssertionError:
        docker("swarm", "leave", "--force", check=False)
        raise
    return True


def create_secrets(tmp: Path) -> None:
    for name in SECRET_NAMES:
        docker("secret", "rm", name, check=False)
    password = secrets.token_urlsafe(18)
    values = {
        "aios_postgres_password": password,
        "aios_database_url": f"postgresql://aios:{password}@postgres:5432/aios",
        "aios_jwt_secret": secrets.token_urlsafe(48),
    }
    for name, value in values.items():
        docker("secret", "create", name, "-", input_text=value)
    crt, key = make_cert(tmp)
    docker("secret", "create", "aios_tls_crt", str(crt))
    docker("secret", "create", "aios_tls_key", str(key))


def service_tasks(service: str) -> list[dict]:
    out = docker(
        "service",
        "ps",
        service,
        "--filter",
        "desired-state=running",
        "--format",
        "{{json .}}",
        "--no-trunc",
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def running_images(service: str) -> list[str]:
    return [t["Image"] for t in service_tasks(service) if t["CurrentState"].startswith("Running")]


def containers(service: str) -> list[str]:
    out = docker(
        "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={service}"
    ).stdout
    return out.split()


def explain(service: str) -> str:
    """What Swarm says about a service: for failure messages."""
    tasks = docker(
        "service",
        "ps",
        service,
        "--no-trunc",
        "--format",
        "{{.Name}} {{.Image}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
        check=False,
    ).stdout
    update = docker(
        "service", "inspect", "-f", "{{json .UpdateStatus}}", service, check=False
    ).stdout
    return f"update status: {update.strip()}\ntasks:\n{tasks}"


def wait_service(condition: object, service: str, timeout: float, what: str) -> None:
    try:
        wait_for(condition, timeout=timeout, interval=1, what=what)  # type: ignore[arg-type]
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{explain(service)}") from None


def nginx_errors() -> str:
    """nginx's error lines, counted by reason: for failure messages."""
    lines = docker("service", "logs", "--raw", f"{STACK}_nginx", check=False, timeout=60).stderr
    reasons: dict[str, int] = {}
    for line in lines.splitlines():
        if "[error]" in line:
            reason = re.sub(r"^\s*\d+#\d+: \*\d+ ", "", line.split("[error]", 1)[1])
            reason = re.sub(r"\d+\.\d+\.\d+\.\d+(:\d+)?", "ADDR", reason.split(", client:")[0])
            reasons[reason] = reasons.get(reason, 0) + 1
    return f"nginx errors: {reasons}"


def status_ok(url: str) -> bool:
    return httpx.get(url + "/status", verify=False, timeout=5).status_code == 200


def remove_stack(volumes: bool = True) -> None:
    docker("stack", "rm", STACK, check=False)
    wait_for(
        lambda: (
            not docker(
                "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}"
            ).stdout.strip()
        ),
        timeout=120,
        interval=0.5,
        what="the stack's containers to go",
    )
    wait_for(
        lambda: f"{STACK}_backend" not in docker("network", "ls", "--format", "{{.Name}}").stdout,
        timeout=60,
        interval=0.5,
        what="the stack's network to go",
    )
    if volumes:
        for volume in (f"{STACK}_pgdata", f"{STACK}_backups"):
            docker("volume", "rm", "-f", volume, check=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_engine()
    build_images(IMAGE_V1)
    docker("tag", IMAGE_V1, IMAGE_V2)
    created = own_swarm()
    tmp = tmp_path_factory.mktemp("swarm")
    https_port, http_port = free_port(), free_port()
    env = {
        "API_IMAGE": IMAGE_V1,
        "NGINX_IMAGE": NGINX_IMAGE,
        "POSTGRES_IMAGE": PG_IMAGE,
        "HTTPS_PORT": str(https_port),
        "HTTP_PORT": str(http_port),
        "API_HEALTH_INTERVAL": "3s",
        "API_UPDATE_DELAY": "1s",
        "API_UPDATE_MONITOR": "5s",
        "GUNICORN_WORKERS": "1",
        "BACKUP_ON_START": "1",
        "MIN_APP_VERSION": "1.0.0",  # the seed's version gate, checked by devkit verify
    }
    try:
        remove_stack()  # a previous run's leftovers
        create_secrets(tmp)
        started = time.monotonic()
        docker(
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            str(ROOT / "deploy" / "stack.yml"),
            STACK,
            env=env,
        )
        https = f"https://127.0.0.1:{https_port}"
        wait_for(
            lambda: len(running_images(API)) == 3 and status_ok(https),
            timeout=240,
            interval=0.5,
            what="3 healthy api tasks answering through nginx",
        )
        FIGURES["deploy -> 3 healthy api tasks through nginx"] = (
            f"{time.monotonic() - started:.1f} s"
        )
        yield Stack(https=https, http=f"http://127.0.0.1:{http_port}", env=env, ca=tmp / "tls.crt")
    finally:
        remove_stack()
        for name in SECRET_NAMES:
            docker("secret", "rm", name, check=False)
        if created:
            docker("swarm", "leave", "--force", check=False)
            docker("network", "rm", "docker_gwbridge", check=False)
        for tag in (IMAGE_V2, IMAGE_BROKEN):
            docker("image", "rm", tag, check=False)
        print("\n" + "\n".join(f"FIGURE {k}: {v}" for k, v in FIGURES.items()), file=sys.stderr)


def test_status_through_nginx_and_http_redirects(stack: Stack) -> None:
    response = httpx.get(stack.https + "/status", verify=False)
    assert response.status_code == 200 and response.json()["db"] == "ok"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    redirect = httpx.get(stack.http + "/status?x=1")
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://127.0.0.1/status?x=1"


def test_register_login_notes_flow(stack: Stack) -> None:
    with stack.client() as client:
        creds = {"username": f"u{uuid.uuid4().hex[:8]}", "password": "a long password 1"}
        assert client.post("/api/v1/auth/register", json=creds).status_code == 201
        login = client.post("/api/v1/auth/login", json=creds)
        assert login.status_code == 200
        stack.token = login.json()["token"]
        auth = {"Authorization": f"Bearer {stack.token}"}
        created = client.post(
            "/api/v1/notes", json={"title": "kept", "body": "across faults"}, headers=auth
        )
        assert created.status_code == 201, created.text
        stack.notes.append(created.json()["id"])
        listed = client.get("/api/v1/notes", headers=auth).json()
        assert "kept" in json.dumps(listed)
        # production: wrong passwords are limited per username (5/minute) with Retry-After
        # 3 replicas, each counting on its own (memory storage): at most 3 x 5 get through
        wrong = {"username": creds["username"], "password": "wrong password"}
        answers = [client.post("/api/v1/auth/login", json=wrong) for _ in range(20)]
        statuses = [r.status_code for r in answers]
        assert set(statuses) == {401, 429} and statuses.count(401) <= 15, statuses
        limited = next(r for r in answers if r.status_code == 429)
        assert int(limited.headers["retry-after"]) > 0


def test_devkit_verify_checks_the_stack(stack: Stack) -> None:
    """The seed's production checklist (`devkit verify`, issue 11) against the real stack. Every
    check passes but the certificate's lifetime: the test certificate is valid for 2 days, under
    verify's 7-day failure mark, and verify must say so (exit 1)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "devkit",
            "verify",
            stack.https,
            "--ca-file",
            str(stack.ca),
            "--http-port",
            stack.env["HTTP_PORT"],
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    report = json.loads(done.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    FIGURES["devkit verify on the stack"] = "; ".join(
        f"{name} {c['status']} ({c['detail']})" for name, c in checks.items()
    )
    assert done.returncode == 1, done.stderr
    assert checks["tls-certificate"]["status"] == "fail", checks["tls-certificate"]
    for name in ("status", "https-redirect", "hsts", "login", "version-gate", "latency"):
        assert checks[name]["status"] == "pass", checks[name]


def service_log_lines(service: str) -> list[str]:
    return (
        docker("service", "logs", "--raw", service, timeout=60).stdout.splitlines()
        + docker("service", "logs", "--raw", service, timeout=60).stderr.splitlines()
    )


def test_client_address_reaches_the_api_access_log(stack: Stack) -> None:
    rid = uuid.uuid4().hex
    spoofed = "203.0.113.99"
    response = httpx.get(
        stack.https + "/status",
        verify=False,
        headers={"X-Request-ID": rid, "X-Forwarded-For": spoofed},
    )
    assert response.status_code == 200

    def api_entry() -> dict | None:
        for line in service_log_lines(API):
            if rid in line and line.startswith("{"):
                return json.loads(line)
        return None

    def nginx_addr() -> str | None:
        for line in service_log_lines(f"{STACK}_nginx"):
            if f"rid={rid}" in line:
                return line.split()[0]
        return None

    entry = wait_for(api_entry, timeout=30, interval=0.5, what="the API's access line")
    seen_by_nginx = wait_for(nginx_addr, timeout=30, interval=0.5, what="nginx's access line")
    nginx_ips = docker(
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        *containers(f"{STACK}_nginx"),
    ).stdout.split()
    assert entry["remote_addr"] == seen_by_nginx  # the client nginx saw, not nginx
    assert entry["remote_addr"] != spoofed and entry["remote_addr"] not in nginx_ips


def test_three_api_tasks_and_devkit_status(stack: Stack) -> None:
    assert running_images(API) == [IMAGE_V1] * 3
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "deploy", "swarm", "status", "--stack", STACK],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{API}" in done.stdout and "3/3" in done.stdout


def test_backup_service_writes_a_gzipped_dump(stack: Stack) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    path = f"/backups/daily/aios-{today}.sql.gz"

    def written() -> bool:
        ids = containers(f"{STACK}_backup")
        return bool(ids) and docker("exec", ids[0], "ls", path, check=False).returncode == 0

    # the backup taken when the service started (the database may have been empty then) ...
    wait_for(written, timeout=120, interval=1, what=f"{path} in the backup volume")
    backup = containers(f"{STACK}_backup")[0]
    # ... and one now, by the same script in the same container, with the flow's data in it
    again = docker("exec", backup, "/bin/sh", "/usr/local/bin/aios-backup", "once")
    assert f"wrote {path}" in again.stdout
    dump = docker("exec", backup, "gzip", "-dc", path).stdout
    assert "CREATE TABLE public.notes" in dump and "PostgreSQL database dump complete" in dump
    assert "across faults" in dump  # the note test_register_login_notes_flow committed


def update_state() -> str:
    return docker("service", "inspect", "-f", "{{.UpdateStatus.State}}", API).stdout.strip()


def fault_loop(stack: Stack, **kwargs: object) -> LoadLoop:
    return LoadLoop(
        stack.https,
        paths=("/status", "/api/v1/notes"),
        headers={"Authorization": f"Bearer {stack.token}"},
        **kwargs,
    )  # type: ignore[arg-type]


def test_kill_one_api_container(stack: Stack) -> None:
    with fault_loop(stack) as loop:
        wait_for(lambda: loop.total >= 20, timeout=60, what="the loop to warm up")
        victim = containers(API)[0]
        task = docker(
            "inspect", "-f", '{{index .Config.Labels "com.docker.swarm.task.id"}}', victim
        ).stdout.strip()
        killed_at = time.monotonic()
        docker("kill", "-s", "KILL", victim)

        def replaced() -> bool:
            running = [t for t in service_tasks(API) if t["CurrentState"].startswith("Running")]
            return len(running) == 3 and task not in {t["ID"] for t in running}

        wait_service(replaced, API, 120, "a new task in place of the killed one")
        replaced_after = time.monotonic() - killed_at
        # and past nginx's DNS cache (valid=5s) of the killed task's address
        mark = loop.total
        wait_for(lambda: loop.total >= mark + 100, timeout=60, what="requests after the recovery")
    FIGURES["kill -9 one api container"] = (
        f"{loop.summary()}; replaced (healthy) after {replaced_after:.1f} s"
    )
    assert loop.failures == 0, f"{loop.summary()}\n{nginx_errors()}\n{explain(API)}"


def test_rolling_update_to_a_new_tag(stack: Stack) -> None:
    with fault_loop(stack) as loop:
        wait_for(lambda: loop.total >= 20, timeout=60, what="the loop to warm up")
        docker("service", "update", "--detach=true", "--no-resolve-image", "--image", IMAGE_V2, API)
        wait_service(
            lambda: running_images(API) == [IMAGE_V2] * 3 and update_state() == "completed",
            API,
            240,
            "the rolling update to finish",
        )
    FIGURES["rolling update (docker service update --image)"] = loop.summary()
    assert loop.failures == 0, f"{loop.summary()}\n{nginx_errors()}\n{explain(API)}"


def test_failing_image_is_rolled_back(stack: Stack) -> None:
    # same image, but /status answers 500: it never gets healthy
    broken = (
        f"FROM {IMAGE_V2}\n"
        'CMD ["python", "-c", "import http.server as h\\n'
        "class H(h.BaseHTTPRequestHandler):\\n"
        "    def do_GET(self): self.send_error(500)\\n"
        "h.HTTPServer(('', 5000), H).serve_forever()\"]\n"
    )
    docker("build", "-q", "-t", IMAGE_BROKEN, "-", input_text=broken, env={"DOCKER_BUILDKIT": "0"})
    with fault_loop(stack) as loop:
        wait_for(lambda: loop.total >= 20, timeout=60, what="the loop to warm up")
        docker(
            "service", "update", "--detach=true", "--no-resolve-image", "--image", IMAGE_BROKEN, API
        )
        wait_service(lambda: update_state() == "rollback_completed", API, 240, "the rollback")
        wait_service(
            lambda: running_images(API) == [IMAGE_V2] * 3, API, 120, "3 tasks on the previous image"
        )
    FIGURES["update to an image whose /status fails (rolled back)"] = loop.summary()
    assert loop.failures == 0, f"{loop.summary()}\n{nginx_errors()}\n{explain(API)}"
    spec = docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", API)
    assert spec.stdout.strip() == IMAGE_V2


def test_postgres_killed_api_answers_503_then_recovers(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.token}"}
    loop = LoadLoop(stack.https, paths=("/status",), ok=(200, 503))
    with loop:
        wait_for(lambda: loop.total >= 20, timeout=60, what="the loop to warm up")
        victim = containers(f"{STACK}_postgres")[0]
        docker("kill", "-s", "KILL", victim)
        wait_for(lambda: loop.statuses[503] > 0, timeout=60, interval=0.1, what="a 503")
        first_503 = next(t for t, s in loop.timeline if s == 503)
        wait_for(
            lambda: sum(s == 200 and t > first_503 for t, s in loop.timeline[-50:]) >= 20,
            timeout=120,
            interval=0.2,
            what="/status 200 again",
        )
    recovered = next(t for t, s in loop.timeline if s == 200 and t > first_503)
    FIGURES["PostgreSQL task killed"] = (
        f"{loop.summary()}; 503 for {recovered - first_503:.1f} s, then 200"
    )
    assert loop.failures == 0, (
        f"{loop.summary()}\n{nginx_errors()}\n{explain(API)}"
    )  # only 200 and 503: no 502, no timeout
    with stack.client() as client:
        notes = client.get("/api/v1/notes", headers=auth)
        assert notes.status_code == 200 and "across faults" in notes.text
