"""run_dashboard(controller): reads ports, state dir and LAN host from a Supervisor-like object."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from devkit.ui import app as app_module
from tests.ui.scripted import ScriptedController


def test_run_dashboard_takes_settings_from_the_supervisor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def fake_run(self: app_module.DashboardApp) -> int:
        seen.update(
            api=self.api_port,
            metro=self.metro_port,
            state=self.state_dir,
            lan=self.lan_host,
            lines=self.max_lines,
        )
        return 7

    monkeypatch.setattr(app_module.DashboardApp, "run", fake_run)
    controller = ScriptedController()
    controller.settings = SimpleNamespace(
        api_port=5001,
        metro_port=8082,  # type: ignore[attr-defined]
        state_dir=tmp_path,
        log_buffer_lines=500,
    )
    controller.net = SimpleNamespace(lan_host="10.0.0.9")  # type: ignore[attr-defined]
    assert app_module.run_dashboard(controller) == 7
    assert seen == {"api": 5001, "metro": 8082, "state": tmp_path, "lan": "10.0.0.9", "lines": 500}


def test_run_dashboard_defaults_for_a_bare_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module.DashboardApp, "run", lambda self: None)
    assert app_module.run_dashboard(ScriptedController()) == 0
