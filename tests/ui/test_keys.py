"""One pilot test (or more) per key binding: the controller got the command or the UI changed."""

from __future__ import annotations

from pathlib import Path

from devkit.core.events import ShutdownProgress, State, Stopped
from devkit.ui.help_screen import HelpScreen
from tests.ui.conftest import make_app, until
from tests.ui.scripted import ScriptedController, default_statuses


def lines_of(app) -> list[str]:
    return list(app.log_view.lines)


async def test_r_restarts_the_selected_component(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await pilot.press("down", "r")
        assert controller.commands == [("restart", "postgres"), ("restart", "api")]


async def test_s_stops_a_running_component_and_starts_a_stopped_one(
    controller: ScriptedController,
) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "s")
        assert controller.commands == [("stop", "api")]
        controller.set_state("api", State.STOPPED, detail="", started_at=None)
        await until(pilot, lambda: app.table.statuses["api"].state == State.STOPPED)
        await pilot.press("s")
        assert controller.commands[-1] == ("start", "api")


async def test_s_on_a_disabled_component_sends_nothing_and_says_why() -> None:
    statuses = default_statuses()
    statuses[2] = statuses[2].__class__("metro", "expo", State.DISABLED, "no client/ folder")
    controller = ScriptedController(statuses)
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "s")
        assert controller.commands == []
        assert any("no client/ folder" in n.message for n in app._notifications)


async def test_capital_r_restarts_everything(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("R")
        assert controller.commands == [("restart_all",)]


async def test_a_toggles_all_logs_and_selected_component_only(
    controller: ScriptedController,
) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        assert any("| database system" in line for line in lines_of(app))
        assert any(" api " in line for line in lines_of(app))
        await pilot.press("a")
        assert lines_of(app) and all(" postgres | " in line for line in lines_of(app))
        assert "logs: postgres" in app.status_text()
        await pilot.press("down")
        assert lines_of(app) and all(" api " in line for line in lines_of(app))
        await pilot.press("a")
        assert {" api ", " metro ", " postgres "} <= {
            word
            for line in lines_of(app)
            for word in (" api ", " metro ", " postgres ")
            if word in line
        }


async def test_slash_filters_by_substring_and_escape_clears(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"GET /", "enter")
        assert len(lines_of(app)) == 2 and all("GET /" in line for line in lines_of(app))
        assert not app.query_one("#filter").display
        assert "filter: GET /" in app.status_text()
        controller.line("api", "GET /later arrives filtered")
        controller.line("api", "not shown")
        await until(pilot, lambda: len(lines_of(app)) == 3, what="filtered live line")
        await pilot.press("slash", "escape")
        assert len(lines_of(app)) == 10


async def test_slash_regex_filter_and_invalid_regex(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"/items|flask/")
        assert len(lines_of(app)) == 2
        await pilot.press("backspace", *"(/")
        assert lines_of(app) == []
        assert "invalid regex" in app.status_text()
        assert app.query_one("#filter").has_class("-invalid")


async def test_keys_typed_in_the_filter_do_not_run_commands(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"qrsRacedf")
        assert controller.commands == []
        assert app.query_one("#filter").value == "qrsRacedf"


async def test_f_toggles_follow(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.log_view
        await pilot.press("f")
        assert not log.auto_scroll and "follow off" in app.status_text()
        for i in range(100):
            controller.line("api", f"line {i}")
        await until(pilot, lambda: log.line_count >= 108)
        await pilot.pause()
        assert log.scroll_y == 0
        await pilot.press("f")
        assert log.auto_scroll and log.is_vertical_scroll_end and log.scroll_y > 0


async def test_follow_pauses_while_scrolled_up(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.log_view
        for i in range(100):
            controller.line("api", f"line {i}")
        await until(pilot, lambda: log.line_count >= 108 and log.is_vertical_scroll_end)
        log.scroll_to(y=10, animate=False, immediate=True)
        await until(pilot, lambda: "paused" in app.status_text(), what="paused status")
        controller.line("api", "one more")
        await until(pilot, lambda: log.line_count >= 109)
        await pilot.pause()
        assert log.scroll_y == 10
        log.scroll_end(animate=False, immediate=True)
        controller.line("api", "and another")
        await until(pilot, lambda: log.line_count >= 110)
        await pilot.pause()
        assert log.is_vertical_scroll_end and "paused" not in app.status_text()


async def test_c_clears_the_log(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.log_view.line_count == 8
        await pilot.press("c")
        assert app.log_view.line_count == 0
        await pilot.press("a")  # rebuilding the view does not bring cleared lines back
        assert app.log_view.line_count == 0


async def test_e_exports_the_visible_log(controller: ScriptedController, tmp_path: Path) -> None:
    app = make_app(controller, state_dir=tmp_path / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"GET", "enter", "e")
        files = list((tmp_path / "state").glob("logs-*.txt"))
        assert len(files) == 1
        written = files[0].read_text().splitlines()
        assert written == lines_of(app) and len(written) == 2
        assert any(str(files[0]) in n.message for n in app._notifications)


async def test_e_says_what_failed_when_the_state_dir_is_not_writable(
    controller: ScriptedController, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    app = make_app(controller, state_dir=blocker / "state")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert any(
            n.severity == "error" and "could not write" in n.message for n in app._notifications
        )


async def test_d_toggles_qr_and_device_table(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        devices = app.devices
        assert devices.mode == "qr" and devices.border_title == "Expo Go"
        await pilot.press("d")
        assert devices.mode == "table" and devices.border_title == "devices"
        assert "Android emulator" in devices.plain_text()
        await pilot.press("d")
        assert devices.mode == "qr"


async def test_question_mark_shows_help(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("r")  # keys go to the help screen, not to the dashboard
        assert controller.commands == []
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_shuts_down_cleanly_and_exits_with_the_supervisor_code(
    controller: ScriptedController,
) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None, what="exit")
    assert controller.commands == [("shutdown", "")]
    assert app.return_code == 0


async def test_ctrl_c_shows_progress_and_second_ctrl_c_forces() -> None:
    controller = ScriptedController(stop_on_shutdown=False)
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+c")
        assert controller.commands == [("shutdown", "")]
        assert "stopping" in app.status_text()
        controller.emit(ShutdownProgress("metro", State.STOPPED))
        controller.emit(ShutdownProgress("api", State.STOPPING))
        await until(pilot, lambda: "api stopping" in app.status_text(), what="progress")
        assert "metro stopped" in app.status_text()
        await pilot.press("ctrl+c")
        assert controller.commands[-1] == ("shutdown", "force")
        assert "forcing" in app.status_text()
        controller.emit(Stopped(3))
        await until(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 3
