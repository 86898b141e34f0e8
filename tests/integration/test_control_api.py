"""The control socket of a real `devkit up --headless` (real children), used by curl and by the
CLI clients: logs (history, follow, filters), restart/stop/start, status, down, detach; the
socket's owner-only access, its removal on exit and its replacement after kill -9."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.control import ControlProject, make_control_project, running
from tests.support.devkit_proc import (
    Output,
    devkit,
    kill_everything_recorded,
    process_tree,
    run_devkit,
    still_alive_after,
)
from tests.support.standins import py_command


@pytest.fixture
def project(tmp_path: Path) -> ControlProject:
    return make_control_project(tmp_path / "proj")


def status_json(root: Path) -> dict:
    result = run_devkit(root, "status", "--json")
    return json.loads(result.stdout)


def component(report: dict, name: str) -> dict:
    return next(c for c in report["components"] if c["name"] == name)


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="curl is not installed")
def test_socket_is_owner_only_and_speaks_http_to_curl(project: ControlProject) -> None:
    with running(project):
        mode = stat.S_IMODE(project.socket.stat().st_mode)
        assert mode == 0o600
        result = subprocess.run(
            ["curl", "-fsS", "--unix-socket", str(project.socket), "http://devkit/status"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        data = json.loads(result.stdout)
        states = {c["name"]: c["state"] for c in data["components"]}
        assert states == {"web": "healthy", "speaker": "healthy"}
        assert data["devkit"]["pid"] > 0
        unknown = subprocess.run(
            ["curl", "-sS", "-X", "POST", "--unix-socket", str(project.socket), "-w", "%{http_code}",
             "http://devkit/components/nope/restart"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        assert unknown.stdout.endswith("404") and "no component named 'nope'" in unknown.stdout


def test_two_followers_both_see_a_line_produced_after_they_started(
    project: ControlProject,
) -> None:
    with running(project):
        followers = [devkit(project.root, "logs", "-f", "speaker") for _ in range(2)]
        outputs = [Output(p) for p in followers]
        try:
            for out in outputs:  # history first: the speaker's start line
                out.wait("speaker | speaker ready", 15)
            marker = f"marker-{uuid.uuid4().hex}"
            assert not any(out.has(marker) for out in outputs)
            project.say(marker)
            for out in outputs:
                out.wait(f"speaker | {marker}", 15)
            assert not any(out.has("web | listening") for out in outputs)  # filtered by name
        finally:
            for p in followers:
                p.terminate()
                p.wait(10)


def test_logs_history_with_tail_grep_since_and_unknown_names(project: ControlProject) -> None:
    with running(project) as (_, out):
        project.say("alpha one", "beta two", "alpha three")
        out.wait("speaker | alpha three")
        lines = run_devkit(project.root, "logs", "speaker").stdout.splitlines()
        assert [x.split("| ", 1)[1] for x in lines] == [
            "speaker ready",
            "alpha one",
            "beta two",
            "alpha three",
        ]
        tail = run_devkit(project.root, "logs", "speaker", "-n", "1").stdout.splitlines()
        assert len(tail) == 1 and tail[0].endswith("| alpha three")
        grep = run_devkit(project.root, "logs", "--grep", "^alpha").stdout.splitlines()
        assert [x.split("| ", 1)[1] for x in grep] == ["alpha one", "alpha three"]
        both = run_devkit(project.root, "logs", "web", "speaker").stdout
        assert "web     | listening" in both and "speaker | beta two" in both
        assert run_devkit(project.root, "logs", "--since", "1h").stdout.count("alpha") == 2
        bad = run_devkit(project.root, "logs", "nope")
        assert bad.returncode == 1
        assert "no component named nope" in bad.stderr and "web, speaker" in bad.stderr
        bad_since = run_devkit(project.root, "logs", "--since", "five")
        assert bad_since.returncode == 1 and "not a duration" in bad_since.stderr
        assert "Traceback" not in bad.stderr + bad_since.stderr


def test_restart_stop_start_through_the_cli(project: ControlProject) -> None:
    with running(project):
        pid_before = component(status_json(project.root), "speaker")["pid"]
        result = run_devkit(project.root, "restart", "speaker")
        assert result.returncode == 0, result.stderr
        report = status_json(project.root)
        speaker = component(report, "speaker")
        assert report["source"] == "control socket"
        assert speaker["restarts"] == 1 and speaker["state"] == "healthy"
        assert speaker["pid"] != pid_before
        assert component(report, "web")["restarts"] == 0

        assert run_devkit(project.root, "stop", "speaker").returncode == 0
        assert component(status_json(project.root), "speaker")["state"] == "stopped"
        assert still_alive_after([speaker["pid"]]) == []
        assert run_devkit(project.root, "start", "speaker").returncode == 0
        assert component(status_json(project.root), "speaker")["state"] == "healthy"

        everything = run_devkit(project.root, "restart")
        assert everything.returncode == 0, everything.stderr
        report = status_json(project.root)
        assert component(report, "web")["restarts"] == 1
        assert all(c["state"] == "healthy" for c in report["components"])


def test_socket_removed_on_exit_and_replaced_after_kill_9(project: ControlProject) -> None:
    with running(project) as (proc, _):
        assert project.socket.exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert not project.socket.exists()

    with running(project) as (proc, _):
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        kill_everything_recorded(project.root)
        assert project.socket.exists()  # stale: nobody listens
        stale = run_devkit(project.root, "status")
        assert stale.returncode == 3 and "not running" in stale.stdout
        logs = run_devkit(project.root, "logs")
        assert logs.returncode == 1 and "devkit is not running" in logs.stderr
    with running(project):  # the next devkit replaces the stale socket and answers on it
        assert component(status_json(project.root), "web")["state"] == "healthy"
        assert run_devkit(project.root, "logs", "web").stdout.strip().endswith("| listening")


def test_detach_then_down_leaves_nothing(project: ControlProject) -> None:
    try:
        result = run_devkit(project.root, "up", "--detach", timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all components healthy" in result.stdout
        report = status_json(project.root)
        pid = report["pid"]
        tree = process_tree(pid)
        assert len(tree) >= 3, tree  # devkit, web, speaker
        assert pid != os.getpid() and os.getsid(pid) == pid  # its own session
        assert (project.state_dir / "devkit.log").read_text().count("all components healthy")
        down = run_devkit(project.root, "down")
        assert down.returncode == 0, down.stdout
        assert still_alive_after(tree) == []
        assert not project.socket.exists()
    finally:
        kill_everything_recorded(project.root)


def test_detach_fails_with_the_reason_and_the_last_lines(tmp_path: Path) -> None:
    broken = make_control_project(
        tmp_path / "proj",
        {
            "broken": {
                "command": py_command("print('cannot open config.yml', flush=True); exit(3)"),
                "required": True,
                "restart": "never",
            }
        },
    )
    try:
        result = run_devkit(broken.root, "up", "--detach", timeout=60)
        assert result.returncode == 1
        assert "broken" in result.stderr and "cannot open config.yml" in result.stderr
        assert "Traceback" not in result.stderr
        assert run_devkit(broken.root, "status").returncode == 3  # nothing left running
    finally:
        kill_everything_recorded(broken.root)


CLIENT_AS_NOBODY = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(0)
s.sendall(b"GET /status HTTP/1.1\r\nHost: devkit\r\n\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as user nobody")
def test_another_uid_cannot_use_the_socket(tmp_path: Path) -> None:
    import shutil
    import tempfile

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    base = Path(tempfile.mkdtemp(prefix="control-uid-", dir="/tmp"))
    try:
        base.chmod(0o755)  # other users may reach the folder: only the socket protects it
        other = make_control_project(base / "proj")
        for path in (other.root, other.say_dir):
            path.chmod(0o755)
        with running(other):
            other.state_dir.chmod(0o755)

            def as_nobody() -> str:
                return subprocess.run(
                    ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                     sys.executable, "-I", "-c", CLIENT_AS_NOBODY, str(other.socket)],
                    capture_output=True, text=True, timeout=20, check=True,
                ).stdout.strip()  # fmt: skip

            assert as_nobody() == "EACCES"  # mode 0600
            other.socket.chmod(0o666)  # loosened by hand: the uid check still refuses
            assert as_nobody() == "HTTP/1.1 403 Forbidden"
            own = run_devkit(other.root, "status", "--json")
            assert json.loads(own.stdout)["source"] == "control socket"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_run_uses_the_devkit_already_running_and_leaves_it_running(
    project: ControlProject,
) -> None:
    with running(project) as (proc, _):
        result = run_devkit(
            project.root, "run", "--", "sh", "-c", 'echo "api=$API_URL"; exit 3', timeout=60
        )
        assert result.returncode == 3, result.stdout + result.stderr
        assert "using the devkit already running" in result.stderr
        assert "api=http://127.0.0.1:" in result.stdout
        assert proc.poll() is None  # not stopped: this command did not start it
        assert component(status_json(project.root), "web")["state"] == "healthy"
        nothing = run_devkit(project.root, "run")
        assert nothing.returncode == 1 and "no command to run" in nothing.stderr


def test_clients_say_devkit_is_not_running(project: ControlProject) -> None:
    for args in (("logs",), ("restart", "web"), ("attach",), ("web",)):
        result = run_devkit(project.root, *args)
        assert result.returncode == 1, args
        assert "devkit is not running" in result.stderr and "devkit up" in result.stderr, args
        assert "Traceback" not in result.stderr
