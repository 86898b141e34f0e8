"""SupervisorThread: the loop on a background thread, commands from another thread (the UI's)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from devkit.core.events import AllHealthy, State, Stopped
from devkit.core.hosting import SupervisorThread
from devkit.core.supervisor import Supervisor
from tests.integration.supervisor_helpers import py, settings
from tests.support.devkit_proc import still_alive_after
from tests.support.wait import wait_for

SLEEP = "import time; print('up', flush=True); time.sleep(60)"


def _status(sup: Supervisor, name: str):
    return next(s for s in sup.snapshot() if s.name == name)


def test_commands_from_another_thread_and_orderly_stop(tmp_path: Path) -> None:
    sup = Supervisor(
        settings(tmp_path), [py("a", SLEEP), py("b", SLEEP, depends_on=("a",))], network=False
    )
    events: list[object] = []
    seen = threading.Event()

    def on_event(event: object) -> None:
        events.append(event)
        if isinstance(event, Stopped):
            seen.set()

    sup.subscribe(on_event)
    sup.request_restart("a")  # before the loop runs: queued, harmless
    thread = SupervisorThread(sup).start()
    wait_for(lambda: any(isinstance(e, AllHealthy) for e in events), what="all healthy")
    pid = _status(sup, "b").pid
    sup.request_restart("b")
    wait_for(
        lambda: (
            _status(sup, "b").pid not in (None, pid) and _status(sup, "b").state == State.HEALTHY
        ),
        what="b restarted",
    )
    assert len(sup.logs("b")) >= 2
    pids = [s.pid for s in sup.snapshot()]
    assert thread.stop(timeout=20) == 0
    assert seen.is_set() and not thread.alive
    assert still_alive_after([p for p in pids if p]) == []


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)
def test_sigterm_to_the_process_stops_the_background_supervisor(tmp_path: Path) -> None:
    sup = Supervisor(settings(tmp_path), [py("a", SLEEP)], network=False)
    thread = SupervisorThread(sup)
    thread.install_signal_handlers()
    try:
        thread.start()
        wait_for(lambda: _status(sup, "a").state == State.HEALTHY, what="a healthy")
        pid = _status(sup, "a").pid
        os.kill(os.getpid(), signal.SIGTERM)
        assert thread.join(timeout=20) == 0
        assert still_alive_after([pid]) == []
    finally:
        thread.restore_signal_handlers()
