"""Metro through the stand-in: enabled only for an Expo client, LAN address in its environment,
health from /status, restarted when the LAN address changes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpx

from devkit.core.events import LogLine, State, StateChanged, TargetsChanged
from devkit.core.supervisor import Supervisor
from devkit.services.metro import MetroService, expo_project_reason
from tests.integration.supervisor_helpers import Harness, settings
from tests.support.devkit_proc import still_alive_after
from tests.support.ports import free_port
from tests.support.standins import install_standin_packages, metro_command


def metro_settings(
    tmp_path: Path, deps: dict[str, str] | None = None, installed: bool = True, **env: str
):
    client = tmp_path / "client"
    client.mkdir(exist_ok=True)
    (client / "package.json").write_text(
        json.dumps({"dependencies": deps if deps is not None else {"expo": "~51.0.0"}})
    )
    if installed:
        install_standin_packages(client)
    values = {"METRO_PORT": str(free_port()), "PORT": "15299", **env}
    return replace(settings(tmp_path, env=values), client_dir=client, metro_command=metro_command())


def test_metro_is_disabled_with_the_reason(tmp_path: Path) -> None:
    plain = replace(settings(tmp_path), client_dir=tmp_path / "client")
    assert "no client/ folder" in (expo_project_reason(plain) or "")
    no_expo = metro_settings(tmp_path, deps={"react": "18"})
    assert "does not depend on expo" in (MetroService(no_expo).disabled_reason() or "")
    assert MetroService(metro_settings(tmp_path)).disabled_reason() is None


async def test_disabled_metro_shows_disabled_and_is_never_started(tmp_path: Path) -> None:
    svc = MetroService(replace(settings(tmp_path), client_dir=tmp_path / "client"))
    sup = Supervisor(settings(tmp_path), [svc], network=False)
    async with Harness(sup) as h:
        await h.until(lambda: h.events, what="first event")
        status = h.status("metro")
        assert status.state == State.DISABLED and "no client/ folder" in status.detail
        assert status.url == ""  # not exp://127.0.0.1:8081: nothing there to open
        sup.request_start("metro")
        await h.until(
            lambda: any("disabled" in getattr(e, "text", "") for e in h.events), what="notice"
        )
        assert svc.child is None


async def test_metro_gets_the_lan_address_and_restarts_when_it_changes(tmp_path: Path) -> None:
    s = metro_settings(tmp_path)
    svc = MetroService(s)
    sup = Supervisor(s, [svc], lan_host="127.0.0.1", network=False)
    async with Harness(sup) as h:
        first = await h.state("metro", State.HEALTHY)
        assert first.url == f"exp://127.0.0.1:{s.metro_port}"
        assert any(
            isinstance(e, LogLine) and "host=127.0.0.1 api=http://127.0.0.1:15299" in e.text
            for e in h.events
        )
        assert any(isinstance(e, TargetsChanged) and e.lan_host == "127.0.0.1" for e in h.events)
        sup._call(lambda: sup.net._changed(SimpleNamespace(host="127.0.0.2", reason="test")))
        await h.until(
            lambda: h.status("metro").restarts == 1 and h.status("metro").state == State.HEALTHY,
            what="metro restarted",
        )
        assert any(
            isinstance(e, LogLine) and "host=127.0.0.2 api=http://127.0.0.2:15299" in e.text
            for e in h.events
        )
        assert h.status("metro").url == f"exp://127.0.0.2:{s.metro_port}"
        pid = h.status("metro").pid
    assert still_alive_after([first.pid, pid]) == []


async def test_an_explicit_expo_public_api_url_is_kept(tmp_path: Path) -> None:
    s = metro_settings(tmp_path, EXPO_PUBLIC_API_URL="https://api.example.test")
    sup = Supervisor(s, [MetroService(s)], network=False)
    async with Harness(sup) as h:
        await h.state("metro", State.HEALTHY)
        assert any(
            isinstance(e, LogLine) and "api=https://api.example.test" in e.text for e in h.events
        )


async def test_a_bundling_error_is_a_problem_of_healthy_metro_until_a_good_bundle(
    tmp_path: Path,
) -> None:
    """Metro answers /status while App.js does not build: devkit must not just say healthy."""
    s = metro_settings(tmp_path)
    app = s.client_dir / "App.js"
    app.write_text("export default function App() { return null }\n")
    sup = Supervisor(s, [MetroService(s)], network=False)
    bundle = f"http://127.0.0.1:{s.metro_port}/index.bundle?platform=ios&dev=true"
    async with Harness(sup) as h, httpx.AsyncClient(timeout=10) as http:
        await h.state("metro", State.HEALTHY)
        assert (await http.get(bundle)).status_code == 200
        assert h.status("metro").problem == ""
        app.write_text("<Text>{{ broken</Text>\n")
        assert (await http.get(bundle)).status_code == 500
        broken = await h.until(
            lambda: "SyntaxError" in h.status("metro").problem and h.status("metro"),
            what="the bundling error shown",
        )
        assert broken.state == State.HEALTHY  # still serving: the problem is the app's code
        assert broken.problem == (
            'iOS bundle failed: SyntaxError: App.js: Unexpected token, expected "," (1:2)'
        )
        assert ">  1 | <Text>{{ broken</Text>" in broken.problem_lines
        assert any(
            isinstance(e, StateChanged) and e.status.problem == broken.problem for e in h.events
        )
        app.write_text("export default function App() { return null }\n")
        assert (await http.get(bundle)).status_code == 200
        await h.until(lambda: h.status("metro").problem == "", what="the problem cleared")
        assert h.status("metro").problem_lines == ()


async def test_uninstalled_client_packages_are_named_with_the_fix_not_a_crash_loop(
    tmp_path: Path,
) -> None:
    """client/ without node_modules: npx would give up at once, five times, with no hint."""
    s = metro_settings(tmp_path, installed=False)
    (s.client_dir / "package-lock.json").write_text("{}")
    svc = MetroService(s)
    sup = Supervisor(s, [svc], network=False)
    async with Harness(sup) as h:
        crashed = await h.state("metro", State.CRASHED)
        assert "not installed (no node_modules)" in crashed.detail
        assert "run npm install in client/" in crashed.detail
        assert any("fix: cd client && npm install" in line for line in crashed.last_error)
        assert crashed.restarts == 0 and svc.child is None  # the command never ran
        assert "restarting" not in crashed.detail and "crash loop" not in crashed.detail
        # once installed, a restart starts it
        install_standin_packages(s.client_dir)
        sup.request_restart("metro")
        await h.state("metro", State.HEALTHY)
