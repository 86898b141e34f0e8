"""The control clients against the real stack (native PostgreSQL, the real API, the stand-in
Metro): `devkit run` for CI, `devkit restart api`, and `devkit attach` in a real terminal next
to the in-process dashboard."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.host import pgcluster
from tests.e2e.test_dashboard_tmux import Tmux
from tests.support.devkit_proc import (
    kill_everything_recorded,
    process_tree,
    run_devkit,
    still_alive_after,
)
from tests.support.stack import StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        pgcluster.find_bindir() is None, reason="no PostgreSQL binaries: " + pgcluster.INSTALL_HINT
    ),
]
NAMES = ("postgres", "api", "metro")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[StackProject]:
    project = make_stack_project(tmp_path / "aios")
    yield project
    kill_everything_recorded(project.root)


def _descendants_of_devkits(root: Path) -> list[int]:
    """Every process whose command line names this project (devkit, its children)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if str(root) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


@pytest.mark.timeout(240)
def test_run_gives_the_command_the_stack_and_its_exit_code_and_leaves_nothing(
    stack: StackProject,
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    ok = run_devkit(
        stack.root,
        "run",
        "--",
        "sh",
        "-c",
        'curl -fsS "$API_URL/status" && echo "db=$DATABASE_URL" && echo "expo=$EXPO_PUBLIC_API_URL"',
        timeout=150,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert '"status"' in ok.stdout or "ok" in ok.stdout.lower(), ok.stdout
    assert f"db={stack.database_url}" in ok.stdout
    assert f"expo=http://127.0.0.1:{stack.api_port}" in ok.stdout  # DEVKIT_LAN_HOST=127.0.0.1
    assert "stopping the stack" in ok.stderr
    assert still_alive_after(_descendants_of_devkits(stack.root)) == []

    failing = run_devkit(stack.root, "run", "--", "sh", "-c", "exit 7", timeout=150)
    assert failing.returncode == 7, failing.stdout + failing.stderr
    assert still_alive_after(_descendants_of_devkits(stack.root)) == []
    assert run_devkit(stack.root, "status").returncode == 3


@pytest.mark.timeout(240)
def test_restart_api_through_the_cli_counts_and_returns_to_healthy(stack: StackProject) -> None:
    try:
        up = run_devkit(stack.root, "up", "--detach", timeout=150)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{stack.api_port}" in up.stdout  # the URLs
        before = json.loads(run_devkit(stack.root, "status", "--json").stdout)
        api = next(c for c in before["components"] if c["name"] == "api")
        assert api["restarts"] == 0 and api["state"] == "healthy"
        restart = run_devkit(stack.root, "restart", "api", timeout=90)
        assert restart.returncode == 0, restart.stdout + restart.stderr
        assert "api healthy (restarts: 1)" in restart.stdout
        after = json.loads(run_devkit(stack.root, "status", "--json").stdout)
        states = {c["name"]: (c["state"], c["restarts"]) for c in after["components"]}
        assert states == {
            "postgres": ("healthy", 0),
            "api": ("healthy", 1),
            "metro": ("healthy", 0),
        }
        assert stack.get("/status").status_code == 200
        tree = process_tree(after["pid"])
        assert run_devkit(stack.root, "down", timeout=60).returncode == 0
        assert still_alive_after(tree) == []
    finally:
        kill_everything_recorded(stack.root)


def table_rows(screen: str) -> dict[str, tuple[str, ...]]:
    """name -> (backend, state, restarts) of each component row of the dashboard's table."""
    rows = {}
    for line in screen.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] in NAMES and words[1] in ("postgres", "flask", "expo"):
            state = next((w for w in words if w in ("healthy", "unhealthy", "starting")), "")
            backend = " ".join(words[1 : words.index(state)]) if state else ""
            rows[words[0]] = (backend, state)
    return rows


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.timeout(240)
def test_attach_shows_the_same_table_and_q_leaves_the_stack_running(stack: StackProject) -> None:
    main, attached = Tmux(), Tmux()
    try:
        pid = main.start(
            [sys.executable, "-m", "devkit", "--root", str(stack.root), "up"], stack.root
        )

        def healthy(terminal: Tmux) -> dict[str, tuple[str, ...]] | None:
            rows = table_rows(terminal.screen())
            done = set(rows) == set(NAMES) and all(r[1] == "healthy" for r in rows.values())
            return rows if done else None

        try:
            in_process = wait_for(lambda: healthy(main), 90, interval=0.2, what="all healthy")
        except TimeoutError:
            raise AssertionError("dashboard never all healthy:\n" + main.screen()) from None
        attach_dir = stack.root / "attach"
        attach_dir.mkdir()
        attached.start(
            [sys.executable, "-m", "devkit", "--root", str(stack.root), "attach"], attach_dir
        )
        try:
            remote = wait_for(lambda: healthy(attached), 30, interval=0.2, what="attached table")
        except TimeoutError:
            raise AssertionError("attached dashboard:\n" + attached.screen()) from None
        assert remote == in_process
        assert in_process["postgres"] == ("postgres · native", "healthy")
        assert re.search(r"all healthy", attached.screen())
        tree = process_tree(pid)

        attached("send-keys", "-t", "dash", "q")
        wait_for(lambda: attached.exit_code() is not None, 20, what="attach to end after q")
        assert attached.exit_code() == 0
        assert healthy(main) is not None  # the stack runs on
        assert stack.get("/status").status_code == 200
        assert run_devkit(stack.root, "status").returncode == 0

        main("send-keys", "-t", "dash", "q")
        wait_for(lambda: main.exit_code() is not None, 40, what="devkit to end after q")
        assert still_alive_after(tree, 10) == []
    finally:
        attached.kill()
        main.kill()
