"""GET /metrics in Prometheus text format, from a registry of this app's own.

A per-app CollectorRegistry (not prometheus_client's global one) lets several apps live in one
process (tests) without duplicate-metric errors.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (the gunicorn
config server/gunicorn_conf.py sets it) the counters live in files there, one per process, and
a scrape answered by any worker adds them all up. The pool figures stay per process (those of
the worker that answers); `aios_workers` counts the live processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from server.db import Database

EXTENSION = "aios_metrics"
UNMATCHED = "unmatched"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
POOL_FIGURES = {
    "pool_min": "Configured minimum pool size",
    "pool_max": "Configured maximum pool size",
    "pool_size": "Connections managed by the pool (in use, idle or being prepared)",
    "pool_available": "Idle connections ready in the pool",
    "requests_waiting": "Requests waiting for a connection",
    "requests_num": "Connection requests since start",
    "requests_queued": "Connection requests that had to wait",
    "requests_errors": "Connection requests that failed (timeout or queue full)",
    "connections_num": "Connection attempts to the server since start",
    "connections_errors": "Failed connection attempts since start",
    "connections_lost": "Broken connections found by the pool's checks",
}

bp = Blueprint("metrics", __name__)


class PoolCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.database.stats()
        for key, help_text in POOL_FIGURES.items():
            family = GaugeMetricFamily(f"aios_db_{key}", help_text)
            family.add_metric([], float(stats.get(key, 0)))
            yield family


def multiprocess_dir() -> str | None:
    """Where worker processes share their values, when the server runs as several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class AppMetrics:
    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        shared = multiprocess_dir()
        # In multiprocess mode the values live in files: the collector reads every process's.
        owner = None if shared else self.registry
        self.requests = Counter(
            "aios_http_requests",
            "HTTP requests by route, method, status",
            ["route", "method", "status"],
            registry=owner,
        )
        self.latency = Histogram(
            "aios_http_request_duration_seconds",
            "HTTP request latency by route and method",
            ["route", "method"],
            buckets=BUCKETS,
            registry=owner,
        )
        self.errors = Counter(
            "aios_http_errors",
            "HTTP responses with a 5xx status by route",
            ["route", "status"],
            registry=owner,
        )
        self.workers = Gauge(
            "aios_workers",
            "Live server processes answering requests",
            registry=owner,
            multiprocess_mode="livesum",  # a dead worker's value goes (gunicorn child_exit)
        )
        self._pid = 0
        # (route, method, status) -> its children: labels() takes a lock and checks its
        # arguments on every call; the label sets are few (routes x methods x statuses)
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        if shared:
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.registry, path=shared)
        self.registry.register(PoolCollector(database))

    def count_this_process(self) -> None:
        """Count this process once as a live worker (after a fork it is a new one)."""
        pid = os.getpid()
        if self._pid != pid:
            self._pid = pid
            self.workers.set(1)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
                self.errors.labels(route, str(status)) if status >= 500 else None,
            )
        requests, latency, errors = children
        requests.inc()
        latency.observe(seconds)
        if errors is not None:
            errors.inc()


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(req: Request) -> str:
    """Arbitrary method names would make unbounded label sets: group them as OTHER."""
    method = req.method
    return method if method in METHODS else "OTHER"


def route_label(req: Request) -> str:
    rule = req.url_rule
    return rule.rule if rule is not None else UNMATCHED


def init_app(app: Flask, database: Database) -> AppMetrics:
    metrics = AppMetrics(database)
    app.extensions[EXTENSION] = metrics

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()
        metrics.count_this_process()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("metrics_started")
        elapsed = time.perf_counter() - started if started else 0.0
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
        metrics.observe(route_label(req), method_label(req), response.status_code, elapsed)
        return response

    app.register_blueprint(bp)
    return metrics


@bp.get("/metrics")
def metrics_text() -> Response:
    registry = current_app.extensions[EXTENSION].registry
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
