"""WSGI entry for gunicorn: `gunicorn 'server.wsgi:app'` (configuration from the environment).

The pool is not opened here: it opens on the first request in each worker, so the module is
safe with `gunicorn --preload` (threads do not survive fork).
"""

from __future__ import annotations

import sys

from server import create_app
from server.config import ConfigError

APP_LOAD_ERROR = 4  # gunicorn's arbiter halts on this worker exit code instead of respawning

try:
    app = create_app()
except ConfigError as exc:
    print(f"AIOS API: configuration error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR) from None
