"""`devkit run [--keep] -- CMD...` (like `tilt ci`): bring the stack up in the background (or
use the devkit already running), wait until every component is healthy, run CMD with
DATABASE_URL, API_URL and EXPO_PUBLIC_API_URL set, stop what this command started (unless
--keep) and exit with CMD's exit code. For CI jobs and the app's own integration tests."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from devkit.commands import COMMANDS
from devkit.errors import DevkitError
from devkit.settings.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help=COMMANDS["run"])
    parser.add_argument(
        "--keep", action="store_true", help="leave the stack running after CMD (devkit down)"
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for health (default 180)"
    )
    parser.add_argument("--db-backend", default=None, help="as for devkit up")
    parser.add_argument("--host", default=None, help="as for devkit up")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD...")
    parser.set_defaults(run=run)


def _say(text: str) -> None:
    print(f"devkit: {text}", file=sys.stderr, flush=True)


def environment(settings: Settings, report: dict[str, Any]) -> dict[str, str]:
    info = report["devkit"]
    api_port = int(info.get("api_port", settings.api_port))
    lan = info.get("lan_host") or "127.0.0.1"
    env = {**os.environ, "API_URL": f"http://127.0.0.1:{api_port}"}
    env["EXPO_PUBLIC_API_URL"] = f"http://{lan}:{api_port}"
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return env


def run(args: argparse.Namespace) -> int:
    from devkit.commands.background import all_healthy, start_detached, stop_background, wait_until
    from devkit.commands.common import project_root
    from devkit.commands.up import up_args
    from devkit.core.control.client import ControlClient
    from devkit.core.runstate import lock_is_held
    from devkit.settings.config import load_settings
    from devkit.settings.envfile import ensure_env_file

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise DevkitError("no command to run", "devkit run -- pytest tests/integration")
    root = project_root(args)
    ensure_env_file(root)
    settings = load_settings(root, {"db_backend": args.db_backend})
    client = ControlClient(settings.state_dir)
    proc = None
    if lock_is_held(settings.state_dir):
        _say("using the devkit already running")
        wait_until(client, all_healthy, args.timeout)
    else:
        _say("starting the stack in the background ...")
        proc = start_detached(settings.root, settings.state_dir, up_args(args), args.timeout)
    try:
        env = environment(settings, client.status())
        _say(f"all healthy; running: {' '.join(cmd)}")
        try:
            code = subprocess.run(cmd, env=env).returncode
        except FileNotFoundError:
            _say(f"{cmd[0]}: command not found")
            code = 127
    finally:
        if proc is not None and not args.keep:
            _say("stopping the stack")
            stop_background(client, proc)
        elif proc is not None:
            _say(f"the stack keeps running (pid {proc.pid}): devkit down stops it")
    return code if code >= 0 else 128 - code
