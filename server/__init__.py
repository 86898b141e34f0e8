"""The AIOS API: a Flask app factory wiring config, logging, database pool, metrics and routes.

create_app() is cheap and never touches the network: the database pool opens on first use (or
when `python -m server` asks it to, in the background), so the API starts while PostgreSQL is
still down and recovers without a restart.
"""

from __future__ import annotations

import os

from flask import Flask, request

from server.config import Config
from server.prefixes import ALIAS_PREFIX, API_PREFIX


def create_app(config: Config | None = None) -> Flask:
    from server import (
        auth,
        db,
        errors,
        logs,
        metrics,
        notes,
        openapi,
        ratelimit,
        status,
        version_gate,
    )
    from server.errors import ApiError
    from server.jsonprovider import OrjsonProvider

    if config is None:
        config = Config.from_env(os.environ)
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)
    app.config["AIOS_CONFIG"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.config["TESTING"] = config.app_env == "test"

    if config.proxy_hops:
        # behind nginx/an ingress: the client's address and scheme come from the
        # X-Forwarded-For/-Proto entries the last PROXY_HOPS proxies appended (never from
        # what a client sent itself)
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app_logs = logs.init_app(app, config)
    ratelimit.init_app(
        app, config.login_limit_address, config.login_limit_username, config.rate_limit_storage
    )
    database = db.init_app(app, config.database_url, config.db_pool_min, config.db_pool_max)
    metrics.init_app(app, database)
    errors.register(app)

    @app.before_request
    def _body_limit() -> None:
        length = request.content_length
        if length is not None and length > config.max_body_bytes:
            raise ApiError(
                413,
                "payload_too_large",
                f"the request body is {length} bytes; this server accepts at most "
                f"{config.max_body_bytes} bytes (MAX_BODY_BYTES)",
            )

    version_gate.init_app(app, config.min_app_version)

    app.register_blueprint(status.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(auth.bp, url_prefix=API_PREFIX)
    app.register_blueprint(notes.bp, url_prefix=API_PREFIX)
    app.register_blueprint(auth.bp, url_prefix=ALIAS_PREFIX, name="auth_alias")
    app.register_blueprint(notes.bp, url_prefix=ALIAS_PREFIX, name="notes_alias")
    if config.app_env != "test":  # a real server process (python -m server, gunicorn, devkit)
        app_logs.adopt_process_loggers()
    app_logs.logger.debug("app created (env %s)", config.app_env)
    return app


def close_app(app: Flask) -> None:
    """Close the app's pool and log files (tests create many apps in one process)."""
    from server import db, logs

    database = app.extensions.get(db.EXTENSION)
    if database is not None:
        database.close()
    app_logs = app.extensions.get(logs.EXTENSION)
    if app_logs is not None:
        app_logs.close()
