"""Logging: JSON lines to LOG_DIR/combined.log and LOG_DIR/error.log, readable console lines in
development, and one access line per request carrying its request id and client address.

The files rotate by size (LOG_MAX_BYTES, LOG_BACKUP_COUNT files kept), so they cannot fill a
disk. concurrent-log-handler does the rotation under a file lock: gunicorn's workers write the
same files, and a plain RotatingFileHandler in each would rotate over the others' writes.

Each app gets its own Logger object outside the logging tree, so several apps in one process
(tests) write to their own files without sharing global handlers.

Records are formatted and written by a background thread (server/logqueue.py): a request pays
for a queue put, not for JSON formatting and a locked file write. AppLogs.flush() waits for it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concurrent_log_handler import ConcurrentRotatingFileHandler
from flask import Flask, Response, g, request

from server.logqueue import Output, QueueSink, QueueWriter

if TYPE_CHECKING:
    from server.config import Config

EXTENSION = "aios_logs"
HEALTH_CHECK_HEADER = "X-Health-Check"  # set by devkit's (and other) health probes
REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_counter = 0


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return dict(getattr(record, "fields", None) or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the record's fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """`12:00:01 INFO  GET /status 200 1.2ms rid=...` for people watching a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = _fields(record)
        text = f"{stamp} {record.levelname:<5} {record.getMessage()}"
        if fields.get("request_id"):
            text += f" rid={fields['request_id']}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class QuietRepeats(logging.Filter):
    """One line per library message, and the same message at most once per `interval` seconds
    (psycopg_pool warns on every reconnect attempt while the database is down)."""

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = " ".join(record.getMessage().split())
        now = time.monotonic()
        if now - self.last.get(text, -self.interval) < self.interval:
            return False
        if len(self.last) > 100:
            self.last.clear()
        self.last[text] = now
        record.msg, record.args = text, None
        return True


class AppLogs:
    def __init__(
        self,
        log_dir: Path,
        level: str,
        console: str | None,
        max_bytes: int = 10 * 1024 * 1024,
        backup_count: int = 5,
    ) -> None:
        global _counter
        _counter += 1
        self.logger = logging.Logger(f"aios.api.{_counter}", level)
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        outputs = [
            Output(
                rotating_file(log_dir / "combined.log", max_bytes, backup_count), JsonFormatter()
            ),
            Output(
                rotating_file(log_dir / "error.log", max_bytes, backup_count),
                JsonFormatter(),
                logging.ERROR,
            ),
        ]
        if console is not None:
            outputs.append(
                Output(
                    logging.StreamHandler(sys.stdout),
                    ConsoleFormatter() if console == "readable" else JsonFormatter(),
                )
            )
        self.writer = QueueWriter(outputs)
        self.sink = QueueSink(self.writer)
        self.handlers: list[logging.Handler] = [self.sink]
        self.attached: list[str] = []
        self.logger.addHandler(self.sink)

    def attach(self, logger_name: str, level: int = logging.WARNING) -> None:
        """Send a library's log records (e.g. psycopg.pool) to this app's outputs."""
        library = logging.getLogger(logger_name)
        library.setLevel(level)
        library.propagate = False
        if not any(isinstance(f, QuietRepeats) for f in library.filters):
            library.addFilter(QuietRepeats())
        for handler in self.handlers:
            if handler not in library.handlers:
                library.addHandler(handler)

    def adopt_process_loggers(self) -> None:
        """For a real server process (not tests): library warnings (psycopg.pool reconnects)
        go to our outputs, and werkzeug's own access lines are muted (ours replace them)."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.attach("psycopg.pool")
        self.attached.append("psycopg.pool")

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the records logged so far are in the files (and on stdout)."""
        return self.writer.flush(timeout)

    def close(self) -> None:
        for name in self.attached:
            library = logging.getLogger(name)
            for handler in self.handlers:
                library.removeHandler(handler)
        for handler in self.handlers:
            self.logger.removeHandler(handler)
        self.writer.close()


def rotating_file(path: Path, max_bytes: int, backup_count: int) -> logging.Handler:
    """A size-rotated log file safe to share between processes (path, path.1 ... path.N)."""
    return ConcurrentRotatingFileHandler(
        str(path), maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )


def console_mode(app_env: str, log_stdout: str = "") -> str | None:
    """Readable lines in development, JSON on stdout in production, files only in tests;
    LOG_STDOUT=json|readable|off overrides (containers: json, collected by the engine)."""
    if log_stdout:
        return None if log_stdout == "off" else log_stdout
    return {"development": "readable", "production": "json"}.get(app_env)


def init_app(app: Flask, config: Config) -> AppLogs:
    logs = AppLogs(
        config.log_dir,
        config.log_level,
        console_mode(config.app_env, config.log_stdout),
        config.log_max_bytes,
        config.log_backup_count,
    )
    app.extensions[EXTENSION] = logs

    logger = logs.logger

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _access(response: Response) -> Response:
        context = g._get_current_object()  # one proxy lookup
        request_id = getattr(context, "request_id", None) or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = getattr(context, "request_started", None)
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else 0.0
        status = response.status_code
        # 503 is the expected answer while the database is down: not an error of ours
        level = (
            logging.INFO if status < 500 else logging.WARNING if status == 503 else logging.ERROR
        )
        req = request._get_current_object()  # type: ignore[attr-defined]
        if status < 400 and req.headers.get(HEALTH_CHECK_HEADER):
            level = logging.DEBUG  # an orchestrator's probe every few seconds: not news
        if not logger.isEnabledFor(level):
            return response
        remote_addr, method, path = req.remote_addr, req.method, req.path
        # makeRecord + handle: what Logger.log does, less the caller lookup (a stack walk
        # per request for a record whose source line is always this one)
        record = logger.makeRecord(
            logger.name,
            level,
            __file__,
            0,
            "%s %s %s %s %sms",
            (remote_addr or "-", method, path, status, duration_ms),
            None,
            extra={
                "fields": {
                    "type": "access",
                    "remote_addr": remote_addr,
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "request_id": request_id,
                }
            },
        )
        logger.handle(record)
        return response

    return logs


def get_logger(app: Flask | None = None) -> logging.Logger:
    """The app's logger (for blueprints): records go to combined.log (and error.log)."""
    from flask import current_app

    return (app or current_app).extensions[EXTENSION].logger
