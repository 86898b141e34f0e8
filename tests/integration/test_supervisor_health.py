"""Health by thresholds, honest 'all healthy', give-ups with a way back, counts that agree
(#12.2, #12.3, #12.5, #15.3) — with real child processes and real exec probes."""

from __future__ import annotations

import threading
from pathlib import Path

from devkit.core.events import AllHealthy, LogLine, State, StateChanged
from devkit.core.runstate import RunState
from devkit.core.supervisor import Supervisor
from devkit.services.process import ProcessService
from devkit.settings.config import ProbeSettings, ProcessSettings
from tests.integration.supervisor_helpers import SLEEP_FOREVER, Harness, py, server, settings
from tests.support.ports import free_port

# Each run of the probe counts itself in ./count. Passes twice, then fails every odd check
# while ./flap exists, and every check while ./down exists.
PROBE = (
    "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; "
    "[ ! -e down ] && { [ ! -e flap ] || [ $n -lt 3 ] || [ $((n % 2)) -eq 0 ]; }"
)


def flaky(tmp_path: Path, failure_threshold: int) -> ProcessService:
    spec = ProcessSettings(
        name="web",
        command="sleep 60",
        readiness=ProbeSettings(
            "exec", PROBE, interval=0.05, timeout=2.0, failure_threshold=failure_threshold
        ),
    )
    return ProcessService(settings(tmp_path), spec)


def checks(tmp_path: Path) -> int:
    try:
        return int((tmp_path / "count").read_text())
    except (OSError, ValueError):
        return 0


async def test_single_failed_checks_do_not_flap_a_healthy_component(tmp_path: Path) -> None:
    (tmp_path / "flap").touch()
    svc = flaky(tmp_path, failure_threshold=3)
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        await h.state("web", State.HEALTHY)
        await h.until(lambda: checks(tmp_path) >= 14, what="a dozen alternating checks")
        assert h.transitions("web").count(("web", State.HEALTHY)) == 1
        assert ("web", State.UNHEALTHY) not in h.transitions("web")
        assert any(
            isinstance(e, StateChanged) and "1 of 3 failed" in e.status.detail for e in h.events
        )
        # three failures in a row do turn it unhealthy, and one pass brings it back
        (tmp_path / "down").touch()
        await h.state("web", State.UNHEALTHY)
        (tmp_path / "flap").unlink()
        (tmp_path / "down").unlink()
        await h.state("web", State.HEALTHY)


async def test_threshold_of_one_flaps_as_before(tmp_path: Path) -> None:
    """The same probe with failure_threshold = 1: the setting is what holds the state."""
    (tmp_path / "flap").touch()
    svc = flaky(tmp_path, failure_threshold=1)
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        await h.until(
            lambda: ("web", State.UNHEALTHY) in h.transitions("web"), what="web unhealthy"
        )


async def test_no_all_healthy_right_after_a_crash(tmp_path: Path) -> None:
    """#12.2: a component that crashed (and waits for a change) is not healthy."""
    db = server("db", free_port())
    api = py("api", "import sys, time; time.sleep(0.3); sys.exit(1)", depends_on=("db",))
    api.wait_for_change_after_crash = True  # like the API after a syntax error
    api.min_uptime = 5.0  # never healthy before it crashes
    async with Harness(Supervisor(settings(tmp_path), [db, api], network=False)) as h:
        await h.state("api", State.CRASHED)
        await h.state("db", State.HEALTHY)
        assert not any(isinstance(e, AllHealthy) for e in h.events)
        assert "devkit restart api" in h.status("api").detail


async def test_crash_loop_gives_up_with_the_command_and_counts_agree(tmp_path: Path) -> None:
    s = settings(tmp_path, crash_loop_limit=3, restart_backoff_max=0.1)
    runstate = RunState(s.state_dir)
    runstate.write()
    svc = py("worker", "import time, sys; print('boom', flush=True); sys.exit(3)")
    async with Harness(Supervisor(s, [svc], network=False, runstate=runstate)) as h:
        await h.until(lambda: "not restarted" in h.status("worker").detail, what="give-up")
        status = h.status("worker")
        assert status.state == State.CRASHED
        assert "devkit restart worker" in status.detail
        assert (status.crashes, status.restarts) == (3, 2)
        assert "3 crashes within 60s" in status.detail
        assert status.started_at is None  # uptime stops when it is not running
        entry = runstate.components["worker"]
        assert entry["crashes"] == 3 and entry["restarts"] == 2 and entry["started_at"] is None


async def test_a_dependency_in_a_crash_loop_is_retried(tmp_path: Path) -> None:
    """#15.3: what others depend on keeps being retried with the capped backoff, and says so."""
    s = settings(tmp_path, crash_loop_limit=3, restart_backoff_max=0.1)
    db = py("db", "import sys; sys.exit(1)")
    db.min_uptime = 5.0
    api = py("api", SLEEP_FOREVER, depends_on=("db",))
    async with Harness(Supervisor(s, [db, api], network=False)) as h:
        await h.until(lambda: h.status("db").crashes >= 6, what="six crashes of db")
        status = h.status("db")
        assert "not restarted" not in status.detail
        assert any(
            isinstance(e, StateChanged) and "api depends on it" in e.status.detail for e in h.events
        )
        assert status.restarts >= 5


async def test_service_lines_from_other_threads_arrive_on_the_loop(tmp_path: Path) -> None:
    """One thread-safe log path: ServiceContext.log from a worker thread."""
    svc = py("worker", SLEEP_FOREVER)
    sup = Supervisor(settings(tmp_path), [svc], network=False)
    seen: list[tuple[str, int]] = []
    sup.subscribe(
        lambda e: seen.append((e.text, threading.get_ident())) if isinstance(e, LogLine) else None
    )
    async with Harness(sup) as h:
        await h.state("worker", State.HEALTHY)
        loop_thread = threading.get_ident()
        ctx = sup.components["worker"].ctx
        assert ctx is not None

        def work() -> None:
            for i in range(50):
                ctx.log(f"t{i}", "stdout")
            sup.announce("from a thread too")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        await h.until(lambda: any(t == "from a thread too" for t, _ in seen), what="lines")
    mine = [(t, ident) for t, ident in seen if t.startswith("t") or t == "from a thread too"]
    assert [t for t, _ in mine] == [f"t{i}" for i in range(50)] + ["from a thread too"]
    assert {ident for _, ident in mine} == {loop_thread}
