"""Pure helpers and the thread-side bridge."""

from __future__ import annotations

import threading

from devkit.core.events import ComponentStatus, LogLine, Notice, State
from devkit.ui.bridge import EventBridge
from devkit.ui.format import LineFilter, Palette, format_line, uptime, uptime_changes_in


def test_substring_filter_is_case_insensitive() -> None:
    f = LineFilter.parse("error")
    assert f.active and f("ERROR: x") and not f("fine")


def test_regex_filter_between_slashes() -> None:
    f = LineFilter.parse("/GET /(status|items)/")
    assert f("GET /status") and f("get /items") and not f("GET /other")


def test_invalid_regex_matches_nothing_and_says_why() -> None:
    f = LineFilter.parse("/(/")
    assert f.error.startswith("invalid regex") and not f("(")


def test_empty_filter_matches_everything() -> None:
    assert not LineFilter.parse("  ").active and LineFilter.parse("")("x")


def status(state: State, started: float | None) -> ComponentStatus:
    return ComponentStatus("api", "flask", state, started_at=started)


def test_uptime_formats() -> None:
    assert uptime(status(State.HEALTHY, 100.0), 107.9) == "7s"  # seconds right after a start
    assert uptime(status(State.HEALTHY, 100.0), 159.0) == "50s"  # then tens: a still table
    assert uptime(status(State.HEALTHY, 100.0), 100.0 + 185) == "3m"
    assert uptime(status(State.HEALTHY, 100.0), 100.0 + 3_725) == "1h02m"
    assert uptime(status(State.HEALTHY, 100.0), 100.0 + 90_000) == "1d01h"
    assert uptime(status(State.HEALTHY, 100.0), 99.0) == "0s"  # a clock a little behind
    assert uptime(status(State.STOPPED, 100.0), 200.0) == "-"
    assert uptime(status(State.HEALTHY, None), 200.0) == "-"


def test_uptime_says_when_its_text_changes_next() -> None:
    """The dashboard sleeps until then: exactly when `uptime` shows another text."""
    started = 100.0
    for elapsed in (0.0, 0.4, 7.5, 9.99, 10.0, 33.3, 59.9, 60.0, 185.2, 3_725.0, 90_000.0, -0.5):
        now = started + elapsed
        wait = uptime_changes_in(status(State.HEALTHY, started), now)
        assert wait is not None and wait > 0
        text = uptime(status(State.HEALTHY, started), now)
        assert uptime(status(State.HEALTHY, started), now + wait - 1e-6) == text
        assert uptime(status(State.HEALTHY, started), now + wait + 1e-6) != text
    assert uptime_changes_in(status(State.HEALTHY, started), started + 200) == 40.0  # 3m20s
    assert uptime_changes_in(status(State.STOPPED, started), started + 5) is None
    assert uptime_changes_in(status(State.HEALTHY, None), started + 5) is None


def test_palette_is_stable_and_devkit_is_bold() -> None:
    palette = Palette(["postgres", "api"])
    assert palette.colour("api") == "yellow" and palette.colour("api") == "yellow"
    assert palette.colour("devkit") == "bold"


def test_format_line_pads_the_name() -> None:
    assert format_line(LogLine("api", "hi", at=0.0), 8).endswith("api      | hi")


def test_bridge_wakes_once_per_batch_and_bounds_lines() -> None:
    wakes: list[int] = []
    bridge = EventBridge(lambda: wakes.append(1), max_lines=100)
    threads = [
        threading.Thread(target=lambda: [bridge(LogLine("api", str(i))) for i in range(1000)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bridge(Notice("hello"))
    batch = bridge.drain()
    assert len(wakes) == 1
    assert len(batch.lines) == 100 and batch.dropped == 3_900
    assert [type(e) for e in batch.events] == [Notice]
    bridge(LogLine("api", "again"))
    assert len(wakes) == 2 and bridge.received == 4_001
