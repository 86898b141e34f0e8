"""Child process for test_driver: the dashboard on a pty; every 50 ms it writes what the test
checks (driver class, screens open, the input thread's id) to the file named by argv[1]."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from devkit.ui.app import DashboardApp
from tests.ui.scripted import ScriptedController


class ReportingApp(DashboardApp):
    def __init__(self, report: Path) -> None:
        super().__init__(ScriptedController())
        self.report = report

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(0.05, self._write_report)

    def _write_report(self) -> None:
        reader = next((t for t in threading.enumerate() if t.name == "textual-input"), None)
        facts = {
            "driver": type(self._driver).__name__,
            "screens": len(self.screen_stack),
            "input_thread": reader.native_id if reader is not None else None,
        }
        self.report.with_suffix(".tmp").write_text(json.dumps(facts))
        self.report.with_suffix(".tmp").replace(self.report)


if __name__ == "__main__":
    app = ReportingApp(Path(sys.argv[1]))
    result = app.run()
    sys.exit(result if isinstance(result, int) else 0)
