"""Health by thresholds, honest 'all healthy', give-ups with a way back, counts that agree
(#12.2, #12.3, #12.5, #15.3) — with real child processes and real exec probes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from devkit.core.events import AllHealthy, LogLine, State, StateChanged
from devkit.core.runstate import RunState
from devkit.core.supervisor import Supervisor
from devkit.host.health import STEADY_PASSES
from devkit.host.probes import ExecProbe
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


def probe_times(tmp_path: Path) -> list[float]:
    try:
        return [float(x) for x in (tmp_path / "times").read_text().split()]
    except (OSError, ValueError):
        return []


async def probed(tmp_path: Path, count: int, what: str, timeout: float = 15.0) -> list[float]:
    """Poll the probe's own record (passing probes emit no event to wait on)."""
    deadline = time.monotonic() + timeout
    while len(times := probe_times(tmp_path)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {len(times)} probes")
        await asyncio.sleep(0.02)
    return times


async def test_a_steady_component_is_probed_less_often_until_a_probe_fails(
    tmp_path: Path,
) -> None:
    """Idle CPU (#13): once STEADY_PASSES probes passed in a row, the steady interval; a failed
    probe brings the quick ones back, so three failures still turn it unhealthy."""
    probe = ExecProbe("date +%s.%N >> times; [ ! -e down ]", 2.0, cwd=str(tmp_path))
    svc = py("web", SLEEP_FOREVER, probe=probe)
    svc.health_interval_running, svc.health_interval_steady = 0.05, 0.4
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        await h.state("web", State.HEALTHY)
        steady_from = STEADY_PASSES  # the readiness pass counts: steady after probe 5
        times = await probed(tmp_path, steady_from + 3, "steady probes")
        gaps = [b - a for a, b in zip(times[steady_from - 1 :], times[steady_from:], strict=False)]
        assert all(gap >= 0.4 * 0.95 for gap in gaps), gaps  # timers never fire early
        (tmp_path / "down").touch()
        await h.state("web", State.UNHEALTHY)
        (tmp_path / "down").unlink()
        await h.state("web", State.HEALTHY)


async def test_a_dependency_leaving_healthy_has_its_dependents_probed_at_once(
    tmp_path: Path,
) -> None:
    """The API's /status fails with its database: it is probed when the database stops being
    healthy, not at its next steady probe (an hour here)."""
    db = server("db", free_port())
    probe = ExecProbe("date +%s.%N >> times", 2.0, cwd=str(tmp_path))
    api = py("api", SLEEP_FOREVER, probe=probe, depends_on=("db",))
    api.health_interval_running, api.health_interval_steady = 0.05, 3600.0
    async with Harness(Supervisor(settings(tmp_path), [db, api], network=False)) as h:
        await h.state("api", State.HEALTHY)
        before = len(await probed(tmp_path, STEADY_PASSES, "a steady api"))
        h.sup.request_restart("db")
        await probed(tmp_path, before + 1, "a probe of the api")
        await h.state("db", State.HEALTHY)
