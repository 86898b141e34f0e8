"""The supervisor with real child processes: order, health, restarts, crash loops, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil

from devkit.core.events import AllHealthy, LogLine, ShutdownProgress, State, StateChanged, Stopped
from devkit.core.service import ServiceContext
from devkit.core.supervisor import Supervisor
from devkit.host.probes import LogProbe
from devkit.services.process import CommandService
from tests.integration.supervisor_helpers import (
    Harness,
    py,
    server,
    settings,
)
from tests.support.devkit_proc import still_alive_after
from tests.support.ports import free_port

SLEEP = "import time; print('up', flush=True); time.sleep(60)"


async def test_dependency_order_health_waits_and_reverse_shutdown(tmp_path: Path) -> None:
    db_port, api_port = free_port(), free_port()
    db = server("db", db_port, delay=0.3)
    api = server("api", api_port, depends_on=("db",))
    worker = py("worker", SLEEP, depends_on=("api",))
    sup = Supervisor(settings(tmp_path), [worker, api, db], network=False)
    assert sup.order == ["db", "api", "worker"]
    async with Harness(sup) as h:
        await h.until(lambda: any(isinstance(e, AllHealthy) for e in h.events), what="all healthy")
        assert _launched(h, "api") > _became_healthy(h, "db")
        assert _launched(h, "worker") > _became_healthy(h, "api")
        pids = [s.pid for s in sup.snapshot()]
        assert all(pids)
    stops = [(e.component, e.state) for e in h.events if isinstance(e, ShutdownProgress)]
    order = [name for name, state in stops if state == State.STOPPED]
    assert order == ["worker", "api", "db"]
    assert isinstance(h.events[-1], Stopped) and h.events[-1].exit_code == 0
    assert still_alive_after([p for p in pids if p]) == []


def _tree(pid: int | None) -> list[int]:
    try:
        return [pid] + [p.pid for p in psutil.Process(pid).children(recursive=True)] if pid else []
    except psutil.NoSuchProcess:
        return []


def _launched(h: Harness, name: str) -> int:
    """Event index at which `name`'s process was started."""
    return next(
        i
        for i, e in enumerate(h.events)
        if isinstance(e, StateChanged) and e.component == name and e.status.pid is not None
    )


def _became_healthy(h: Harness, name: str) -> int:
    return next(
        i
        for i, e in enumerate(h.events)
        if isinstance(e, StateChanged) and e.component == name and e.new == State.HEALTHY
    )


async def test_dependent_waits_while_dependency_is_not_healthy(tmp_path: Path) -> None:
    db_port = free_port()
    db = server("db", db_port, delay=0.5)
    api = py("api", SLEEP, depends_on=("db",))
    async with Harness(Supervisor(settings(tmp_path), [db, api], network=False)) as h:
        await h.until(lambda: "waiting for db" in h.status("api").detail, what="api waiting")
        assert h.status("api").pid is None
        await h.state("api", State.HEALTHY)
        assert h.status("db").state == State.HEALTHY


async def test_kill_9_of_a_child_restarts_it(tmp_path: Path) -> None:
    port = free_port()
    svc = server("web", port, restart_policy="on-failure")
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        first = (await h.state("web", State.HEALTHY)).pid
        os.kill(first, signal.SIGKILL)
        await h.until(
            lambda: h.status("web").restarts == 1 and h.status("web").state == State.HEALTHY,
            what="restarted",
        )
        assert h.status("web").pid not in (None, first)
        assert any("SIGKILL" in line for line in h.status("web").last_error)


async def test_on_failure_policy_leaves_a_clean_exit_stopped(tmp_path: Path) -> None:
    svc = py("job", "print('done', flush=True)", restart_policy="on-failure")
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        status = await h.until(
            lambda: "exited" in h.status("job").detail and h.status("job"), what="job exited"
        )
        assert status.state == State.STOPPED and status.restarts == 0
        assert status.detail == "exited with code 0"


async def test_never_policy_keeps_the_crash_and_its_last_lines(tmp_path: Path) -> None:
    code = "import sys; print('loading config', flush=True); sys.exit('fatal: bad config')"
    svc = py("job", code, restart_policy="never")
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        status = await h.state("job", State.CRASHED)
        assert status.restarts == 0
        assert "loading config" in status.last_error and "fatal: bad config" in status.last_error
        assert status.last_error[-1] == "exited with code 1"


async def test_backoff_then_crash_loop_stops_retrying_until_asked(tmp_path: Path) -> None:
    svc = py("flaky", "import sys; print('boom', flush=True); sys.exit(2)", restart_policy="always")
    sup = Supervisor(
        settings(tmp_path, crash_loop_limit=3, crash_loop_window=60),
        [svc],
        network=False,
        backoff_initial=0.05,
    )
    async with Harness(sup) as h:
        status = await h.until(
            lambda: "crash loop" in h.status("flaky").detail and h.status("flaky"),
            what="crash loop",
        )
        assert status.state == State.CRASHED and status.restarts == 2
        delays = [
            e.status.detail
            for e in h.events
            if hasattr(e, "status") and "restarting in" in e.status.detail
        ]
        assert any("0.05s" in d for d in delays) and any("0.1s" in d for d in delays)
        assert "boom" in status.last_error
        sup.request_restart("flaky")  # a command clears the crash loop
        await h.until(lambda: h.status("flaky").restarts >= 3, what="manual restart")


async def test_waits_for_a_change_after_crash_when_the_service_says_so(tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    code = (
        f"import os, sys, time; p={str(flag)!r}\n"
        "if not os.path.exists(p): sys.exit('SyntaxError: invalid syntax')\n"
        "print('serving', flush=True); time.sleep(60)"
    )
    svc = py("api", code, restart_policy="always", probe=LogProbe("serving"))
    svc.wait_for_change_after_crash = True
    sup = Supervisor(settings(tmp_path), [svc], network=False, backoff_initial=0.01)
    async with Harness(sup) as h:
        status = await h.state("api", State.CRASHED)
        assert "waiting for a change" in status.detail
        assert "SyntaxError: invalid syntax" in status.last_error
        runs = sum(1 for e in h.events if isinstance(e, LogLine) and "SyntaxError" in e.text)
        flag.write_text("ok")
        sup.components["api"].ctx.request_restart("server/app.py changed")
        await h.state("api", State.HEALTHY)
        assert runs == 1  # it did not loop while waiting


async def test_stop_start_restart_commands(tmp_path: Path) -> None:
    svc = py("web", SLEEP)
    sup = Supervisor(settings(tmp_path), [svc], network=False)
    async with Harness(sup) as h:
        first = (await h.state("web", State.HEALTHY)).pid
        sup.request_stop("web")
        await h.state("web", State.STOPPED)
        assert still_alive_after([first]) == []
        sup.request_start("web")
        second = (await h.state("web", State.HEALTHY)).pid
        assert second != first
        sup.request_start("web")  # already running: nothing happens
        sup.request_restart("web")
        await h.until(
            lambda: (
                h.status("web").pid not in (None, second) and h.status("web").state == State.HEALTHY
            ),
            what="restarted",
        )
        assert ("web", State.RESTARTING) in h.transitions("web")


async def test_logs_are_buffered_masked_and_published(tmp_path: Path) -> None:
    code = (
        "import sys; print('secret is topsecretvalue123', flush=True); "
        "print('db postgresql://u:pw12345@localhost/db', file=sys.stderr, flush=True)"
    )
    svc = py("job", code)
    sup = Supervisor(
        settings(tmp_path, env={"JWT_SECRET": "topsecretvalue123"}), [svc], network=False
    )
    async with Harness(sup) as h:
        await h.until(lambda: len(sup.logs("job")) >= 2, what="two lines")
    texts = {line.text: line.stream for line in sup.logs("job")}
    assert texts == {"secret is ****": "stdout", "db postgresql://u:****@localhost/db": "stderr"}
    published = [e.text for e in h.events if isinstance(e, LogLine)]
    assert "secret is ****" in published and not any("topsecret" in t for t in published)


async def test_required_failure_ends_a_headless_run_with_exit_1(tmp_path: Path) -> None:
    svc = py("db", "import sys; sys.exit(1)", restart_policy="never", required=True)
    sup = Supervisor(settings(tmp_path), [svc], network=False, exit_on_required_failure=True)
    code = await asyncio.wait_for(sup.run(), 15)
    assert code == 1


async def test_nothing_survives_shutdown_even_grandchildren(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])"
        "; print('up', flush=True); time.sleep(60)"
    )
    svc = py("tree", code)
    async with Harness(
        Supervisor(settings(tmp_path, shutdown_timeout=0.5), [svc], network=False)
    ) as h:
        await h.state("tree", State.HEALTHY)
        tree = await h.until(lambda: len(t := _tree(svc.pid)) >= 2 and t, what="grandchild")
    assert still_alive_after(tree) == []


class SwallowsACancellation(CommandService):
    """prepare() swallows the shutdown's cancellation once, as asyncio.wait_for does in Python
    3.11 when its inner future (a probe) completes just as the cancellation arrives."""

    def __init__(self) -> None:
        super().__init__("stubborn", [sys.executable, "-c", "import time; time.sleep(60)"])
        self.preparing = asyncio.Event()

    async def prepare(self, ctx: ServiceContext) -> None:
        self.preparing.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass


async def test_a_drive_that_swallows_its_cancellation_does_not_hang_the_shutdown(
    tmp_path: Path,
) -> None:
    svc = SwallowsACancellation()
    async with Harness(Supervisor(settings(tmp_path), [svc], network=False)) as h:
        await asyncio.wait_for(svc.preparing.wait(), 15)
    # the harness waits 30 s for the shutdown: it used to wait for that drive forever
    assert h.task is not None and h.task.result() == 0
    assert svc.pid is None
