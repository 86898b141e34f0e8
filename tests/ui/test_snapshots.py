"""Snapshots of the main screen at fixed sizes with fixed data, clock and time zone.

Update after an intended change: `.venv/bin/pytest tests/ui/test_snapshots.py --snapshot-update`
and look at the SVGs in tests/ui/__snapshots__/.
"""

from __future__ import annotations

from textual.pilot import Pilot

from devkit.core.events import State
from tests.ui.conftest import make_app, until
from tests.ui.scripted import ScriptedController
from tests.ui.test_events import TRACEBACK


async def settled(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_main_screen_80x24(snap_compare, controller: ScriptedController) -> None:
    assert snap_compare(make_app(controller), terminal_size=(80, 24), run_before=settled)


def test_main_screen_120x40(snap_compare, controller: ScriptedController) -> None:
    assert snap_compare(make_app(controller), terminal_size=(120, 40), run_before=settled)


def test_device_table_120x40(snap_compare, controller: ScriptedController) -> None:
    assert snap_compare(
        make_app(controller), press=["d"], terminal_size=(120, 40), run_before=settled
    )


def test_crashed_component_80x24(snap_compare, controller: ScriptedController) -> None:
    app = make_app(controller)

    async def crash(pilot: Pilot) -> None:
        controller.set_state(
            "api", State.CRASHED, detail="exit code 1", last_error=TRACEBACK, started_at=None
        )
        await until(pilot, lambda: app.query_one("#error").display, what="error panel")
        app.clear_notifications()  # toasts are covered by a pilot test; keep the screen stable
        await settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=crash)


def test_help_80x24(snap_compare, controller: ScriptedController) -> None:
    assert snap_compare(
        make_app(controller), press=["question_mark"], terminal_size=(80, 24), run_before=settled
    )
