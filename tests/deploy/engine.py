"""The Docker engine side of tests/deploy: run the CLI, skip with a reason when there is no
engine, build the local images (scripts/docker-engine; nothing is ever pulled), and a bounded
request loop that counts failures while a fault is injected."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = ROOT / "scripts" / "docker-engine"
PY_IMAGE = os.environ.get("DEVKIT_PY_IMAGE", "devkit-local/python:3.11-slim")
NGINX_IMAGE = os.environ.get("DEVKIT_NGINX_IMAGE", "devkit-local/nginx:1.22")
PG_IMAGE = os.environ.get("DEVKIT_PG_IMAGE", "devkit-local/postgres:15")


def docker(
    *args: str,
    check: bool = True,
    timeout: float = 180,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    done = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        env={**os.environ, **(env or {})},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return done


def engine_env() -> dict[str, str]:
    """DOCKER_HOST of the private engine when the environment names none."""
    if os.environ.get("DOCKER_HOST") or not ENGINE_SCRIPT.exists():
        return {}
    out = subprocess.run([str(ENGINE_SCRIPT), "env"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "DOCKER_HOST=" in line:
            return {"DOCKER_HOST": line.split("=", 1)[1].strip()}
    return {}


def require_engine() -> None:
    if os.environ.get("DEVKIT_TEST_DOCKER") == "off":
        pytest.skip("DEVKIT_TEST_DOCKER=off")
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed (scripts/test installs docker.io as root)")
    os.environ.update(engine_env())
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("the Docker engine does not answer")
    if info.returncode != 0:
        pytest.skip(
            "no Docker engine answers (scripts/docker-engine start, as root; scripts/test does it)"
        )


def image_present(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def build_images(api_tag: str) -> None:
    """The PostgreSQL, nginx and Python base images (skipped when present) and the API image
    from deploy/Dockerfile (layer cache: quick when nothing changed)."""
    done = subprocess.run(
        [str(ENGINE_SCRIPT), "build-deploy-images", api_tag],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass
class LoadLoop:
    """GET requests in a loop through nginx (loopback only), bounded in count and time.
    A failure is an exception or a status outside `ok`."""

    base_url: str
    paths: tuple[str, ...] = ("/status",)
    headers: dict[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)
    max_requests: int = 20000
    max_seconds: float = 280.0
    pause: float = 0.02
    total: int = 0
    failures: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)
    timeline: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(verify=False, timeout=15) as client:
            while not self._stop.is_set() and self.total < self.max_requests:
                if time.monotonic() > deadline:
                    break
                path = self.paths[self.total % len(self.paths)]
                try:
                    status = client.get(self.base_url + path, headers=self.headers).status_code
                except httpx.HTTPError as exc:
                    status = 0
                    if len(self.errors) < 10:
                        self.errors.append(repr(exc))
                self.total += 1
                self.statuses[status] += 1
                self.timeline.append((time.monotonic(), status))
                if status not in self.ok:
                    self.failures += 1
                self._stop.wait(self.pause)

    def summary(self) -> str:
        return (
            f"{self.failures} failed / {self.total} requests "
            f"(statuses {dict(self.statuses)}; errors {self.errors[:3]})"
        )
