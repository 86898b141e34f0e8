"""gunicorn settings for the AIOS API image, from the environment.

GUNICORN_WORKERS (default 2) processes x GUNICORN_THREADS (default 4) threads each. SIGTERM
(docker stop, a rolling update, Kubernetes) stops accepting connections and lets requests in
flight finish for up to GUNICORN_GRACEFUL_TIMEOUT seconds: keep the orchestrator's stop grace
period above it (stack.yml stop_grace_period, k8s terminationGracePeriodSeconds).
"""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = f"0.0.0.0:{_int('PORT', 5000)}"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5
# heartbeat files in memory: works with a read-only root filesystem
worker_tmp_dir = "/dev/shm"
# the app writes its own access lines (with the client's address and request id)
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn >= 26's control socket lives under $HOME, which the image's user has none of
control_socket_disable = True

# /metrics adds up every worker's values (prometheus_client's multiprocess mode, see
# server/gunicorn_conf.py for the hooks). The folder is in memory: it works with a read-only root
# filesystem and starts empty with each container.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/dev/shm/aios-metrics")
from server.gunicorn_conf import child_exit, on_starting  # noqa: E402,F401 - gunicorn hooks
