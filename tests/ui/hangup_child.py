"""Child process for test_hangup: the dashboard on a pty with a steady stream of log lines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from devkit.core.events import Subscriber
from devkit.ui.app import run_dashboard
from tests.ui.scripted import ScriptedController


class Ready(ScriptedController):
    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = marker

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        unsubscribe = super().subscribe(subscriber)
        self.flood(10_000_000, per_second=5_000)
        self.marker.write_text("ready")
        return unsubscribe


if __name__ == "__main__":
    sys.exit(run_dashboard(Ready(Path(sys.argv[1]))))
