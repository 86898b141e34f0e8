"""A run that ends because something outside devkit is gone (Service.outage(), the Docker
engine in real life: tests/e2e/test_docker_engine_loss.py) is waited out in WAITING, not
counted as a crash, and resumed when the outage is over. Real children; the "outside thing"
is a file the test removes and puts back."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from devkit.core.events import State, StateChanged
from devkit.core.supervisor import Supervisor
from devkit.services.process import CommandService
from tests.integration.supervisor_helpers import Harness, py, settings

SLEEPER = "import time; time.sleep(120)"


class NeedsAFile(CommandService):
    """A child that needs `path` to exist, as the Docker backend needs its engine."""

    outage_poll_interval = 0.05

    def __init__(self, path: Path) -> None:
        base = py("db", SLEEPER)
        super().__init__("db", base.argv)
        self.path = path
        self.asked = 0
        self.asked_often = asyncio.Event()

    async def outage(self) -> str | None:
        self.asked += 1
        if self.asked >= 6:
            self.asked_often.set()
        return None if self.path.exists() else f"waiting for {self.path}"


async def test_an_outage_waits_without_crashing_and_resumes(tmp_path: Path) -> None:
    needed = tmp_path / "engine"
    needed.touch()
    svc = NeedsAFile(needed)
    sup = Supervisor(settings(tmp_path, crash_loop_limit=2), [svc], network=False)
    async with Harness(sup) as h:
        first = (await h.state("db", State.HEALTHY)).pid
        needed.unlink()
        os.kill(first, signal.SIGKILL)
        status = await h.state("db", State.WAITING)
        assert status.detail == f"waiting for {needed}"
        assert status.crashes == 0 and status.started_at is None and status.pid is None
        # asked again and again (more than the crash-loop limit of 2): still waiting, no give-up
        await asyncio.wait_for(svc.asked_often.wait(), 10)
        assert h.status("db").state == State.WAITING and h.status("db").crashes == 0
        needed.touch()
        back = await h.state("db", State.HEALTHY)
        assert back.pid and back.pid != first
        assert back.crashes == 0 and back.restarts == 1 and back.started_at is not None
        assert State.CRASHED not in [new for _, new in h.transitions("db")]
        texts = [e.text for e in sup.logs("db") if e.stream == "devkit"]
        assert any("over after" in t and "resuming" in t for t in texts), texts


async def test_stop_while_waiting_stops_and_an_outage_before_healthy_is_a_crash(
    tmp_path: Path,
) -> None:
    needed = tmp_path / "engine"
    needed.touch()
    svc = NeedsAFile(needed)
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        pid = (await h.state("db", State.HEALTHY)).pid
        needed.unlink()
        os.kill(pid, signal.SIGKILL)
        await h.state("db", State.WAITING)
        h.sup.request_stop("db")
        stopped = await h.state("db", State.STOPPED)
        assert stopped.crashes == 0
    # never healthy in this `up`: the same failure is a crash (a start failure, said at once)
    fresh = NeedsAFile(needed)
    fresh.min_uptime = 60.0  # not healthy before the kill
    async with Harness(Supervisor(settings(tmp_path), [fresh], network=False)) as h:
        status = await h.until(
            lambda: (s := h.status("db")).pid and s.state == State.STARTING and s,
            what="db started",
        )
        os.kill(status.pid, signal.SIGKILL)
        crashed = await h.state("db", State.CRASHED)
        assert crashed.crashes == 1
        assert not [e for e in h.events if isinstance(e, StateChanged) and e.new == State.WAITING]
