"""`python -m server`: the development server on 0.0.0.0:$PORT (threaded werkzeug).

Prints one line when listening; a configuration problem prints one line and exits with 2.
For production use gunicorn: `gunicorn server.wsgi:app`.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

EXIT_CONFIG = 2


def main() -> int:
    # Output goes to a pipe under devkit: never hold lines back in a buffer.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    from werkzeug.serving import make_server

    from server import close_app, create_app
    from server.config import Config, ConfigError
    from server.db import get_database

    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"AIOS API: configuration error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    try:
        app = create_app(config)
    except OSError as exc:  # e.g. LOG_DIR not writable
        print(
            f"AIOS API: cannot start: {exc} (check LOG_DIR={config.log_dir})",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_CONFIG
    try:
        listener = listen(config.port)
    except OSError as exc:
        print(
            f"AIOS API: cannot listen on port {config.port}: {exc.strerror or exc}. "
            "Stop whatever uses it or set PORT in .env (macOS: port 5000 is AirPlay "
            "Receiver's)",
            file=sys.stderr,
            flush=True,
        )
        close_app(app)
        return 1
    server = make_server("0.0.0.0", config.port, app, threaded=True, fd=listener.fileno())
    get_database(app).open()  # connects in the background; does not wait
    # SIGTERM (devkit's stop, docker stop) ends serve_forever so the pool closes politely.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    print(
        f"AIOS API listening on http://0.0.0.0:{config.port} (env {config.app_env}, "
        f"pid {os.getpid()}, logs in {config.log_dir})",
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        listener.close()
        close_app(app)
    return 0


def listen(port: int) -> socket.socket:
    """Bind here rather than in werkzeug, which prints several lines and exits on EADDRINUSE."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
