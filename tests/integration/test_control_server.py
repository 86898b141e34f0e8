"""The control server on a real supervisor's loop (real children): a follower that stops
reading is dropped (its socket refuses writes for WRITE_TIMEOUT) while another one keeps
getting every line of a 50k-line burst; a
RemoteController mirrors statuses and logs and steers the supervisor."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path

from devkit.core.control.client import ControlClient, RemoteController
from devkit.core.control.server import ControlServer
from devkit.core.control.sockpath import connect
from devkit.core.events import LogLine, State, Stopped
from devkit.core.supervisor import Supervisor
from tests.integration.supervisor_helpers import Harness, py, settings

CHATTY = (
    "import sys, time\n"
    "print('chatty ready', flush=True)\n"
    "for i in range(50000):\n"
    "    print('line', i, 'x' * 100)\n"
    "sys.stdout.flush()\n"
    "print('chatty done', flush=True)\n"
    "time.sleep(600)\n"
)


async def poll(condition: Callable[[], bool], timeout: float) -> None:
    """Check a condition that no supervisor event announces (the server's own counters)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def info() -> dict[str, object]:
    return {"pid": 1}


async def test_a_follower_that_stops_reading_is_dropped_and_others_keep_up(
    tmp_path: Path,
) -> None:
    sup = Supervisor(settings(tmp_path), [py("chatty", CHATTY)], network=False)
    server = ControlServer(sup, tmp_path / ".devkit", info, queue_limit=60_000, write_timeout=2.0)
    await server.start()
    stuck = connect(server.path)
    stuck.sendall(b"GET /events HTTP/1.1\r\nHost: devkit\r\n\r\n")  # and never reads
    seen: list[str] = []
    done = threading.Event()

    def follow() -> None:
        for message in ControlClient(tmp_path / ".devkit").events(["chatty"], n=0):
            if message.kind == "log":
                seen.append(message.data["text"])
                if message.data["text"] == "chatty done":
                    done.set()
                    return

    reader = threading.Thread(target=follow, daemon=True)
    try:
        async with Harness(sup) as h:
            reader.start()
            await poll(lambda: server.dropped >= 1, 60)  # WRITE_TIMEOUT after the burst
            await asyncio.wait_for(asyncio.to_thread(done.wait, 120), 125)
            assert server.dropped == 1
            await poll(lambda: not server.followers, 10)  # the reader hung up after "done"
            lines = [t for t in seen if t.startswith("line ")]
            assert len(lines) == 50_000
            assert lines[-1].startswith("line 49999 ")
            assert h.status("chatty").state == State.HEALTHY
    finally:
        stuck.close()
        await server.close()
    assert not server.path.exists()


async def test_remote_controller_mirrors_and_steers_a_supervisor(tmp_path: Path) -> None:
    sup = Supervisor(
        settings(tmp_path),
        [py("one", "import time; print('one up', flush=True); time.sleep(600)")],
        network=False,
    )
    server = ControlServer(sup, tmp_path / ".devkit", info)
    await server.start()
    async with Harness(sup) as h:
        await h.state("one", State.HEALTHY)
        await h.until(lambda: any(line.text == "one up" for line in sup.logs("one")))
        remote = await asyncio.to_thread(RemoteController, tmp_path / ".devkit")
        events: list[object] = []
        remote.subscribe(events.append)
        await asyncio.to_thread(remote.live.wait, 10)
        assert [s.state for s in remote.snapshot()] == [State.HEALTHY]
        assert [line.text for line in remote.logs("one")] == ["one up"]
        await asyncio.to_thread(remote.request_restart, "one")
        await h.until(lambda: h.status("one").restarts == 1 and h.status("one").state == "healthy")
        await poll(
            lambda: remote.snapshot()[0].restarts == 1 and remote.snapshot()[0].state == "healthy",
            10,
        )
        assert sum(isinstance(e, LogLine) and e.text == "one up" for e in events) == 1
        await asyncio.to_thread(remote.request_shutdown)
        await asyncio.wait_for(h.task, 30)  # type: ignore[arg-type]
        await asyncio.to_thread(remote.stopped.wait, 10)
        assert isinstance(events[-1], Stopped)
    await server.close()
    status = json.loads(json.dumps(server.status()))
    assert status["components"][0]["name"] == "one"
