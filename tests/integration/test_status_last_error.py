"""`devkit status` of a crashed API carries its last error, and a socket the warm parent still
holds is not reported as an open port (issue 15 item 7)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.integration.test_api_service import make_project
from tests.support.devkit_proc import Output, devkit, kill_everything_recorded, run_devkit
from tests.support.ports import free_port


def test_status_of_a_crashed_api(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, port)
    with open(tmp_path / "pyproject.toml", "a") as handle:
        handle.write('\n[tool.devkit]\ncomponents = ["api"]\nshutdown_timeout = 3\n')
    proc = devkit(tmp_path, "up", "--headless")
    out = Output(proc)
    try:
        out.wait("all components healthy", timeout=60)
        (tmp_path / "server" / "value.py").write_text("VALUE = 'v3\n")  # a syntax error
        out.wait("crashed", timeout=30)
        done = run_devkit(tmp_path, "status", "--json")
        report = json.loads(done.stdout)
        (api,) = [c for c in report["components"] if c["name"] == "api"]
        assert api["state"] == "crashed", api
        assert any("SyntaxError" in line for line in api["last_error"]), api
        assert any("value.py" in line for line in api["last_error"]), api
        assert api["ports_open"] == {str(port): False}
        text = run_devkit(tmp_path, "status").stdout
        assert "api last error:" in text and "SyntaxError" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        kill_everything_recorded(tmp_path)
