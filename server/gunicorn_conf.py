"""gunicorn settings for the API: `gunicorn -c python:server.gunicorn_conf server.wsgi:app`.

Each worker is a process of its own, so /metrics needs prometheus_client's multiprocess mode:
the workers write their values into PROMETHEUS_MULTIPROC_DIR and a scrape answered by any of
them adds up all. This file sets that folder (unless the environment already does) before any
worker imports prometheus_client, empties it when gunicorn starts (stale files of an earlier run
would add old counts), and tells prometheus_client when a worker dies so its live gauges go.
Bind address, worker and thread counts stay on the command line or in GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

METRICS_DIR = Path(
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR",
        str(Path(tempfile.gettempdir()) / f"aios-metrics-{os.getpid()}"),
    )
)


def on_starting(server: Any) -> None:
    """Before the first worker: a fresh, empty metrics folder."""
    if METRICS_DIR.exists():
        for stale in METRICS_DIR.glob("*.db"):
            stale.unlink()
    METRICS_DIR.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended (crash, timeout, restart): drop its live gauges; its counts stay."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))


def on_exit(server: Any) -> None:
    """gunicorn stops: remove the folder when it is the default one made for this run."""
    if METRICS_DIR.name == f"aios-metrics-{os.getpid()}":
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
