"""/metrics under gunicorn with two worker processes: a scrape answered by either worker counts
the requests both served (prometheus_client multiprocess mode, server/gunicorn_conf.py), stale
files of an earlier run are wiped at start, and a killed worker's live gauge goes while its
counts stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live_server import ROOT, server_env
from tests.support.ports import free_port
from tests.support.wait import wait_for


class Gunicorn:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, metrics_dir: Path) -> None:
        self.proc, self.port, self.metrics_dir = proc, port, metrics_dir
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.answered = self.lost = 0  # GET /status: answered 200 / lost on the way

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.proc.pid).children()}

    def pids_with(self, prefix: str) -> set[int]:
        """Worker pids that have written a value file of this kind (counter, gauge_livesum)."""
        return {int(p.stem.rsplit("_", 1)[1]) for p in self.metrics_dir.glob(f"{prefix}_*.db")}

    def status(self) -> int | None:
        """GET /status on a new connection (so either worker may take it); None when the request
        is lost on the way (a reset connection on a loaded machine): the server may or may not
        have counted it, so `answered` and `lost` bound what /metrics must show."""
        try:
            code = self.http.get("/status", headers={"Connection": "close"}).status_code
        except httpx.ConnectError:
            return None  # not listening yet: the request was never sent
        except httpx.TransportError:
            self.lost += 1
            return None
        self.answered += code == 200
        return code

    def serve_until(self, done: Callable[[], bool], limit: int = 2000) -> None:
        for _ in range(limit):
            if done():
                return
            assert self.status() in (200, None)
        assert done(), f"not done after {limit} requests"

    def counted(self, found: dict) -> bool:
        """/metrics shows every answered /status (and at most the lost ones more)."""
        return self.answered <= status_count(found) <= self.answered + self.lost

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = wait_for(
            lambda: self.http.get("/metrics", headers={"Connection": "close"}), 10, what="/metrics"
        )
        assert response.status_code == 200, response.text[:500]
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }


def status_count(found: dict) -> float:
    labels = (("method", "GET"), ("route", "/status"), ("status", "200"))
    return found.get(("aios_http_requests_total", labels), 0.0)


@pytest.fixture
def gunicorn(server_config, tmp_path: Path) -> Iterator[Gunicorn]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"")  # an earlier run's leftover
    port = free_port()
    env = server_env(
        server_config.database_url,
        tmp_path / "logs",
        PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    argv = [str(gunicorn_bin), "-c", "python:server.gunicorn_conf", "--workers", "2"]
    argv += ["--bind", f"127.0.0.1:{port}", "server.wsgi:app"]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Gunicorn(proc, port, metrics_dir)
    try:
        wait_for(lambda: server.status() == 200, 60, what="gunicorn /status 200")
        yield server
    finally:
        server.http.close()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_scrape_counts_what_both_workers_served(gunicorn: Gunicorn) -> None:
    assert not (gunicorn.metrics_dir / "counter_999999.db").exists()  # wiped by on_starting
    workers = wait_for(lambda: len(gunicorn.workers()) == 2 and gunicorn.workers(), 30)
    gunicorn.serve_until(lambda: gunicorn.pids_with("counter") >= workers)
    assert gunicorn.pids_with("counter") == workers, "both workers served /status"

    for _ in range(6):  # whichever worker answers, the totals are the same: both workers' sum
        found = gunicorn.scrape()
        assert gunicorn.counted(found), (status_count(found), gunicorn.answered, gunicorn.lost)
        assert found[("aios_workers", ())] == 2


def test_a_killed_workers_gauge_goes_and_its_counts_stay(gunicorn: Gunicorn) -> None:
    workers = wait_for(lambda: len(gunicorn.workers()) == 2 and gunicorn.workers(), 30)
    # counter files appear with a worker's first counted request (gauge files at its start)
    gunicorn.serve_until(lambda: gunicorn.pids_with("counter") >= workers)
    assert gunicorn.pids_with("gauge_livesum") == workers
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)

    # child_exit marked it dead: its live gauge file is gone; gunicorn started a replacement
    wait_for(lambda: victim not in gunicorn.pids_with("gauge_livesum"), 30, what="child_exit")
    wait_for(lambda: len(gunicorn.workers() - {victim}) == 2, 30, what="a new worker")
    assert victim in gunicorn.pids_with("counter")  # its counts are kept
    for _ in range(6):
        found = gunicorn.scrape()
        assert gunicorn.counted(found), (status_count(found), gunicorn.answered, gunicorn.lost)
        assert 1 <= found[("aios_workers", ())] <= 2
