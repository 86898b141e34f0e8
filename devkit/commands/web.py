"""`devkit web [--port P] [--host H]`: the dashboard in a browser. textual-serve runs
`devkit attach` for each browser tab and streams it over a websocket.

textual-serve has no authentication, and anyone who can open the page can stop the stack, so:
- it listens on 127.0.0.1 only, unless --host names another address (a warning is printed);
- every request must carry a random token: the printed URL has it as `?token=...`; the first
  page load sets it as an HttpOnly, SameSite=Strict cookie, which the page's static files and
  its websocket then send. Requests with neither get 403 (an aiohttp middleware added to
  textual-serve's app; tokens compared in constant time).
"""

from __future__ import annotations

import argparse
import hmac
import secrets
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from devkit.commands import COMMANDS

COOKIE = "devkit_token"
LOOPBACK = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("web", help=COMMANDS["web"])
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address to listen on (default 127.0.0.1; anything else exposes the dashboard, "
        "token-protected, to that network)",
    )
    parser.set_defaults(run=run)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def make_server(command: str, host: str, port: int, token: str) -> Any:
    from aiohttp import web
    from textual_serve.server import Server

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.query.get("token", "")
        if given and hmac.compare_digest(given, token):
            response = await handler(request)
            if not response.prepared:
                response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            return response
        cookie = request.cookies.get(COOKIE, "")
        if cookie and hmac.compare_digest(cookie, token):
            return await handler(request)
        return web.Response(
            status=403, text="devkit web: open the URL with the token that `devkit web` printed\n"
        )

    class TokenServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(check_token)
            return app

        def initialize_logging(self) -> None:
            import logging

            logging.basicConfig(level=logging.WARNING, format="devkit web: %(message)s")

        async def on_startup(self, app: web.Application) -> None:
            print(f"devkit dashboard: {self.public_url}/?token={token}", flush=True)
            print("Ctrl-C stops serving (devkit keeps running)", flush=True)

    return TokenServer(command, host=host, port=port, title="devkit")


def run(args: argparse.Namespace) -> int:
    from devkit.commands.down import state_settings
    from devkit.core.control.client import ControlClient

    settings = state_settings(args)
    ControlClient(settings.state_dir).status()  # "not running" now, not in the browser
    if args.host != LOOPBACK:
        print(
            f"warning: serving the dashboard on {args.host}: anyone who can reach it and has the "
            "URL (token) can see the logs and stop the stack",
            file=sys.stderr,
            flush=True,
        )
    port = args.port or free_port(args.host)
    token = secrets.token_urlsafe(24)
    command = shlex.join([sys.executable, "-m", "devkit", "--root", str(settings.root), "attach"])
    make_server(command, args.host, port, token).serve()
    return 0
