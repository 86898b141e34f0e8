"""The API image: built from deploy/Dockerfile on the local Python base without any registry,
non-root, labelled, with a health check; and no secret from the working tree lands in it
(the build context's .dockerignore is proven with canary files)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.engine import PY_IMAGE, ROOT, build_images, docker, require_engine
from tests.support.wait import wait_for

# the module setup may build the images (minutes on a fresh machine)
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

CANARY = "canary-secret-7f3d9a1c"
TAG = "aios-api:test-canary"
CONTEXT_TAG = "devkit-test/context:canary"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the build context with secrets and local state where a developer has them."""
    require_engine()
    build_images("aios-api:test-1")
    ctx = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", "README.md", ".dockerignore"):
        shutil.copy(ROOT / name, ctx / name)
    shutil.copytree(ROOT / "server", ctx / "server", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "deploy", ctx / "deploy")
    planted = {
        ".env": f"JWT_SECRET={CANARY}\n",
        ".env.production": f"POSTGRES_PASSWORD={CANARY}\n",
        ".devkit/run.json": CANARY,
        "backups/daily/aios-2026-01-01.sql.gz": CANARY,
        "logs/combined.log": CANARY,
        "client/node_modules/pkg/index.js": CANARY,
        "server/.env": CANARY,
    }
    for name, text in planted.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    yield ctx
    docker("image", "rm", "-f", TAG, CONTEXT_TAG, check=False)


def image_files(tag: str) -> dict[str, bytes]:
    """Every regular file of an image (through a created, never started container)."""
    container = docker("create", tag, "/none").stdout.strip()
    try:
        export = subprocess.run(["docker", "export", container], capture_output=True, check=True)
    finally:
        docker("rm", container, check=False)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(export.stdout)) as tar:
        for member in tar:
            if member.isfile():
                files[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return files


def test_dockerignore_keeps_secrets_out_of_the_context(context: Path) -> None:
    (context / "Dockerfile.context").write_text("FROM scratch\nCOPY . /ctx/\n")
    docker(
        "build",
        "-q",
        "-f",
        str(context / "Dockerfile.context"),
        "-t",
        CONTEXT_TAG,
        str(context),
        env={"DOCKER_BUILDKIT": "0"},
    )
    files = image_files(CONTEXT_TAG)
    assert "ctx/server/__init__.py" in files and "ctx/deploy/Dockerfile" in files
    leaked = [name for name, data in files.items() if CANARY.encode() in data]
    assert leaked == []
    for kept_out in (".env", ".devkit", "backups", "logs", "client"):
        assert not any(n.startswith(f"ctx/{kept_out}") for n in files), kept_out


def test_image_has_no_secret_and_runs_as_non_root(context: Path) -> None:
    done = subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "-f",
            str(context / "deploy" / "Dockerfile"),
            "-t",
            TAG,
            "--build-arg",
            f"PYTHON_IMAGE={PY_IMAGE}",
            "--build-arg",
            "PIP_NO_INDEX=1",
            str(context),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert done.returncode == 0, done.stderr
    files = image_files(TAG)
    assert not [name for name, data in files.items() if CANARY.encode() in data]
    assert not any(name.endswith("/pip/__init__.py") for name in files), "no pip in the runtime"
    assert not any("/.cache/" in name for name in files), "no caches"
    config = docker(
        "image",
        "inspect",
        "-f",
        "{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{json .Config.Labels}}",
        TAG,
    )
    user, health, labels = config.stdout.strip().split("|", 2)
    assert user and not user.startswith(("0", "root"))
    assert "/app/healthcheck.py" in health
    for label in (
        "org.opencontainers.image.title",
        "org.opencontainers.image.revision",
        "org.opencontainers.image.version",
    ):
        assert label in labels
    whoami = docker(
        "run",
        "--rm",
        "--entrypoint",
        "python",
        TAG,
        "-c",
        "import os, shutil; print(os.getuid(), shutil.which('gcc'), shutil.which('pip'))",
    )
    assert whoami.stdout.split() == ["10001", "None", "None"]


def test_sigterm_lets_requests_in_flight_finish(context: Path, tmp_path: Path) -> None:
    """gunicorn as PID 1 with the image's settings: `docker stop` during a slow request still
    answers it, then the container exits."""
    (tmp_path / "slow.py").write_text(
        "import time\n"
        "def app(environ, start_response):\n"
        "    open('/tmp/started', 'w').close()\n"
        "    time.sleep(3)\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'finished']\n"
    )
    tmp_path.chmod(0o755)
    (tmp_path / "slow.py").chmod(0o644)
    name = "devkit-test-graceful"
    docker("rm", "-f", name, check=False)
    docker(
        "run",
        "-d",
        "--name",
        name,
        "-p",
        "127.0.0.1::5000",
        "-v",
        f"{tmp_path}:/slow:ro",
        "-e",
        "PYTHONPATH=/slow",
        "aios-api:test-1",
        "gunicorn",
        "-c",
        "/app/gunicorn.conf.py",
        "slow:app",
    )
    try:
        port = docker("port", name, "5000").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        wait_for(
            lambda: "Booting worker" in docker("logs", name).stderr,
            timeout=60,
            what="gunicorn to boot",
        )
        result: dict[str, object] = {}

        def request() -> None:
            try:
                result["response"] = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
            except httpx.HTTPError as exc:
                result["error"] = exc

        thread = threading.Thread(target=request)
        thread.start()
        wait_for(
            lambda: docker("exec", name, "ls", "/tmp/started", check=False).returncode == 0,
            timeout=20,
            interval=0.05,
            what="the request to be in flight",
        )
        docker("stop", "-t", "25", name)  # SIGTERM; SIGKILL only after 25 s
        thread.join(timeout=30)
        response = result.get("response")
        assert isinstance(response, httpx.Response), result.get("error")
        assert response.status_code == 200 and response.text == "finished"
        assert "Handling signal: term" in docker("logs", name).stderr
        state = docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert state == "0"  # exited by itself, not killed
    finally:
        docker("rm", "-f", name, check=False)


def test_devkit_swarm_up_explains_what_is_missing(context: Path) -> None:
    """Not a swarm (or no secrets yet): one error and the command that fixes it."""
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "deploy", "swarm", "up", "--stack", "devkit-test-none"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "not part of a swarm" in done.stderr or "secrets that do not exist" in done.stderr
    assert "fix: " in done.stderr
