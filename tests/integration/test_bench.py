"""`devkit bench` end to end: the real API (`python -m server` on a real PostgreSQL) under both
drivers, a stand-in that answers 500 (or nothing) to a known share of requests, the two
drivers against each other, the local-only rule and the default target from .env.

Speed marks are not asserted here (the machine is shared): the runs that must pass lower
--min-rps/--max-p95; the seed's own marks are measured in the report and benchmarks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.live_server import ROOT, LiveServer, server_env
from tests.support.pg import ThrowawayCluster
from tests.support.ports import free_port
from tests.support.standins import make_project
from tests.support.wait import wait_for

needs_ab = pytest.mark.skipif(
    shutil.which("ab") is None, reason="ApacheBench not installed (apt-get install apache2-utils)"
)
LOOSE = ["--min-rps", "1", "--max-p95", "60000"]  # behaviour, not speed

# Answers GET with 200, except every Nth load request (500) and every Mth (closed unanswered).
FAULTY = r"""
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, every_500, every_drop = map(int, sys.argv[1:4])
lock, seen = threading.Lock(), [0]
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        k = 0
        if self.path != "/status":
            with lock:
                seen[0] += 1
                k = seen[0]
        if every_drop and k and k % every_drop == 0:
            self.close_connection = True
            return
        code = 500 if every_500 and k and k % every_500 == 0 else 200
        body = json.dumps({"status": "ok", "k": k}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening", flush=True)
server.serve_forever()
"""


def devkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEVKIT_BENCH_PASSWORD"}
    return subprocess.run(
        [sys.executable, "-m", "devkit", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env=env,
    )


def bench_json(*args: str) -> tuple[int, dict]:
    done = devkit("bench", *args, "--json")
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def api(pg_cluster: ThrowawayCluster, migrated_template: str) -> Iterator[tuple[LiveServer, str]]:
    name = pg_cluster.create_database(template=migrated_template)
    url = pg_cluster.url(name)
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    server = LiveServer(server_env(url, logs))
    try:
        server.wait_listening()
        wait_for(lambda: server.status_code() == 200, 30, what="the API's database")
        yield server, url
    finally:
        server.stop()
        pg_cluster.drop_database(name)
        shutil.rmtree(logs, ignore_errors=True)


@pytest.fixture
def faulty() -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(every_500: int, every_drop: int) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", FAULTY, str(port), str(every_500), str(every_drop)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "listening"
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _notes_of(database_url: str, username: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM notes JOIN users ON users.id = notes.user_id "
            "WHERE users.username = %s",
            (username,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("driver", [pytest.param("ab", marks=needs_ab), pytest.param("httpx")])
def test_bench_on_the_real_api(api: tuple[LiveServer, str], driver: str) -> None:
    server, database_url = api
    code, report = bench_json(server.url, "-n", "300", "-c", "10", "--driver", driver, *LOOSE)
    assert code == 0, report
    assert report["driver"] == driver
    assert (report["complete"], report["failed"], report["non_2xx"]) == (300, 0, 0)
    assert report["passed"] is True and all(m["passed"] for m in report["marks"])
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["requests_per_second"] > 0
    assert report["url"] == server.url + "/api/notes"
    # the throwaway user exists in the real database with its 20 notes: the list was real
    username = report["account"].split()[2].rstrip(",")
    assert username.startswith("devkit-bench-")
    assert _notes_of(database_url, username) == 20


@needs_ab
def test_text_output_and_a_missed_mark(api: tuple[LiveServer, str]) -> None:
    server, _ = api
    done = devkit("bench", server.url, "-n", "50", "-c", "5", "--min-rps", "1e9")
    assert done.returncode == 1
    assert "driver: ApacheBench" in done.stdout
    assert "✗ requests/s" in done.stdout and "✓ failed requests" in done.stdout
    assert "FAILED" in done.stdout


@pytest.mark.parametrize("driver", [pytest.param("ab", marks=needs_ab), "httpx"])
def test_500s_are_counted_and_fail_the_run(faulty, driver: str) -> None:  # type: ignore[no-untyped-def]
    url = faulty(every_500=4, every_drop=0)
    code, report = bench_json(url, "--token", "t", "-n", "200", "-c", "8", "--driver", driver)
    assert code == 1
    assert report["non_2xx"] == 50 and report["failed"] == 0
    assert report["complete"] == 200
    marks = {m["name"]: m["passed"] for m in report["marks"]}
    assert marks["failed requests (incl. non-2xx)"] is False
    assert report["passed"] is False


@pytest.mark.parametrize("driver", [pytest.param("ab", marks=needs_ab), "httpx"])
def test_unanswered_requests_are_failures(faulty, driver: str) -> None:  # type: ignore[no-untyped-def]
    """A connection closed without an answer: ab (with -l) calls it a success; bench does not."""
    url = faulty(every_500=0, every_drop=5)
    code, report = bench_json(url, "--token", "t", "-n", "200", "-c", "4", "--driver", driver)
    assert code == 1
    assert report["failed"] == 40 and report["non_2xx"] == 0


@needs_ab
@pytest.mark.slow
def test_the_two_drivers_agree_within_a_factor_of_two(api: tuple[LiveServer, str]) -> None:
    server, _ = api
    token = httpx.post(
        server.url + "/api/auth/register",
        json={"username": "bench-agree", "password": "a-long-password-1"},
        timeout=10,
    ).json()["token"]
    for i in range(20):  # a real page, like the seed's list
        httpx.post(
            server.url + "/api/notes",
            json={"title": f"note {i}", "body": "text " * 30},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).raise_for_status()
    rps: dict[str, float] = {"ab": 0.0, "httpx": 0.0}
    for _ in range(2):  # interleaved, best of two each: the machine is shared
        for driver in ("ab", "httpx"):
            code, report = bench_json(
                server.url, "--token", token, "-n", "500", "-c", "10", "--driver", driver, *LOOSE
            )
            assert code == 0 and report["failed"] == 0 and report["non_2xx"] == 0
            rps[driver] = max(rps[driver], report["requests_per_second"])
    assert 0.5 <= rps["ab"] / rps["httpx"] <= 2.0, rps


def test_a_remote_target_is_refused() -> None:
    # 192.0.2.1 is TEST-NET-1: never this machine; refused before any request is sent
    done = devkit("bench", "http://192.0.2.1:5000", "-n", "10", "-c", "1")
    assert done.returncode == 1
    assert "is not this machine" in done.stderr and "--allow-remote" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_api_running_is_an_error_with_a_fix() -> None:
    done = devkit("bench", f"http://127.0.0.1:{free_port()}", "-n", "10", "-c", "1")
    assert done.returncode == 1
    assert "no API answers" in done.stderr and "devkit up" in done.stderr


def test_the_default_target_is_the_dev_api_from_env(
    api: tuple[LiveServer, str], tmp_path: Path
) -> None:
    server, _ = api
    make_project(tmp_path / "proj", env={"PORT": str(server.port)})
    done = devkit(
        "--root",
        str(tmp_path / "proj"),
        "bench",
        "-n",
        "20",
        "-c",
        "2",
        "--driver",
        "httpx",
        "--json",
        *LOOSE,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["url"] == server.url + "/api/notes"


def test_the_default_target_follows_a_running_devkit(
    api: tuple[LiveServer, str], tmp_path: Path
) -> None:
    """With `devkit up` running (its lock held, its run state written), bench loads the API
    URL recorded there, not PORT from .env."""
    from devkit.core.runstate import RunLock, RunState

    server, _ = api
    root = make_project(tmp_path / "proj", env={"PORT": str(free_port())})  # nothing there
    state_dir = root / ".devkit"
    with RunLock(state_dir):
        RunState(state_dir).record("api", url=server.url, state="healthy")
        done = devkit(
            "--root", str(root), "bench", "-n", "20", "-c", "2", "--driver", "httpx",
            "--json", *LOOSE,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["url"] == server.url + "/api/notes"
