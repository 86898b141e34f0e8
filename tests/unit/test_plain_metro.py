"""The headless printer: Metro's bundling error as one line when it appears and when it is
fixed, and a summary that says what the app gets rather than per-device URLs it never sees."""

from __future__ import annotations

import io

from devkit.core.events import AllHealthy, ComponentStatus, State, StateChanged, TargetsChanged
from devkit.ui.plain import PlainPrinter

PROBLEM = 'iOS bundle failed: SyntaxError: App.js: Unexpected token, expected "," (7:27)'


def printer(**kwargs: object) -> tuple[PlainPrinter, io.StringIO]:
    out = io.StringIO()
    return PlainPrinter(out, colour=False, names=["metro"], clock=lambda: 0.0, **kwargs), out  # type: ignore[arg-type]


def metro(problem: str = "", state: State = State.HEALTHY) -> ComponentStatus:
    return ComponentStatus("metro", "expo", state, "ok", problem=problem)


def test_a_problem_is_printed_once_when_it_appears_and_once_when_fixed() -> None:
    p, out = printer()
    p(StateChanged("metro", State.STARTING, State.HEALTHY, metro()))
    p(StateChanged("metro", State.HEALTHY, State.HEALTHY, metro(PROBLEM)))
    p(StateChanged("metro", State.HEALTHY, State.HEALTHY, metro(PROBLEM)))  # lines added
    p(StateChanged("metro", State.HEALTHY, State.HEALTHY, metro()))
    lines = out.getvalue().splitlines()
    assert sum(f"metro problem: {PROBLEM}" in line for line in lines) == 1
    assert sum("metro problem fixed" in line for line in lines) == 1


def test_a_problem_gone_with_the_process_is_not_called_fixed() -> None:
    p, out = printer()
    p(StateChanged("metro", State.HEALTHY, State.HEALTHY, metro(PROBLEM)))
    p(StateChanged("metro", State.HEALTHY, State.STOPPED, metro(state=State.STOPPED)))
    assert "fixed" not in out.getvalue()


def test_the_summary_names_what_the_app_gets_and_keeps_the_api_per_device() -> None:
    p, out = printer(api_port=5001, metro_port=8082)
    p(TargetsChanged("192.168.1.23"))
    p(AllHealthy())
    text = out.getvalue()
    assert "all components healthy. The app (Metro builds one bundle for every device):" in text
    assert "Expo Go opens exp://192.168.1.23:8082" in text
    assert "the app calls EXPO_PUBLIC_API_URL=http://192.168.1.23:5001" in text
    assert "USB device without Wi-Fi: run devkit up --host localhost" in text
    assert "The API from a device's browser or other tools:" in text
    assert "http://10.0.2.2:5001" in text  # for the emulator's browser
    assert "exp://10.0.2.2" not in text and "exp://localhost" not in text


def test_an_api_url_from_env_is_the_one_printed() -> None:
    p, out = printer(settings_env={"EXPO_PUBLIC_API_URL": "https://api.example.test"})
    p(AllHealthy())
    assert ".env sets EXPO_PUBLIC_API_URL=https://api.example.test" in out.getvalue()


def test_without_metro_only_the_api_per_device() -> None:
    p, out = printer(metro_enabled=False)
    p(AllHealthy())
    text = out.getvalue()
    assert "all components healthy. The API from a device's browser or other tools:" in text
    assert "exp://" not in text and "EXPO_PUBLIC_API_URL" not in text
