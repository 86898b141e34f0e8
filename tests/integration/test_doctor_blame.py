"""The doctor tells the person's mistakes (settings, their own code, a crashed API, packages not
installed) from its own bugs (issue 15 item 7, issue 12 item 5)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from devkit.doctor import DoctorContext, by_name, failed_check, run_checks
from devkit.host.node import client_deps_problem
from tests.integration import test_doctor
from tests.integration.test_doctor import Project
from tests.support.ports import free_port

project = test_doctor.project  # the fixture: a real database and a stand-in API


def test_a_crashed_api_is_not_blamed_on_the_firewall(project: Project) -> None:
    port = free_port()
    # what a crashed API looks like from outside: the warm parent keeps the listening socket,
    # nobody accepts, a request hangs
    held = socket.socket()
    held.bind(("127.0.0.1", port))
    held.listen()
    try:
        project.write_env(PORT=str(port))
        lan = project.check(timeout=0.5)["lan"]
    finally:
        held.close()
    assert lan.status == "skip", lan
    assert f"does not answer on 127.0.0.1:{port} either" in lan.detail
    assert "firewall" not in (lan.detail + lan.fix).lower()
    assert "fix the API first" in lan.fix


def test_the_projects_own_syntax_error_is_not_a_devkit_bug(project: Project) -> None:
    server = project.root / "server"
    server.mkdir()
    (server / "__init__.py").write_text("")
    (server / "migrations.py").write_text("def pending(url):\n    return [\n")  # unclosed
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(project.root), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": str(project.root), "NO_COLOR": "1"},
    )
    results = {r["name"]: r for r in json.loads(done.stdout)["checks"]}
    schema = results["schema"]
    assert schema["status"] == "fail", schema
    assert "the project's code fails at server/migrations.py:" in schema["detail"]
    assert "SyntaxError" in schema["detail"]
    assert "fix server/migrations.py" in schema["fix"]
    assert "devkit bug" not in done.stdout


def test_failed_check_classification(tmp_path: Path) -> None:
    from devkit.errors import ConfigError

    mine = failed_check(
        "api", ConfigError("PORT='abc' in .env is not a port number", "set it"), tmp_path
    )
    assert (mine.status, mine.detail, mine.fix) == (
        "fail",
        "PORT='abc' in .env is not a port number",
        "set it",
    )
    bug = failed_check("api", KeyError("x"), tmp_path)
    assert bug.fix == "report this as a devkit bug"


def test_client_without_node_modules(project: Project) -> None:
    client = project.root / "client"
    client.mkdir()
    (client / "package.json").write_text(json.dumps({"dependencies": {"expo": "~51.0.0"}}))
    result = project.check()["client-deps"]
    assert result.status == "fail"
    assert "the packages of client/ are not installed (no node_modules)" in result.detail
    assert result.fix.startswith("run npm install in client/")
    (client / "node_modules").mkdir()
    result = project.check()["client-deps"]
    assert result.status == "fail" and "(expo)" in result.detail
    (client / "node_modules" / "expo").mkdir()
    (client / "node_modules" / "expo" / "package.json").write_text("{}")
    assert project.check()["client-deps"].status == "pass"
    assert client_deps_problem(client) is None
    assert client_deps_problem(project.root / "nothing-here") is None


def test_doctor_context_runs_every_check(project: Project) -> None:
    names = [r.name for r in run_checks(DoctorContext(project.context().settings))]
    assert "client-deps" in names and len(names) == len(set(names))
    assert by_name(run_checks(project.context()))["database"].status == "pass"
