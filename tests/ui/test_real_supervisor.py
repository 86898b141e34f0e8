"""The dashboard on a real Supervisor (running on a SupervisorThread) with real children."""

from __future__ import annotations

from pathlib import Path

from devkit.core.events import State
from devkit.core.hosting import SupervisorThread
from devkit.core.supervisor import Supervisor
from devkit.ui.app import DashboardApp
from devkit.ui.error_panel import ErrorPanel
from tests.integration.supervisor_helpers import py, settings
from tests.support.devkit_proc import still_alive_after
from tests.ui.conftest import until

SLEEP = "import time; print('up', flush=True); time.sleep(60)"
CRASH = (
    "import sys; print('Traceback (most recent call last):', flush=True); "
    "print('RuntimeError: no database', flush=True); sys.exit(3)"
)


async def test_real_events_restart_crash_and_quit(tmp_path: Path) -> None:
    sup = Supervisor(
        settings(tmp_path),
        [
            py("db", SLEEP),
            py("web", SLEEP, depends_on=("db",)),
            py("worker", CRASH, restart_policy="no"),
        ],
        network=False,
    )
    thread = SupervisorThread(sup).start()
    pids: list[int] = []
    try:
        app = DashboardApp(sup, state_dir=tmp_path / ".devkit")
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.table

            def state(name: str) -> State:
                return table.statuses[name].state

            await until(
                pilot,
                lambda: state("db") == state("web") == State.HEALTHY,
                timeout=20,
                what="db and web healthy",
            )
            await until(
                pilot, lambda: state("worker") == State.CRASHED, timeout=20, what="worker crashed"
            )
            panel = app.query_one(ErrorPanel)
            await until(pilot, lambda: panel.display, what="error panel")
            assert "RuntimeError: no database" in str(panel.render())
            assert any("up" in line for line in app.log_view.lines)
            pids = [s.pid for s in sup.snapshot() if s.pid]
            old = table.statuses["web"].pid
            await pilot.press("down", "r")
            await until(
                pilot,
                lambda: (
                    state("web") == State.HEALTHY and table.statuses["web"].pid not in (None, old)
                ),
                timeout=20,
                what="web restarted",
            )
            pids += [s.pid for s in sup.snapshot() if s.pid]
            await pilot.press("q")
            await until(pilot, lambda: app.return_code is not None, timeout=30, what="exit")
        assert app.return_code == 0
        assert thread.join(timeout=20) == 0
    finally:
        thread.stop(timeout=20)
    assert still_alive_after(pids) == []
