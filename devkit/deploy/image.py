"""`devkit deploy build`: the API image from deploy/Dockerfile, tagged with the git commit.

Offline (no package index inside the build): the wheels are built on this machine into
deploy/wheels/ first and the build installs from there only (PIP_NO_INDEX=1).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devkit.deploy.docker_cli import run_docker
from devkit.errors import DevkitError

DEFAULT_REPOSITORY = "aios-api"


def git_revision(root: Path) -> tuple[str, bool]:
    """(full commit sha, working tree has changes); ("unknown", False) outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--", "server", "deploy"],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return sha, dirty


def image_tag(root: Path, repository: str = DEFAULT_REPOSITORY) -> str:
    """repository:<short sha>, with -dirty when server/ or deploy/ have uncommitted changes."""
    sha, dirty = git_revision(root)
    if sha == "unknown":
        raise DevkitError(
            "cannot tag the image with a commit: this is not a git checkout",
            "pass --tag NAME:TAG",
        )
    return f"{repository}:{sha[:12]}{'-dirty' if dirty else ''}"


@dataclass
class BuildResult:
    tag: str
    seconds: float
    size_bytes: int


def build_wheels(root: Path, python: str = sys.executable) -> None:
    """Build the API's wheels into deploy/wheels/ on this machine."""
    wheels = root / "deploy" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(wheels),
            "-r",
            str(root / "deploy" / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DevkitError(
            "building the wheels for an offline image build failed: "
            + " ".join(done.stderr.strip().splitlines()[-2:]),
            "check that pip reaches the package index (pip download flask)",
        )


def build_args(root: Path, tag: str, python_image: str | None, offline: bool) -> list[str]:
    sha, _ = git_revision(root)
    args = [
        "build",
        "-f",
        str(root / "deploy" / "Dockerfile"),
        "-t",
        tag,
        "--build-arg",
        f"VERSION={tag.rsplit(':', 1)[-1]}",
        "--build-arg",
        f"REVISION={sha}",
        "--build-arg",
        f"CREATED={datetime.now(UTC).isoformat(timespec='seconds')}",
    ]
    if python_image:
        args += ["--build-arg", f"PYTHON_IMAGE={python_image}"]
    if offline:
        args += ["--build-arg", "PIP_NO_INDEX=1"]
    return [*args, str(root)]


def build_image(
    root: Path, tag: str, *, python_image: str | None = None, offline: bool = False
) -> BuildResult:
    if not (root / "deploy" / "Dockerfile").is_file():
        raise DevkitError(f"no deploy/Dockerfile under {root}", "run devkit from the project")
    if offline:
        build_wheels(root)
    started = time.monotonic()
    run_docker(build_args(root, tag, python_image, offline), what=f"building {tag}")
    seconds = time.monotonic() - started
    size = run_docker(["image", "inspect", "-f", "{{.Size}}", tag]).strip()
    return BuildResult(tag=tag, seconds=seconds, size_bytes=int(size or 0))
