"""Saving a file while requests are in flight loses none of them (issue 15, item 2).

The real server/ (a copy) on a real PostgreSQL, run by the real Supervisor in fork mode; ten
client threads send 2000 requests (new connection each, like `ab -c 10`) to /status and to
/api/v1/notes with a bearer token while five saves swap the serving child. The new child
accepts first, the old one finishes what it holds: every request must succeed.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import threading
from pathlib import Path

import pytest

from devkit.core.events import LogLine, State
from tests.integration.supervisor_helpers import Harness
from tests.integration.test_api_service import api_supervisor, gone
from tests.support.ports import free_port
from tests.support.stack import REPO

TOTAL = 2000
CLIENTS = 10
SAVES = 5


class Load:
    """CLIENTS threads sharing TOTAL requests; failures are kept with what went wrong."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.lock = threading.Lock()
        self.sent = 0
        self.done = 0
        self.failures: list[str] = []

    def one(self, i: int) -> None:
        path, headers = "/status", {}
        if i % 2:
            path, headers = "/api/v1/notes?limit=20", {"Authorization": f"Bearer {self.token}"}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                self.fail(f"{path}: HTTP {response.status} {body[:200]!r}")
            else:
                json.loads(body)  # a truncated body fails here
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.fail(f"{path}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text)

    def worker(self) -> None:
        while True:
            with self.lock:
                if self.sent >= TOTAL:
                    return
                i = self.sent
                self.sent += 1
            self.one(i)
            with self.lock:
                self.done += 1

    def run(self) -> None:
        threads = [threading.Thread(target=self.worker) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)


def register(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps({"username": "loaduser", "password": "a long enough password"})
        conn.request("POST", "/api/v1/auth/register", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        assert response.status == 201, data
        token = str(data["token"])
        for n in range(25):
            note = json.dumps({"title": f"note {n}", "body": "text"})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            conn.request("POST", "/api/v1/notes", note, headers)
            reply = conn.getresponse()
            assert reply.status == 201, reply.read()
            reply.read()
        return token
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_no_request_fails_while_five_saves_swap_the_child(
    tmp_path: Path, migrated_url: str
) -> None:
    shutil.copytree(
        REPO / "server", tmp_path / "server", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "loadtest"\nversion = "0"\n')
    port = free_port()
    env = {
        "DATABASE_URL": migrated_url,
        "JWT_SECRET": "s" * 48,
        "APP_ENV": "development",
        "LOG_DIR": str(tmp_path / "logs"),
    }
    sup, api = api_supervisor(tmp_path, port, env=env)
    async with Harness(sup) as h:
        await h.state("api", State.HEALTHY, 60)
        token = await asyncio.to_thread(register, port)

        def serving() -> int:
            return sum(
                1 for e in h.events if isinstance(e, LogLine) and e.text.startswith(" * Serving")
            )

        load = Load(port, token)
        runner = asyncio.ensure_future(asyncio.to_thread(load.run))
        children = [api.child_pid]
        target = tmp_path / "server" / "notes.py"
        for save in range(SAVES):
            # spread the saves over the run: each one while requests are in flight
            await h.until(lambda s=save: load.done >= (s + 1) * TOTAL // (SAVES + 2), 120)
            before = serving()
            with target.open("a") as f:
                f.write(f"\n# save {save}\n")
            await h.until(lambda b=before: serving() > b, 30, what=f"save {save} served")
            children.append(api.child_pid)
        await asyncio.wait_for(runner, 240)
        assert load.done == TOTAL
        assert load.failures == [], f"{len(load.failures)} of {TOTAL} failed: {load.failures[:10]}"
        assert len({c for c in children if c}) == SAVES + 1  # five swaps really happened
        pids = [api.pid or 0, *(c or 0 for c in children)]
    assert gone(pids)
