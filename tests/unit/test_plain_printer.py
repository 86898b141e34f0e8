"""The headless printer: devices block once per `up` (and on a LAN change), crash excerpts
labelled and never printed as fresh output (#12.3, #12.6)."""

from __future__ import annotations

import io
import re

from devkit.core.events import AllHealthy, ComponentStatus, State, StateChanged, TargetsChanged
from devkit.ui.plain import PlainPrinter

FRESH = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s*\| (.*)$")


def printer() -> tuple[PlainPrinter, io.StringIO]:
    out = io.StringIO()
    return PlainPrinter(out, colour=False, names=["api", "postgres"], clock=lambda: 0.0), out


def changed(name: str, old: State, new: State, **kw: object) -> StateChanged:
    return StateChanged(name, old, new, ComponentStatus(name, "flask", new, **kw))  # type: ignore[arg-type]


def test_devices_block_once_per_up_and_again_on_a_lan_change() -> None:
    p, out = printer()
    p(TargetsChanged("192.168.1.20"))
    p(AllHealthy())
    p(changed("api", State.HEALTHY, State.RESTARTING, detail="reload"))
    p(changed("api", State.RESTARTING, State.HEALTHY))
    p(AllHealthy())  # after an API reload: one short line, not the block again
    text = out.getvalue()
    assert text.count("The API from a device's browser or other tools:") == 1
    assert text.count("all components healthy again") == 1
    p(TargetsChanged("10.0.0.7"))  # a new LAN address while healthy: the block, new address
    text = out.getvalue()
    assert "LAN address is now 10.0.0.7" in text
    assert text.count("The API from a device's browser or other tools:") == 2
    assert "http://10.0.0.7:5000" in text.split("LAN address is now")[1]


def test_crash_excerpt_is_labelled_and_not_fresh_output() -> None:
    p, out = printer()
    last = ("iOS Bundled 14836ms", "Traceback (most recent call last):", "exited with code 1")
    p(changed("api", State.HEALTHY, State.CRASHED, detail="exited with code 1", last_error=last))
    lines = out.getvalue().splitlines()
    fresh = [m.groups() for line in lines if (m := FRESH.match(line))]
    assert ("devkit", "api crashed: exited with code 1") in fresh
    assert ("devkit", "last lines of api before it exited:") in fresh
    assert not [g for g in fresh if g[0] == "api"]  # no line poses as api's new output
    excerpt = [line for line in lines if not FRESH.match(line)]
    assert [line.split("┆ ", 1)[1] for line in excerpt] == list(last)


def test_waiting_reads_as_one_phrase_without_an_excerpt_and_the_table_detail_matches() -> None:
    from devkit.ui import text as words

    p, out = printer()
    detail = "waiting for the Docker engine at unix:///tmp/x/docker.sock"
    event = changed(
        "postgres", State.HEALTHY, State.WAITING, detail=detail, last_error=("old line",)
    )
    p(event)
    fresh = [m.groups() for line in out.getvalue().splitlines() if (m := FRESH.match(line))]
    assert fresh == [("devkit", f"postgres {detail}")]  # not "waiting: waiting for ..."
    assert words.detail(event.status) == "for the Docker engine at unix:///tmp/x/docker.sock"
    healthy = ComponentStatus("api", "flask", State.HEALTHY, detail="healthy")
    assert words.detail(healthy) == ""
