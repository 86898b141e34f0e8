"""The Docker engine goes away while `devkit up --headless` runs PostgreSQL in Docker and the API
(Docker Desktop restarting, a laptop waking): postgres WAITs for the engine instead of crashing
into a give-up, and comes back by itself, with its data, when the engine answers again.

The test stops and starts a real engine, so it runs its own (scripts/docker-engine with its own
DEVKIT_DOCKER_DIR and a bridge of its own, beside the suite's engine at /tmp/devkit-docker,
which other docker tests keep using).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.core.runstate import read_state
from devkit.host.docker import open_client
from devkit.services.postgres_docker import LOCAL_IMAGE
from tests.support.devkit_proc import Output, devkit, kill_everything_recorded
from tests.support.stack import REPO, StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(420)]

ENGINE_SCRIPT = REPO / "scripts" / "docker-engine"
ENGINE_DIR = "/tmp/devkit-docker-engine-loss"  # not the suite's /tmp/devkit-docker
ENGINE_ENV = {
    "DEVKIT_DOCKER_DIR": ENGINE_DIR,
    "DEVKIT_DOCKER_BRIDGE": "dkloss0",
    "DEVKIT_DOCKER_BIP": "10.213.31.1/24",
}
SOCKET = f"unix://{ENGINE_DIR}/docker.sock"
STAYS_WAITING = 8.0  # seconds: the old crash loop gave up within ~8 s of the engine's loss


def engine(command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(
        [str(ENGINE_SCRIPT), command],
        env={**env, **ENGINE_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def own_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if os.environ.get("DEVKIT_TEST_DOCKER") == "off":
        pytest.skip("DEVKIT_TEST_DOCKER=off")
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (Debian: apt-get install docker.io)")
    if os.geteuid() != 0:
        pytest.skip("a private Docker engine that the test stops and starts needs root")
    started = engine("start")
    if started.returncode != 0:
        pytest.skip(f"the test's own Docker engine did not start: {started.stderr.strip()}")
    try:
        built = engine("build-image")
        assert built.returncode == 0, built.stderr
        monkeypatch.setenv("DOCKER_HOST", SOCKET)
        yield SOCKET
    finally:
        engine("stop")


@pytest.fixture
def stack(tmp_path: Path, own_engine: str) -> Iterator[StackProject]:
    project = f"devkit-loss-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "aios"
    stack = make_stack_project(root, metro=False, extra={"db_backend": "docker"})
    with open(root / ".env", "a") as env:
        env.write(
            f"COMPOSE_PROJECT_NAME={project}\nPOSTGRES_IMAGE={LOCAL_IMAGE}\n"
            "DEVKIT_DOCKER_PULL=never\n"
        )
    (root / "compose").mkdir()
    shutil.copy(REPO / "compose" / "docker-compose.yml", root / "compose")
    try:
        yield stack
    finally:
        kill_everything_recorded(root)
        if engine("start").returncode == 0:
            client = open_client(own_engine, 30)
            label = {"label": f"com.docker.compose.project={project}"}
            for container in client.containers.list(all=True, filters=label):
                container.remove(force=True)
            for volume in client.volumes.list(filters=label):
                volume.remove(force=True)
            client.close()


def postgres(stack: StackProject) -> dict:
    state = read_state(stack.root / ".devkit") or {}
    return dict((state.get("components") or {}).get("postgres") or {})


def lose_engine(how: str) -> None:
    if how == "stop":  # what Docker Desktop's restart does: containers stopped, then dockerd
        stopped = engine("stop")
        assert stopped.returncode == 0, stopped.stderr
    else:  # dockerd dies at once (its containers may live on in their shims)
        os.kill(int(Path(ENGINE_DIR, "dockerd.pid").read_text().strip()), signal.SIGKILL)


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_engine_loss_waits_for_the_engine_and_resumes_with_the_data(
    stack: StackProject, own_engine: str, how: str
) -> None:
    out = Output(devkit(stack.root, "up", "--headless"))
    try:
        out.wait("all components healthy", timeout=120)
        body = {"username": "linus", "password": "correct horse battery"}
        assert stack.post("/api/auth/register", json=body).status_code == 201
        token = stack.post("/api/auth/login", json=body).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        note = {"title": "before the engine left"}
        assert stack.post("/api/notes", json=note, headers=auth).status_code == 201
        before = len(out.text)

        lose_engine(how)
        waiting_line = f"postgres waiting for the Docker engine at {own_engine}"
        out.wait(waiting_line, timeout=30)
        entry = postgres(stack)
        assert entry["state"] == "waiting", entry
        assert entry["detail"] == f"waiting for the Docker engine at {own_engine}"
        assert entry["started_at"] is None, "uptime must not count while it waits"
        # it stays waiting (no crash, no give-up) for longer than the old crash loop took
        seen_since = time.monotonic()
        while time.monotonic() - seen_since < STAYS_WAITING:
            entry = postgres(stack)
            assert entry["state"] == "waiting" and entry["crashes"] == 0, entry
            assert out.proc.poll() is None, out.tail()
            time.sleep(0.2)  # observation window, not synchronisation
        during = out.text[before:]
        for gave_up in ("postgres crashed", "crash loop", "restart it with"):
            assert gave_up not in during, during

        started = engine("start")
        assert started.returncode == 0, started.stderr
        back = time.monotonic()
        wait_for(
            lambda: postgres(stack).get("state") == "healthy",
            90,
            interval=0.05,
            what="postgres healthy again after the engine came back",
        )
        healthy_after = time.monotonic() - back
        wait_for(
            lambda: stack.get("/status").status_code == 200,
            60,
            interval=0.05,
            what="the API's /status 200 again",
        )
        api_after = time.monotonic() - back
        notes = stack.get("/api/notes", headers=auth).json()["items"]
        assert [n["title"] for n in notes] == [note["title"]]
        entry = postgres(stack)
        assert entry["crashes"] == 0 and entry["started_at"] is not None, entry
        said = [line for line in out.text[before:].splitlines() if "| postgres " in line]
        print("\n" + "\n".join(said))  # what a person saw (pytest -s)
        print(
            f"engine back -> postgres healthy {healthy_after:.2f}s, "
            f"-> API /status 200 {api_after:.2f}s"
        )
    finally:
        out.proc.send_signal(signal.SIGTERM)
        code = out.proc.wait(timeout=60)
    assert code == 0, out.tail(60)
