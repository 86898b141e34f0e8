"""The API component with real processes on a small stand-in Flask project in tmp_path.

Both reload modes run through the real Supervisor: reload on a source change, crash on a syntax
error and recovery on the fix, kill -9 of the serving child and of the warm parent, a full
restart on a dependency/environment change, migrations before serving, and no process left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from devkit.core.events import AllHealthy, LogLine, State, StateChanged
from devkit.core.supervisor import Supervisor
from devkit.services.api import ApiService
from devkit.services.registry import build_services
from tests.integration.supervisor_helpers import Harness, settings
from tests.support.devkit_proc import still_alive_after
from tests.support.ports import free_port
from tests.support.wait import wait_for

INIT = """
import os
from flask import Flask

from server.value import VALUE


def create_app():
    app = Flask(__name__)

    @app.get("/status")
    def status():
        if os.environ.get("FAKE_DB_DOWN"):
            return {"status": "degraded", "db": "down"}, 503
        return {"status": "ok"}

    @app.get("/value")
    def value():
        return {"value": VALUE, "greeting": os.environ.get("GREETING", ""), "pid": os.getpid()}

    return app
"""
MAIN = """
import os
from server import create_app

create_app().run(host="0.0.0.0", port=int(os.environ["PORT"]))
"""


def make_project(root: Path, port: int, value: str = "v1", greeting: str = "hello") -> Path:
    pkg = root / "server"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(INIT)
    (pkg / "__main__.py").write_text(MAIN)
    (pkg / "value.py").write_text(f"VALUE = {value!r}\n")
    (root / "pyproject.toml").write_text('[project]\nname = "standin"\nversion = "0"\n')
    (root / ".env").write_text(f"PORT={port}\nGREETING={greeting}\n")
    return pkg


def set_value(root: Path, value: str) -> None:
    (root / "server" / "value.py").write_text(f"VALUE = {value!r}\n")


def api_supervisor(root: Path, port: int, **values: object) -> tuple[Supervisor, ApiService]:
    env = {"PORT": str(port), "GREETING": "hello", **values.pop("env", {})}  # type: ignore[dict-item]
    s = settings(root, components=("api",), env=env, **values)
    plan = build_services(s)
    (api,) = plan.services
    assert isinstance(api, ApiService) and api.depends_on == ()
    return Supervisor(s, plan.services, network=False, backoff_initial=0.05), api


def get_json(port: int, path: str = "/value", timeout: float = 2.0) -> dict[str, object] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def served(port: int, key: str, expected: str, timeout: float = 15.0) -> dict[str, object]:
    """Poll GET /value until `key` has the expected value; returns the answer."""

    def check() -> dict[str, object] | None:
        body = get_json(port)
        return body if body is not None and body.get(key) == expected else None

    return await asyncio.to_thread(wait_for, check, timeout, 0.02, f"{key}={expected}")


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def gone(pids: list[int]) -> bool:
    return still_alive_after([p for p in pids if p]) == []


async def test_fork_mode_serves_reloads_and_recovers_from_a_syntax_error(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port)
    async with Harness(sup) as h:
        status = await h.state("api", State.HEALTHY)
        assert status.url == f"http://127.0.0.1:{port}" and status.ports == (port,)
        assert status.backend == "flask"
        parent, first_child = api.pid, api.child_pid
        assert parent and first_child and parent != first_child
        body = await served(port, "value", "v1")
        # the child or one of its workers (same process group) answered
        assert os.getpgid(int(body["pid"])) == first_child and body["greeting"] == "hello"  # type: ignore[call-overload]

        set_value(tmp_path, "v2")  # an edit: served by a new child of the same warm parent
        body = await served(port, "value", "v2")
        assert api.pid == parent and body["pid"] not in (first_child, parent)
        assert os.getpgid(int(body["pid"])) == api.child_pid  # type: ignore[call-overload]
        # the old child finishes what it holds, then exits
        await asyncio.to_thread(wait_for, lambda: gone([first_child]), 15, 0.02, "old child gone")
        assert any(
            isinstance(e, LogLine) and e.text == "changed: server/value.py" for e in h.events
        )
        await h.state("api", State.HEALTHY)

        (tmp_path / "server" / "value.py").write_text("VALUE = 'v3\n")  # a syntax error
        status = await h.until(
            lambda: h.status("api").state == State.CRASHED and h.status("api"), what="crashed"
        )
        assert "waiting for a change" in status.detail
        assert any("SyntaxError" in line for line in status.last_error), status.last_error
        assert any('value.py", line 1' in line for line in status.last_error)
        restarts = status.restarts
        assert api.pid == parent  # the warm parent stays for the next change

        set_value(tmp_path, "v3")  # the fix: healthy again without a manual restart
        await h.state("api", State.HEALTHY)
        await served(port, "value", "v3")
        assert h.status("api").restarts == restarts + 1
        pids = [parent, api.child_pid or 0]
    assert gone(pids)


async def test_a_crashed_api_answers_503_with_the_error_at_once(tmp_path: Path) -> None:
    """No request hangs while the code cannot load: the warm parent answers 503 naming the
    exception, file and line; the fix is served by the new child."""
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port, env={"APP_ENV": "development"})
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        saved_at = len(h.events)
        (tmp_path / "server" / "value.py").write_text("VALUE = 'v2\n")  # a syntax error
        await h.until(lambda: h.status("api").state == State.CRASHED, what="crashed")

        def crashed_answer() -> httpx.Response:
            # bounded: before the fix this waited in the backlog until the client gave up
            return httpx.post(
                f"http://127.0.0.1:{port}/value",
                content=b"x" * 50_000,
                timeout=5.0,
                trust_env=False,
            )

        response = await asyncio.to_thread(crashed_answer)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "api_crashed"
        assert error["exception"] == "SyntaxError"
        assert error["file"] == "server/value.py" and error["line"] == 1
        assert "unterminated string literal" in error["message"]
        assert "server/value.py, line 1" in error["message"]
        assert any("SyntaxError" in line for line in error["traceback"])  # APP_ENV development
        answers = await asyncio.to_thread(lambda: [get_status(port, "/status") for _ in range(20)])
        assert answers == [503] * 20
        # the old child serves while the new one loads: never taken for the new run's health
        since = h.events[saved_at:]
        assert not any(isinstance(e, AllHealthy) for e in since)
        assert not any(isinstance(e, StateChanged) and e.new == State.HEALTHY for e in since)
        assert h.status("api").state == State.CRASHED

        set_value(tmp_path, "v3")  # the fix: the new child serves, the crash page is gone
        await served(port, "value", "v3")
        assert await asyncio.to_thread(get_status, port, "/status") == 200
        pids = [api.pid or 0, api.child_pid or 0]
    assert gone(pids)


def get_status(port: int, path: str) -> int:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5.0, trust_env=False).status_code


async def test_kill_9_of_the_child_and_of_the_warm_parent(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port)
    seen: list[int] = []
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        parent, child = api.pid, api.child_pid
        assert parent and child
        seen += [parent, child]
        os.kill(child, signal.SIGKILL)
        await h.until(
            lambda: h.status("api").restarts == 1 and h.status("api").state == State.HEALTHY,
            what="child restarted",
        )
        assert api.pid == parent and api.child_pid not in (None, child)
        assert any("SIGKILL" in line for line in h.status("api").last_error)
        await served(port, "value", "v1")
        seen.append(api.child_pid or 0)

        os.kill(parent, signal.SIGKILL)
        await h.until(
            lambda: h.status("api").restarts == 2 and h.status("api").state == State.HEALTHY,
            what="parent restarted",
        )
        assert api.pid not in (None, parent)
        assert gone(seen)  # the old child died with its parent
        await served(port, "value", "v1")
        seen += [api.pid or 0, api.child_pid or 0]
    assert gone(seen)


def hold_create_app(pkg: Path, hold: Path) -> None:
    """create_app() waits while `hold` exists: the next child stays loading until it is gone."""
    init = (pkg / "__init__.py").read_text()
    (pkg / "__init__.py").write_text(
        init.replace(
            "def create_app():\n",
            "def create_app():\n"
            "    import pathlib, time\n"
            f"    while pathlib.Path({str(hold)!r}).exists():\n"
            "        time.sleep(0.01)\n",
        )
    )


@pytest.mark.parametrize("server", ["granian", "waitress"])
async def test_a_slow_new_child_lets_the_replaced_one_answer_again(
    tmp_path: Path, server: str
) -> None:
    """The replaced child is paused while the new one loads; when loading takes longer than
    PAUSE_LIMIT it accepts again (old code rather than a long wait), then drains."""
    port = free_port()
    hold = tmp_path / "hold"
    hold_create_app(make_project(tmp_path, port), hold)
    sup, api = api_supervisor(tmp_path, port, env={"DEVKIT_API_SERVER": server})
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        first_child = api.child_pid
        hold.write_text("")  # the next child waits in create_app until this is gone
        set_value(tmp_path, "v2")
        await h.until(
            lambda: h.status("api").detail == "loading the new code", what="new child loading"
        )
        body = await served(port, "value", "v1")  # the old child answers again
        assert os.getpgid(int(body["pid"])) == first_child  # type: ignore[call-overload]
        hold.unlink()
        body = await served(port, "value", "v2")
        assert os.getpgid(int(body["pid"])) == api.child_pid  # type: ignore[call-overload]
        await asyncio.to_thread(wait_for, lambda: gone([first_child or 0]), 15, 0.02, "drained")


async def test_a_child_replaced_within_a_second_still_teaches_the_parent(tmp_path: Path) -> None:
    """A child reports the libraries it imported LEARN_AFTER seconds after serving, or when it
    drains if that comes first: saves less than a second apart still fill the learned list."""
    port = free_port()
    pkg = make_project(tmp_path, port)
    (pkg / "value.py").write_text("import colorsys  # only this version imports it\nVALUE = 'v1'\n")
    sup, api = api_supervisor(tmp_path, port)
    learned = tmp_path / ".devkit" / "api-preloads.txt"
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        set_value(tmp_path, "v2")  # the first child is replaced at once
        await served(port, "value", "v2")
        await asyncio.to_thread(
            wait_for, lambda: "colorsys" in read_text(learned).split(), 15, 0.05, "learned"
        )


@pytest.mark.slow
async def test_a_dependency_or_environment_change_restarts_the_warm_parent(tmp_path: Path) -> None:
    port = free_port()
    init = make_project(tmp_path, port) / "__init__.py"
    init.write_text(
        "import colorsys  # a library the warm parent does not preload\n" + init.read_text()
    )
    sup, api = api_supervisor(tmp_path, port)
    seen: list[int] = []
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        first = api.pid
        assert first
        seen += [first, api.child_pid or 0]
        # the child reports what it imported; the warm parent keeps it for the next parent
        learned = tmp_path / ".devkit" / "api-preloads.txt"
        await asyncio.to_thread(
            wait_for, lambda: "colorsys" in read_text(learned).split(), 15, 0.05, "learned"
        )
        env_file = tmp_path / ".env"
        env_file.write_text(env_file.read_text().replace("GREETING=hello", "GREETING=bonjour"))
        await served(port, "greeting", "bonjour")  # the new .env is read by the new parent
        second = api.pid
        assert second not in (None, first) and gone([first])
        client = getattr(api.runner, "client", None)
        assert client is not None and "colorsys" in client.preloaded
        seen += [second or 0, api.child_pid or 0]

        with (tmp_path / "pyproject.toml").open("a") as f:
            f.write("# a new dependency\n")
        await h.until(
            lambda: api.pid not in (None, second) and h.status("api").state == State.HEALTHY,
            what="new warm parent",
        )
        assert gone([second or 0])
        assert any(
            isinstance(e, LogLine) and "pyproject.toml" in e.text and "full restart" in e.text
            for e in h.events
        )
        seen += [api.pid or 0, api.child_pid or 0]
    assert gone(seen)


@pytest.mark.slow
async def test_a_package_installed_into_the_venv_restarts_the_warm_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"  # stands in for the venv's (shared by other tests)
    site.mkdir()
    monkeypatch.setattr(ApiService, "venv_paths", lambda self: [site])
    project = tmp_path / "project"
    port = free_port()
    make_project(project, port)
    sup, api = api_supervisor(project, port)
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        first = api.pid
        (site / "newlib-1.0.dist-info").mkdir()
        await h.until(
            lambda: api.pid not in (None, first) and h.status("api").state == State.HEALTHY,
            20,
            what="new warm parent",
        )
        assert any(isinstance(e, LogLine) and "installed packages" in e.text for e in h.events)
        pids = [first or 0, api.pid or 0, api.child_pid or 0]
    assert gone(pids)


async def test_stop_and_start_commands_leave_no_process(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port)
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        pids = [api.pid or 0, api.child_pid or 0]
        sup.request_stop("api")
        await h.state("api", State.STOPPED)
        await asyncio.to_thread(wait_for, lambda: gone(pids), 5.0, 0.02, "stopped tree gone")
        assert api.pid is None
        with socket.socket() as probe:  # the port is free again
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        set_value(tmp_path, "v2")  # a stopped API stays stopped on a change
        await h.until(
            lambda: any(isinstance(e, LogLine) and "not restarted" in e.text for e in h.events),
            what="change noticed",
        )
        assert h.status("api").state == State.STOPPED and api.pid is None
        sup.request_start("api")
        await h.state("api", State.HEALTHY)
        await served(port, "value", "v2")
        pids += [api.pid or 0, api.child_pid or 0]
    assert gone(pids)


async def test_shutdown_closes_the_probe_connection_so_the_child_drains(tmp_path: Path) -> None:
    """The health probe keeps its connection alive; the shutdown closes it before stopping the
    API, so the draining child ends by itself (exit 0) instead of waiting for that idle
    connection (5 s) and being killed at shutdown_timeout."""
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port, shutdown_timeout=4.0)
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)  # a probe answered: its connection stays open
        client = getattr(api.runner, "client", None)
        assert client is not None and client.child_done is not None
    assert client.child_done.done() and client.child_done.result() == 0


async def test_spawn_mode_reloads_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port, api_reload="spawn")
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY)
        first = api.pid
        assert first and api.child_pid == first
        await served(port, "value", "v1")
        set_value(tmp_path, "v2")
        await served(port, "value", "v2")
        assert api.pid != first and gone([first])
        (tmp_path / "server" / "value.py").write_text("VALUE = (\n")
        status = await h.until(
            lambda: h.status("api").state == State.CRASHED and h.status("api"), what="crashed"
        )
        assert any("SyntaxError" in line for line in status.last_error)
        set_value(tmp_path, "v3")
        await served(port, "value", "v3")
        pids = [first, api.pid or 0]
    assert gone(pids)


MIGRATIONS_OK = """
from pathlib import Path


def apply_pending(conninfo):
    Path("migrated.txt").write_text(conninfo)
    return ["0001_init"]
"""
MIGRATIONS_BROKEN = """
def apply_pending(conninfo):
    raise RuntimeError("relation notes already exists")
"""


@pytest.mark.parametrize("mode", ["fork", "spawn"])
async def test_migrations_run_before_serving_and_a_failure_crashes(
    tmp_path: Path, mode: str
) -> None:
    port = free_port()
    pkg = make_project(tmp_path, port)
    (pkg / "migrations.py").write_text(MIGRATIONS_BROKEN)
    url = "postgresql://app@127.0.0.1:1/app"
    sup, api = api_supervisor(tmp_path, port, api_reload=mode, env={"DATABASE_URL": url})
    async with Harness(sup) as h:
        status = await h.until(
            lambda: h.status("api").state == State.CRASHED and h.status("api"),
            what="crashed by the migration",
        )
        text = "\n".join(status.last_error) + status.detail
        assert "relation notes already exists" in text
        assert get_json(port) is None
        (pkg / "migrations.py").write_text(MIGRATIONS_OK)
        await h.state("api", State.HEALTHY)
        assert (tmp_path / "migrated.txt").read_text() == url
        pids = [api.pid or 0, api.child_pid or 0]
    assert gone(pids)


async def test_503_from_status_is_unhealthy_db_down(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    sup, api = api_supervisor(tmp_path, port, env={"FAKE_DB_DOWN": "1"})
    async with Harness(sup) as h:
        await h.until(lambda: "db down" in h.status("api").detail, what="db down")
        assert h.status("api").state == State.STARTING
        health = await api.health()
        assert not health.ok and "503" in health.detail
        pids = [api.pid or 0, api.child_pid or 0]
    assert gone(pids)


async def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        make_project(tmp_path, port)
        sup, api = api_supervisor(tmp_path, port)
        async with Harness(sup) as h:
            status = await h.until(
                lambda: h.status("api").state == State.CRASHED and h.status("api"), what="crashed"
            )
            assert f"port {port} (api) is held by" in status.detail
            assert any("PORT=" in line for line in status.last_error)
    finally:
        holder.close()


async def test_shutdown_while_crashed_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    (tmp_path / "server" / "value.py").write_text("VALUE = \n")
    sup, api = api_supervisor(tmp_path, port)
    async with Harness(sup) as h:
        status = await h.until(
            lambda: h.status("api").state == State.CRASHED and h.status("api"), what="crashed"
        )
        assert any("SyntaxError" in line for line in status.last_error)
        parent = api.pid
        assert parent  # kept warm for the fix
    assert gone([parent])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
