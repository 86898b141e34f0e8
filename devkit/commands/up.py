"""`devkit up [--headless] [--db-backend B] [--host ADDR]`: run the whole stack.

Preflight (before anything starts): .env created if missing, the run lock taken ("already
running (pid N)"), leftovers of a killed devkit stopped, ports checked (holder named). Then
the supervisor runs on this thread (headless) or on a background thread under the dashboard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.settings.config import DB_BACKENDS, Settings, find_root, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("up", help=COMMANDS["up"])
    parser.add_argument(
        "--headless",
        action="store_true",
        help="prefixed log lines instead of the dashboard "
        "(automatic when stdout is not a terminal)",
    )
    parser.add_argument(
        "--db-backend",
        choices=DB_BACKENDS,
        default=None,
        help="where PostgreSQL runs (default: setting db_backend, else auto)",
    )
    parser.add_argument(
        "--host", default=None, help="the LAN address phones and Metro use (default: detected)"
    )
    parser.set_defaults(run=run)


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve() if getattr(args, "root", None) else find_root()


def run(args: argparse.Namespace) -> int:
    from devkit.settings.envfile import ensure_env_file

    root = _root(args)
    envfile = ensure_env_file(root)
    settings = load_settings(root, {"db_backend": args.db_backend})
    headless = args.headless or not sys.stdout.isatty()
    messages = []
    if envfile.created:
        messages.append(
            f"created {envfile.path.name} from .env.example with fresh secrets (mode 0600)"
        )
    messages.extend(f"warning: {w}" for w in envfile.warnings)
    return start(settings, args.db_backend, args.host, headless, messages)


def start(
    settings: Settings,
    db_backend: str | None,
    host: str | None,
    headless: bool,
    messages: list[str],
) -> int:
    from devkit.core.runstate import RunLock, RunState, clean_leftovers
    from devkit.core.supervisor import Supervisor
    from devkit.host.ports import check_ports
    from devkit.services.registry import build_services

    lock = RunLock(settings.state_dir)
    lock.acquire()
    try:

        def early(text: str) -> None:
            print(f"devkit: {text}", file=sys.stderr if not headless else sys.stdout, flush=True)

        leftovers = clean_leftovers(
            settings.state_dir, settings.shutdown_timeout, early, locked_by_us=True
        )
        if leftovers:
            messages.append(
                f"cleaned up {len(leftovers)} component(s) left running by a devkit that was killed"
            )
        plan = build_services(settings, db_backend)
        messages.extend(plan.notes)
        check_ports(
            (svc.name, port)
            for svc in plan.services
            if svc.disabled_reason() is None and svc.check_port_conflicts
            for port in svc.ports
        )
        runstate = RunState(settings.state_dir)
        runstate.write()
        supervisor = Supervisor(
            settings,
            plan.services,
            runstate=runstate,
            lan_host=host,
            exit_on_required_failure=headless,
        )
        if headless:
            return _headless(supervisor, settings, messages)
        return _dashboard(supervisor, messages)
    finally:
        lock.release()


def _headless(supervisor, settings: Settings, messages: list[str]) -> int:
    from devkit.core.hosting import run_headless
    from devkit.ui.plain import PlainPrinter

    metro = supervisor.components.get("metro")
    api = supervisor.components.get("api")
    printer = PlainPrinter(
        names=list(supervisor.components),
        api_port=settings.api_port,
        metro_port=settings.metro_port,
        metro_enabled=bool(metro and metro.enabled),
        api_enabled=bool(api and api.enabled),
    )
    supervisor.subscribe(printer)
    for text in messages:
        supervisor.announce(text)
    return run_headless(supervisor, on_signal=lambda text: printer.line("devkit", text))


def _dashboard(supervisor, messages: list[str]) -> int:
    from devkit.core.hosting import SupervisorThread
    from devkit.ui.app import run_dashboard

    for text in messages:
        supervisor.announce(text)
    thread = SupervisorThread(supervisor)
    thread.install_signal_handlers()
    thread.start()
    try:
        code = run_dashboard(supervisor)
    finally:
        supervisor_code = thread.stop()
        thread.restore_signal_handlers()
    return code or supervisor_code
