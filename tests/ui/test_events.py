"""The dashboard driven by scripted supervisor events: table, panels, toasts, floods."""

from __future__ import annotations

from devkit.core.events import AllHealthy, ComponentStatus, Notice, State, TargetsChanged
from devkit.ui.error_panel import ErrorPanel
from tests.ui.conftest import make_app, until
from tests.ui.scripted import ScriptedController, default_statuses

TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "server/app.py", line 3',
    "ValueError: boom",
)


def cell(app, name: str, column: str) -> str:
    value = app.table.get_cell(name, column)
    return getattr(value, "plain", str(value))


async def test_state_change_updates_the_row(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(120, 40)) as pilot:
        assert cell(app, "api", "state") == "healthy"
        controller.set_state("api", State.UNHEALTHY, detail="database down")
        await until(pilot, lambda: cell(app, "api", "state") == "unhealthy")
        assert cell(app, "api", "detail") == "database down"
        assert "2/3 healthy" in app.status_text()
        assert any("api unhealthy: database down" in line for line in app.log_view.lines)


async def test_compact_layout_folds_detail_into_state(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        controller.set_state("api", State.UNHEALTHY, detail="database down")
        await until(pilot, lambda: cell(app, "api", "state") == "unhealthy database down")


async def test_layout_follows_the_terminal_width(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.table.wide
        await pilot.resize_terminal(130, 40)
        await until(pilot, lambda: app.table.wide, what="wide layout")
        assert cell(app, "postgres", "backend") == "postgres · native"
        assert app.table.row_count == 3


async def test_uptime_ticks_with_the_clock(controller: ScriptedController) -> None:
    """Seconds right after a (re)start, then a timer only for the next change of text."""
    now = [1_700_000_000.0]
    app = make_app(controller, clock=lambda: now[0])
    async with app.run_test(size=(80, 24)) as pilot:
        assert cell(app, "metro", "uptime") == "30s"
        controller.set_state("metro", State.HEALTHY, started_at=now[0])  # a restart
        await until(pilot, lambda: cell(app, "metro", "uptime") == "0s", what="restart")
        now[0] += 3
        await until(pilot, lambda: cell(app, "metro", "uptime") == "3s", what="seconds")
        now[0] += 60
        await until(pilot, lambda: cell(app, "metro", "uptime") == "1m", what="minutes")
        wait = app.table.next_uptime_change()
        assert wait is not None and 51 < wait <= 52  # postgres at 3m08s changes first
        for name in ("postgres", "api", "metro"):
            controller.set_state(name, State.STOPPED, started_at=None)
        await until(pilot, lambda: cell(app, "metro", "uptime") == "-", what="stopped")
        assert app.table.next_uptime_change() is None
        await until(pilot, lambda: app._tick_timer is None, what="no uptime timer")


async def test_uptime_changes_close_together_are_drawn_at_once(
    controller: ScriptedController,
) -> None:
    """Components count seconds from different instants: one redraw for the changes due
    within a second of the first (at the last of them), not one for each."""
    now = 1_700_000_000.0
    app = make_app(controller, clock=lambda: now)
    async with app.run_test(size=(80, 24)) as pilot:
        for name, age in (("postgres", 2.1), ("api", 2.7), ("metro", 25.0)):
            controller.set_state(name, State.HEALTHY, started_at=now - age)
        await until(pilot, lambda: cell(app, "metro", "uptime") == "20s", what="states")
        wait = app.table.next_uptime_change()  # api in 0.3 s, postgres in 0.9 s, metro in 5 s
        assert wait is not None and abs(wait - 0.9) < 1e-6


async def test_crash_shows_last_error_lines_and_a_toast(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(ErrorPanel)
        assert not panel.display
        controller.set_state("api", State.CRASHED, detail="exit code 1", last_error=TRACEBACK)
        await until(pilot, lambda: panel.display, what="error panel")
        rendered = str(panel.render())
        assert "ValueError: boom" in rendered
        # an excerpt of old output, labelled as such (#12.6)
        assert rendered.startswith("last lines of api before it exited:")
        assert panel.border_title == "api crashed: exit code 1"
        assert any(n.title == "api crashed" and n.severity == "error" for n in app._notifications)
        assert "api crashed" in app.status_text()
        controller.set_state("api", State.HEALTHY, detail="", last_error=())
        await until(pilot, lambda: not panel.display, what="panel hidden after recovery")


async def test_notice_becomes_a_toast_and_a_log_line(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        controller.emit(Notice("port 5000 is taken", "warning", "api"))
        await until(pilot, lambda: len(app._notifications) == 1)
        assert next(iter(app._notifications)).severity == "warning"
        assert any("warning: port 5000 is taken" in line for line in app.log_view.lines)


async def test_targets_changed_redraws_devices(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        controller.emit(TargetsChanged("10.9.8.7"))
        await until(pilot, lambda: app.devices.expo_url == "exp://10.9.8.7:8081")
        assert "LAN 10.9.8.7" in app.status_text()


async def test_all_healthy_is_shown(controller: ScriptedController) -> None:
    statuses = [ComponentStatus(s.name, s.backend, State.STARTING) for s in default_statuses()]
    controller = ScriptedController(statuses)
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "0/3 healthy" in app.status_text()
        for status in default_statuses():
            controller.set_state(status.name, State.HEALTHY)
        controller.emit(AllHealthy())
        await until(pilot, lambda: "all healthy" in app.status_text())


async def test_without_metro_the_devices_panel_lists_api_urls() -> None:
    statuses = default_statuses()
    statuses[2] = ComponentStatus("metro", "expo", State.DISABLED, "no client/ folder")
    app = make_app(ScriptedController(statuses))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        content = app.devices.plain_text()
        assert "exp://" not in content and "http://10.0.2.2:5000" in content
        assert "no Expo app: no client/ folder" in content


async def test_history_is_not_shown_twice(controller: ScriptedController) -> None:
    """A line published while the app subscribes is in both logs() and the stream."""
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        controller.emit(controller.history[-1])
        controller.line("api", "fresh")
        await until(pilot, lambda: app.log_view.line_count == 9)
        await pilot.pause()
        assert app.log_view.line_count == 9


async def test_flood_from_a_thread_keeps_keys_working_and_memory_bounded(
    controller: ScriptedController,
) -> None:
    app = make_app(controller, max_lines=5_000)
    async with app.run_test(size=(80, 24)) as pilot:
        flood = controller.flood(20_000, per_second=20_000)
        await until(pilot, lambda: app.bridge.received >= 2_000, what="flood under way")
        await pilot.press("R")
        assert ("restart_all",) in controller.commands
        await until(pilot, lambda: not flood.is_alive(), timeout=30, what="flood end")
        await until(pilot, lambda: app.bridge.received == 20_000, what="all lines seen")
        await until(
            pilot,
            lambda: any("flood line 19999" in line for line in list(app.log_view.lines)[-3:]),
            timeout=10,
            what="last line shown",
        )
        assert app.log_view.line_count <= 5_000
        assert len(app.log_view.all_lines) <= 5_000
        assert app.flushes < 20_000 // 10  # batched, not one refresh per line
        await pilot.press("a")
        assert "logs: postgres" in app.status_text()


async def test_changes_before_subscribing_are_not_lost(controller: ScriptedController) -> None:
    from dataclasses import replace

    app = make_app(controller)  # takes its first snapshot here
    api = controller.statuses["api"]
    controller.statuses["api"] = replace(
        api, state=State.CRASHED, detail="exit code 1", last_error=TRACEBACK
    )  # published to nobody
    async with app.run_test(size=(80, 24)):
        assert app.table.statuses["api"].state == State.CRASHED
        assert app.query_one(ErrorPanel).display


async def test_brackets_in_output_are_text_not_markup(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(120, 40)) as pilot:
        controller.emit(Notice("[Errno 98] address [bold]in use[/]", "error", "api"))
        controller.set_state("api", State.CRASHED, detail="[red]x[/", last_error=("[/]",))
        await until(pilot, lambda: len(app._notifications) == 2, what="toasts")
        assert any(n.message == "[Errno 98] address [bold]in use[/]" for n in app._notifications)
        assert cell(app, "api", "detail") == "[red]x[/"
        await pilot.press("slash", *"[/", "enter")
        assert "filter: [/" in app.status_text()
        assert app.query_one(ErrorPanel)._border_title.plain == "api crashed: [red]x[/"  # type: ignore[union-attr]


async def test_a_crash_loop_toasts_once(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(5):
            controller.set_state("api", State.CRASHED, detail="exit code 1")
            controller.set_state("api", State.RESTARTING, detail="restarting in 1s")
        await until(
            pilot,
            lambda: sum("api crashed: exit code 1" in line for line in app.log_view.lines) == 5,
        )
        assert [n.title for n in app._notifications] == ["api crashed"]


async def test_no_devices_panel_without_api_or_metro() -> None:
    statuses = [ComponentStatus("worker", "process", State.HEALTHY)]
    app = make_app(ScriptedController(statuses, []))
    async with app.run_test(size=(80, 24)):
        assert not app.devices.display
        assert app.log_view.size.width == 80
