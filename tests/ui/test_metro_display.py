"""What the dashboard shows about Metro and devices: a bundling error while healthy, output with
colour codes, a disabled Metro, and the `d` key with and without an Expo app."""

from __future__ import annotations

from devkit.core.events import ComponentStatus, State
from devkit.ui.error_panel import ErrorPanel
from devkit.ui.format import LineFilter
from tests.ui.conftest import make_app, until
from tests.ui.scripted import ScriptedController, default_statuses
from tests.ui.test_events import cell

PROBLEM = 'iOS bundle failed: SyntaxError: App.js: Unexpected token, expected "," (7:27)'
FRAME = (
    'SyntaxError: App.js: Unexpected token, expected "," (7:27)',
    "",
    ">  7 |       <Text>Open up {{  App.js to start working on your app!</Text>",
    "     |                            ^",
)


async def test_a_bundling_error_shows_in_the_table_status_line_and_panel_until_fixed(
    controller: ScriptedController,
) -> None:
    app = make_app(controller)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(ErrorPanel)
        controller.set_state("metro", State.HEALTHY, problem=PROBLEM, problem_lines=FRAME)
        await until(pilot, lambda: panel.display, what="error panel for the problem")
        assert str(panel.border_title).startswith("metro: iOS bundle failed: SyntaxError")
        assert "Open up {{" in str(panel.render())
        assert cell(app, "metro", "state") == "healthy"  # still serving
        assert cell(app, "metro", "detail").startswith("iOS bundle failed")
        assert "metro: error" in app.status_text() and "all healthy" not in app.status_text()
        controller.set_state("metro", State.HEALTHY, problem="", problem_lines=())
        await until(pilot, lambda: not panel.display, what="panel hidden once fixed")
        assert "all healthy" in app.status_text()
        assert cell(app, "metro", "detail") == ""


async def test_a_crash_wins_the_error_panel_over_a_problem(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(ErrorPanel)
        controller.set_state("metro", State.HEALTHY, problem=PROBLEM, problem_lines=FRAME)
        controller.set_state("api", State.CRASHED, detail="exit code 1", last_error=("boom",))
        await until(pilot, lambda: str(panel.border_title).startswith("api crashed"))
        assert "boom" in str(panel.render())


async def test_colour_codes_in_output_are_not_counted_as_width(
    controller: ScriptedController,
) -> None:
    """Expo prints ` ERROR ` in colour even into a pipe: the line must use the whole pane."""
    app = make_app(controller)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")  # the device table is narrower than the QR code: more log room
        tail = "the end of a long line " + "x" * 20 + " LAST"
        coloured = (
            "\x1b[31m\x1b[7m\x1b[1m ERROR \x1b[22m\x1b[27m\x1b[39m \x1b[90mSyntaxError:\x1b[39m "
            + tail
        )
        controller.line("metro", coloured)
        log = app.log_view
        await until(pilot, lambda: any("LAST" in line for line in log.lines), what="the line")
        shown = log.lines[-1]
        assert "\x1b" not in shown and "[31m" not in shown
        assert shown.endswith(" |  ERROR  SyntaxError: " + tail)
        widest = max(len(line) for line in log.lines)  # escape codes would add 30+ columns
        await until(pilot, lambda: log.virtual_size.width == widest, what="the pane's width")
        rendered = log.render_line(log.line_count - 1 - int(log.scroll_offset.y)).text
        if len(shown) <= log.size.width:
            assert rendered.rstrip().endswith("LAST"), rendered
        # a filter matches what is shown, not the codes between the words
        log.set_filter(LineFilter.parse("SyntaxError: the end"))
        assert any("LAST" in line for line in log.lines)


async def test_a_disabled_metro_row_shows_no_url() -> None:
    statuses = default_statuses()
    statuses[2] = ComponentStatus(
        "metro", "expo", State.DISABLED, "no client/ folder", ports=(8081,), url=""
    )
    app = make_app(ScriptedController(statuses))
    async with app.run_test(size=(120, 40)):
        assert cell(app, "metro", "where") == "-"


async def test_d_without_an_expo_app_shows_the_api_status_code_and_why() -> None:
    statuses = default_statuses()
    statuses[2] = ComponentStatus("metro", "expo", State.DISABLED, "no client/ folder")
    app = make_app(ScriptedController(statuses))
    async with app.run_test(size=(120, 40)) as pilot:
        devices = app.devices
        assert devices.display and devices.border_title == "API status"
        text = devices.plain_text()
        assert "http://192.168.1.23:5000/status" in text and "exp://" not in text
        assert "no Expo Go code: no client/ folder" in text
        await pilot.press("d")
        assert devices.border_title == "devices"
        assert "http://10.0.2.2:5000" in devices.plain_text()
        await pilot.press("d")
        assert devices.border_title == "API status"


async def test_d_with_neither_api_nor_metro_says_why_nothing_shows() -> None:
    statuses = [
        default_statuses()[0],
        ComponentStatus("api", "flask", State.DISABLED, "components setting"),
        ComponentStatus("metro", "expo", State.DISABLED, "no client/ folder"),
    ]
    app = make_app(ScriptedController(statuses))
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.devices.display
        await pilot.press("d")
        await until(pilot, lambda: app._notifications, what="a toast")
        assert "neither the API nor Metro" in next(iter(app._notifications)).message


async def test_the_qr_panel_names_the_api_url_the_app_was_built_with(
    controller: ScriptedController,
) -> None:
    app = make_app(controller, settings_env={"EXPO_PUBLIC_API_URL": "https://api.example.test"})
    async with app.run_test(size=(120, 40)) as pilot:
        assert "app's API https://api.example.test" in app.devices.plain_text()
        await pilot.press("d")
        text = app.devices.plain_text()
        assert ".env sets EXPO_PUBLIC_API_URL=https://api.example.test" in text
        assert "USB device without Wi-Fi: run devkit up --host localhost" in " ".join(text.split())
