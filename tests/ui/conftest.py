"""Fixtures and helpers for dashboard tests: a scripted controller and a fixed clock/time zone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from textual.pilot import Pilot

from devkit.ui.app import DashboardApp
from tests.ui.scripted import T0, ScriptedController


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Log timestamps are local time: pin the zone so screens are the same everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def controller() -> ScriptedController:
    return ScriptedController()


def make_app(controller: ScriptedController, **kwargs: object) -> DashboardApp:
    options: dict[str, object] = {"lan_host": "192.168.1.23", "clock": lambda: T0}
    options.update(kwargs)
    return DashboardApp(controller, **options)  # type: ignore[arg-type]


async def until(
    pilot: Pilot, predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Let the app run until `predicate()` is true (the async twin of tests.support.wait)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.01)
