"""Attached (`devkit attach`): `q` leaves the dashboard and devkit keeps running; `X` stops
devkit like `q` does in-process; the help screen says so; in-process, `X` is not offered."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from textual.screen import Screen
from textual.widgets import Static

from devkit.ui.help_screen import HelpScreen
from tests.ui.conftest import make_app, until
from tests.ui.scripted import ScriptedController


def help_text(screen: Screen) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    for static in screen.query(Static):
        content = static.content
        console.print(content if isinstance(content, Table) else str(content))
    return console.export_text()


async def test_q_attached_leaves_without_stopping_devkit(controller: ScriptedController) -> None:
    app = make_app(controller, attached=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0
    assert ("shutdown", "") not in controller.commands
    assert controller.commands == []


async def test_capital_x_attached_stops_devkit_with_progress(
    controller: ScriptedController,
) -> None:
    app = make_app(controller, attached=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("X")
        await until(pilot, lambda: app.return_code is not None, what="Stopped to end the app")
    assert controller.commands == [("shutdown", "")]
    assert app.stopping


async def test_capital_x_in_process_does_nothing(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("X")
        await pilot.pause()
        assert controller.commands == []
        assert app.return_code is None
        assert app.check_action("stop_devkit", ()) is False  # hidden from the footer
        assert app.check_action("quit", ()) is True


async def test_help_says_what_q_and_x_do_when_attached(controller: ScriptedController) -> None:
    app = make_app(controller, attached=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help screen")
        text = help_text(app.screen)
    assert "devkit keeps running" in text
    assert "stop devkit" in text


async def test_help_in_process_has_no_x(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help screen")
        text = help_text(app.screen)
    assert "stops everything" in text
    assert "stop devkit" not in text
