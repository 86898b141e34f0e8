"""run_dashboard(controller, config): the dashboard takes what it shows besides the events from
an explicit DashboardConfig (from settings in-process, from the control socket attached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.ui import app as app_module
from tests.ui.scripted import ScriptedController


def test_run_dashboard_takes_its_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def fake_run(self: app_module.DashboardApp) -> int:
        seen.update(
            api=self.api_port,
            metro=self.metro_port,
            state=self.state_dir,
            lan=self.lan_host,
            lines=self.max_lines,
            attached=self.attached,
        )
        return 7

    monkeypatch.setattr(app_module.DashboardApp, "run", fake_run)
    config = app_module.DashboardConfig(
        api_port=5001,
        metro_port=8082,
        state_dir=tmp_path,
        lan_host="10.0.0.9",
        max_lines=500,
        attached=True,
    )
    assert app_module.run_dashboard(ScriptedController(), config) == 7
    assert seen == {
        "api": 5001,
        "metro": 8082,
        "state": tmp_path,
        "lan": "10.0.0.9",
        "lines": 500,
        "attached": True,
    }


def test_run_dashboard_defaults_for_a_bare_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module.DashboardApp, "run", lambda self: None)
    assert app_module.run_dashboard(ScriptedController()) == 0
