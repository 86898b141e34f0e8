"""Reuse the API server fixtures (server_config, make_app) for the production-behaviour tests."""

from tests.server.conftest import make_app, server_config  # noqa: F401
