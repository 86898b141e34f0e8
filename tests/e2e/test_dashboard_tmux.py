"""`devkit up` in a real terminal (tmux) with the real stack: native PostgreSQL, the API and the
stand-in Metro. What a person sees: every component healthy and a QR code; `q` leaves nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.host import pgcluster
from tests.support.devkit_proc import alive, kill_everything_recorded, process_tree
from tests.support.stack import StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(
        pgcluster.find_bindir() is None, reason="no PostgreSQL binaries: " + pgcluster.INSTALL_HINT
    ),
]

HALF_BLOCKS = set("▀▄█")


class Tmux:
    """One detached tmux server of our own (-L), so a test never touches a user's sessions."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.socket = f"devkit-test-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    def start(self, command: list[str], cwd: Path) -> int:
        # the window gets its size after the session's first program started: start a shell,
        # then replace it with the command in a window that already has the right size
        self(
            "new-session",
            "-d",
            "-s",
            "dash",
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-c",
            str(cwd),
            "-e",
            "TERM=xterm-256color",
        )
        self("set-option", "-t", "dash", "remain-on-exit", "on")
        # COLUMNS/LINES from the test process (pytest plugins set them) would pin the size;
        # the exit code goes to a file (tmux 3.3 does not always report it)
        self.exit_file = cwd / ".tmux-exit-code"
        script = 'env -u COLUMNS -u LINES "$@"; echo $? > "$EXIT_FILE"'
        self(
            "respawn-pane",
            "-k",
            "-t",
            "dash",
            "-c",
            str(cwd),
            "-e",
            "TERM=xterm-256color",
            "-e",
            f"EXIT_FILE={self.exit_file}",
            "sh",
            "-c",
            script,
            "sh",
            *command,
        )
        return int(self("display-message", "-p", "-t", "dash", "#{pane_pid}").strip())

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "dash")

    def exit_code(self) -> int | None:
        text = self.exit_file.read_text().strip() if self.exit_file.exists() else ""
        return int(text) if text else None

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    terminal = Tmux()
    yield terminal
    terminal.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[StackProject]:
    project = make_stack_project(tmp_path / "aios")
    yield project
    kill_everything_recorded(project.root)


def test_dashboard_shows_every_component_healthy_and_the_qr_code_and_q_leaves_nothing(
    tmux: Tmux, stack: StackProject
) -> None:
    pid = tmux.start([sys.executable, "-m", "devkit", "--root", str(stack.root), "up"], stack.root)

    def all_healthy() -> str | None:
        screen = tmux.screen()
        rows = [
            line
            for line in screen.splitlines()
            if any(name in line for name in ("postgres", "api", "metro"))
        ]
        healthy = {
            name
            for name in ("postgres", "api", "metro")
            if any(name in row and "healthy" in row and "unhealthy" not in row for row in rows)
        }
        # the wide layout names each backend ("postgres · native")
        wide = "postgres · native" in screen
        return screen if wide and healthy == {"postgres", "api", "metro"} else None

    try:
        screen = wait_for(
            all_healthy, 60, interval=0.2, what="postgres, api and metro healthy on the dashboard"
        )
    except TimeoutError:
        raise AssertionError("dashboard never showed all healthy:\n" + tmux.screen()) from None
    assert "exp://127.0.0.1:" in screen, screen
    qr_rows = wait_for(
        lambda: [
            line
            for line in tmux.screen().splitlines()
            if sum(ch in HALF_BLOCKS for ch in line) >= 10
        ],
        10,
        what="a QR code drawn with half blocks",
    )
    assert len(qr_rows) >= 10, "\n".join(qr_rows)
    tree = process_tree(pid)
    assert len(tree) >= 5, tree  # sh, devkit, postgres (+ its workers), api, metro

    tmux("send-keys", "-t", "dash", "q")
    code = wait_for(
        lambda: tmux.exit_code() is not None and str(tmux.exit_code()),
        30,
        interval=0.1,
        what="devkit to exit after q",
    )
    assert code == "0", tmux.screen()
    wait_for(lambda: not alive(tree), 10, what=f"no process left of {tree}")


def test_closing_the_terminal_stops_everything(tmux: Tmux, stack: StackProject) -> None:
    """SIGHUP (the terminal window closed): every component stops and devkit itself exits,
    although the dashboard can no longer write to its terminal."""
    pid = tmux.start([sys.executable, "-m", "devkit", "--root", str(stack.root), "up"], stack.root)
    wait_for(
        lambda: "all healthy" in tmux.screen(),
        60,
        interval=0.2,
        what="the dashboard to report all healthy",
    )
    tree = process_tree(pid)
    assert len(tree) >= 4, tree
    tmux.kill()
    wait_for(lambda: not alive(tree), 30, what=f"devkit and its children gone: {tree}")
