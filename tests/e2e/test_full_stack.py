"""`devkit up --headless` with the real stack: native PostgreSQL, the real API (a copy of server/),
the stand-in Metro. Edits, crashes and kill -9 as a developer would cause them."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.core.runstate import read_state
from devkit.host import pgcluster
from tests.support.devkit_proc import (
    Output,
    alive,
    devkit,
    kill_everything_recorded,
    process_tree,
    run_devkit,
)
from tests.support.stack import StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = pytest.mark.skipif(
    pgcluster.find_bindir() is None, reason="no PostgreSQL binaries: " + pgcluster.INSTALL_HINT
)

# Appended to the copy's server/__init__.py: GET /e2e answers server/e2e_marker.py's VALUE, so a
# test can change served code by editing one small module.
MARKER_ROUTE = """

_devkit_e2e_create_app = create_app


def create_app(*args, **kwargs):  # noqa: F811 - test hook
    app = _devkit_e2e_create_app(*args, **kwargs)
    from server import e2e_marker

    app.add_url_rule("/e2e", "e2e", lambda: {"value": e2e_marker.VALUE})
    return app
"""


def write_marker(stack: StackProject, source: str) -> None:
    path = stack.root / "server" / "e2e_marker.py"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(source)
    tmp.replace(path)  # one event, never a half-written file


def served_value(stack: StackProject) -> str | None:
    try:
        response = stack.get("/e2e")
    except Exception:  # noqa: BLE001 - not serving (yet)
        return None
    return response.json().get("value") if response.status_code == 200 else None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[StackProject]:
    project = make_stack_project(tmp_path / "aios")
    with open(project.root / "server" / "__init__.py", "a") as init:
        init.write(MARKER_ROUTE)
    write_marker(project, 'VALUE = "v1"\n')
    yield project
    kill_everything_recorded(project.root)


def up(stack: StackProject) -> tuple[Output, list[int]]:
    proc = devkit(stack.root, "up", "--headless")
    out = Output(proc)
    out.wait("all components healthy", timeout=60)
    return out, process_tree(proc.pid)


def shut_down(out: Output, tree: list[int], sig: signal.Signals = signal.SIGTERM) -> None:
    out.proc.send_signal(sig)
    assert out.proc.wait(timeout=30) == 0, out.text[-3000:]
    wait_for(lambda: not alive(tree), 10, what=f"no process left of {tree}")


def component_pid(stack: StackProject, name: str) -> int:
    state = read_state(stack.root / ".devkit") or {}
    return int(state["components"][name]["pid"])


def register(stack: StackProject, username: str = "ada") -> str:
    body = {"username": username, "password": "correct horse battery"}
    response = stack.post("/api/auth/register", json=body)
    assert response.status_code in (200, 201), response.text
    login = stack.post("/api/auth/login", json=body)
    assert login.status_code == 200, login.text
    return login.json()["token"]


def test_up_serves_the_api_and_reloads_edits_and_recovers_from_a_syntax_error(
    stack: StackProject,
) -> None:
    out, tree = up(stack)
    try:
        status = stack.get("/status")
        assert status.status_code == 200 and status.json()["db"] == "ok"
        token = register(stack)
        me = stack.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["user"]["username"] == "ada"
        assert served_value(stack) == "v1"

        write_marker(stack, 'VALUE = "v2"\n')
        wait_for(lambda: served_value(stack) == "v2", 15, what="the edited code served")

        write_marker(stack, "VALUE = (\n")
        out.wait("api crashed", timeout=15)
        out.wait("SyntaxError", timeout=5)
        assert served_value(stack) is None

        write_marker(stack, 'VALUE = "v3"\n')
        wait_for(lambda: served_value(stack) == "v3", 15, what="the fixed code served")
        status = run_devkit(stack.root, "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        assert '"healthy"' in status.stdout
    finally:
        shut_down(out, process_tree(out.proc.pid) or tree)


def test_kill_9_of_postgres_and_of_the_api_are_restarted_and_data_is_kept(
    stack: StackProject,
) -> None:
    out, tree = up(stack)
    try:
        token = register(stack, "grace")
        auth = {"Authorization": f"Bearer {token}"}
        created = stack.post("/api/notes", json={"title": "kept"}, headers=auth)
        assert created.status_code == 201, created.text

        postgres = component_pid(stack, "postgres")
        os.kill(postgres, signal.SIGKILL)
        wait_for(
            lambda: component_pid(stack, "postgres") != postgres,
            30,
            what="postgres restarted with a new pid",
        )
        wait_for(
            lambda: stack.get("/status").status_code == 200,
            30,
            what="the API sees the database again",
        )
        notes = stack.get("/api/notes", headers=auth)
        assert [n["title"] for n in notes.json()["items"]] == ["kept"]

        api = component_pid(stack, "api")
        os.kill(api, signal.SIGKILL)
        wait_for(lambda: component_pid(stack, "api") != api, 30, what="api restarted")
        wait_for(lambda: stack.get("/status").status_code == 200, 30, what="API serving again")
    finally:
        shut_down(out, process_tree(out.proc.pid) or tree, signal.SIGINT)
