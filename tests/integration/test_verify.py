"""`devkit verify` against real nginx (a child with a private prefix, on free ports, proxying to
the real API on a real PostgreSQL) with certificates the test makes with openssl: valid, near
expiry, expiring within days, expired, untrusted, and a plain http port that does not redirect;
then against the dev API over plain http."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import ROOT, LiveServer, server_env
from tests.support.pg import ThrowawayCluster
from tests.support.ports import free_port
from tests.support.wait import wait_for

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx)"),
    pytest.mark.skipif(OPENSSL is None, reason="openssl not installed (apt-get install openssl)"),
]

CA_CONF = """\
[ ca ]
default_ca = test_ca
[ test_ca ]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
[ leaf ]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1, DNS:localhost
"""


def openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class CertFactory:
    """A private CA (openssl req -x509) that signs leaf certificates for 127.0.0.1/localhost
    with any validity window (openssl ca -startdate/-enddate, which may lie in the past)."""

    def __init__(self, base: Path) -> None:
        self.dir = base
        (base / "index.txt").write_text("")
        (base / "serial").write_text("1000\n")
        (base / "ca.cnf").write_text(CA_CONF.format(dir=base))
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=devkit test CA", cwd=base,
        )  # fmt: skip
        self.ca = base / "ca.pem"

    def leaf(self, name: str, start_days: float, end_days: float) -> tuple[Path, Path]:
        now = datetime.now(UTC)

        def stamp(days: float) -> str:
            return (now + timedelta(days=days)).strftime("%Y%m%d%H%M%SZ")

        openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost",
            cwd=self.dir,
        )  # fmt: skip
        openssl(
            "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-in", f"{name}.csr", "-out", f"{name}.pem", "-notext", "-extensions", "leaf",
            "-startdate", stamp(start_days), "-enddate", stamp(end_days), cwd=self.dir,
        )  # fmt: skip
        return self.dir / f"{name}.pem", self.dir / f"{name}.key"


@dataclass(frozen=True)
class Nginx:
    https_url: str
    http_port: int


NGINX_CONF = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy no-referrer always;
        {extra}
        location / {{
            proxy_pass http://127.0.0.1:{api_port};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
    server {{
        listen 127.0.0.1:{http_port};
        {plain}
    }}
}}
"""


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_nginx(
    api_port: int, cert: Path, key: Path, *, redirect: bool = True, extra: str = ""
) -> Iterator[Nginx]:
    assert NGINX is not None
    prefix = Path(tempfile.mkdtemp(prefix="verify-nginx-"))
    https_port, http_port = free_port(), free_port()
    plain = (
        f"return 301 https://$host:{https_port}$request_uri;"
        if redirect
        else f"location / {{ proxy_pass http://127.0.0.1:{api_port}; }}"
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            prefix=prefix,
            https_port=https_port,
            http_port=http_port,
            cert=cert,
            key=key,
            api_port=api_port,
            plain=plain,
            extra=extra,
        )
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: (
                (proc.poll() is None or pytest.fail(f"nginx exited: {proc.stderr.read()}"))  # type: ignore[union-attr]
                and _accepts(https_port)
                and _accepts(http_port)
            ),
            15,
            what="nginx to listen",
        )
        yield Nginx(f"https://127.0.0.1:{https_port}", http_port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture(scope="module")
def certs() -> Iterator[CertFactory]:
    base = Path(tempfile.mkdtemp(prefix="verify-certs-"))
    try:
        yield CertFactory(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def api(pg_cluster: ThrowawayCluster, migrated_template: str) -> Iterator[LiveServer]:
    name = pg_cluster.create_database(template=migrated_template)
    logs = Path(tempfile.mkdtemp(prefix="verify-logs-"))
    server = LiveServer(server_env(pg_cluster.url(name), logs, MIN_APP_VERSION="1.2.0"))
    try:
        server.wait_listening()
        wait_for(lambda: server.status_code() == 200, 30, what="the API's database")
        yield server
    finally:
        server.stop()
        pg_cluster.drop_database(name)
        shutil.rmtree(logs, ignore_errors=True)


def verify(url: str, *args: str) -> tuple[int, dict[str, dict[str, str]], dict]:
    env = {k: v for k, v in os.environ.items() if k != "DEVKIT_VERIFY_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "verify", url, "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]}, report


def statuses(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: check["status"] for name, check in checks.items()}


ALL_PASS = {
    "status": "pass",
    "tls-certificate": "pass",
    "https-redirect": "pass",
    "hsts": "pass",
    "security-headers": "pass",
    "login": "pass",
    "version-gate": "pass",
    "latency": "pass",
}


def test_a_good_deployment_passes_everything(api: LiveServer, certs: CertFactory) -> None:
    cert, key = certs.leaf("good", -1, 90)
    with running_nginx(api.port, cert, key) as site:
        code, checks, report = verify(
            site.https_url, "--ca-file", str(certs.ca), "--http-port", str(site.http_port)
        )
    assert statuses(checks) == ALL_PASS, checks
    assert code == 0 and report["ok"] is True and report["url"] == site.https_url
    assert (
        "(90 days)" in checks["tls-certificate"]["detail"]
        or "(89 days)" in checks["tls-certificate"]["detail"]
    )
    assert "301" in checks["https-redirect"]["detail"]
    assert "minimum 1.2.0" in checks["version-gate"]["detail"]
    assert "throwaway user devkit-verify-" in checks["login"]["detail"]


def test_text_output_like_doctor(api: LiveServer, certs: CertFactory) -> None:
    cert, key = certs.leaf("text", -1, 20)
    with running_nginx(api.port, cert, key) as site:
        done = subprocess.run(
            [sys.executable, "-m", "devkit", "verify", site.https_url, "--ca-file",
             str(certs.ca), "--http-port", str(site.http_port)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
    assert done.returncode == 0  # a warning is not a failure
    assert "WARN  tls-certificate" in done.stdout and "fix: renew the certificate" in done.stdout
    assert "7 passed, 1 warning(s), 0 failed" in done.stdout


@pytest.mark.parametrize(
    ("start", "end", "status", "words"),
    [
        (-60, 20, "warn", "under 30 days"),
        (-60, 3, "fail", "under 7 days"),
        (-400, -30, "fail", "certificate has expired"),
    ],
)
def test_expiry_levels(
    api: LiveServer, certs: CertFactory, start: int, end: int, status: str, words: str
) -> None:
    cert, key = certs.leaf(f"exp{start}{end}", start, end)
    with running_nginx(api.port, cert, key) as site:
        code, checks, _ = verify(
            site.https_url, "--ca-file", str(certs.ca), "--http-port", str(site.http_port)
        )
    assert checks["tls-certificate"]["status"] == status, checks["tls-certificate"]
    assert words in checks["tls-certificate"]["detail"]
    assert checks["tls-certificate"]["fix"].startswith("renew the certificate")
    assert code == (1 if status == "fail" else 0)
    # one bad certificate is one failure: the other checks still ran and passed
    others = {k: v for k, v in statuses(checks).items() if k != "tls-certificate"}
    assert others == {k: v for k, v in ALL_PASS.items() if k != "tls-certificate"}


def test_untrusted_ca_fails_and_insecure_downgrades_it(api: LiveServer, certs: CertFactory) -> None:
    cert, key = certs.leaf("untrusted", -1, 90)
    with running_nginx(api.port, cert, key) as site:
        code, checks, _ = verify(site.https_url, "--http-port", str(site.http_port))
        assert code == 1
        tls = checks["tls-certificate"]
        assert tls["status"] == "fail" and "not trusted" in tls["detail"]
        assert "--ca-file" in tls["fix"]
        code, checks, _ = verify(site.https_url, "--http-port", str(site.http_port), "--insecure")
    assert code == 0
    tls = checks["tls-certificate"]
    assert tls["status"] == "warn" and tls["detail"].startswith("--insecure:")


def test_no_redirect_fails(api: LiveServer, certs: CertFactory) -> None:
    cert, key = certs.leaf("noredirect", -1, 90)
    with running_nginx(api.port, cert, key, redirect=False) as site:
        code, checks, _ = verify(
            site.https_url, "--ca-file", str(certs.ca), "--http-port", str(site.http_port)
        )
    assert code == 1
    check = checks["https-redirect"]
    assert check["status"] == "fail"
    assert "answers 200 instead of redirecting to https" in check["detail"]
    assert "return 301 https://" in check["fix"]


def test_login_with_a_test_user(api: LiveServer, certs: CertFactory) -> None:
    created = httpx.post(
        api.url + "/api/auth/register",
        json={"username": "verify-tester", "password": "correct-horse-battery"},
        timeout=10,
    )
    assert created.status_code == 201
    cert, key = certs.leaf("login", -1, 90)
    with running_nginx(api.port, cert, key) as site:
        base = (site.https_url, "--ca-file", str(certs.ca), "--http-port", str(site.http_port))
        _, checks, _ = verify(
            *base, "--user", "verify-tester", "--password", "correct-horse-battery"
        )
        assert checks["login"]["status"] == "pass"
        assert checks["login"]["detail"].startswith("verify-tester logs in")
        code, checks, _ = verify(*base, "--user", "verify-tester", "--password", "wrong-password")
    assert code == 1
    assert checks["login"]["status"] == "fail" and "401" in checks["login"]["detail"]


def test_registration_closed_at_the_proxy_says_so(api: LiveServer, certs: CertFactory) -> None:
    cert, key = certs.leaf("closed", -1, 90)
    closed = "location = /api/auth/register { return 403; }"
    with running_nginx(api.port, cert, key, extra=closed) as site:
        code, checks, _ = verify(
            site.https_url, "--ca-file", str(certs.ca), "--http-port", str(site.http_port)
        )
    assert code == 0
    login = checks["login"]
    assert login["status"] == "warn"
    assert "registration is disabled (403)" in login["detail"]
    assert "--user U --password P" in login["fix"]


def test_the_dev_api_over_plain_http(api: LiveServer) -> None:
    code, checks, report = verify(api.url)
    assert code == 1
    for name in ("tls-certificate", "https-redirect", "hsts"):
        assert checks[name]["status"] == "fail", checks[name]
        assert "plain http" in checks[name]["detail"]
        assert checks[name]["fix"]
    for name in ("status", "login", "version-gate", "latency"):
        assert checks[name]["status"] == "pass", checks[name]
    # the dev server sends no security headers (nginx adds them in production): a warning
    assert checks["security-headers"]["status"] == "warn"
    assert report["summary"] == {"pass": 4, "warn": 1, "fail": 3, "skip": 0}


def test_a_version_gate_that_is_off_warns(
    pg_cluster: ThrowawayCluster, migrated_url: str, run_server: Callable[..., LiveServer],
    tmp_path: Path,
) -> None:  # fmt: skip
    server = run_server(server_env(migrated_url, tmp_path))  # no MIN_APP_VERSION
    server.wait_listening()
    wait_for(lambda: server.status_code() == 200, 30, what="the API's database")
    _, checks, _ = verify(server.url)
    gate = checks["version-gate"]
    assert gate["status"] == "warn" and "the version gate is off" in gate["detail"]
    assert "MIN_APP_VERSION" in gate["fix"]


def test_nothing_listening() -> None:
    code, checks, _ = verify(f"https://127.0.0.1:{free_port()}", "--http-port", str(free_port()))
    assert code == 1
    assert checks["status"]["status"] == "fail"
    assert "no TLS handshake" in checks["tls-certificate"]["detail"]
    assert "nothing answers" in checks["https-redirect"]["detail"]
