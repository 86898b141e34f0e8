"""`devkit up [--headless | --detach] [--db-backend B] [--host ADDR]`: run the whole stack.

--detach (like `docker compose up -d`): the same headless devkit runs as a background process
(output in .devkit/devkit.log); this command waits until every component is healthy, prints
the URLs and returns. `devkit logs`, `attach`, `restart` and `down` reach it over the control
socket.

Preflight (before anything starts): .env created if missing, the run lock taken ("already
running (pid N)"), leftovers of a killed devkit stopped, ports checked (holder named). Then
the supervisor runs on this thread (headless) or on a background thread under the dashboard.
"""

from __future__ import annotations

import argparse
import sys

from devkit.commands import COMMANDS
from devkit.commands.common import project_root
from devkit.settings.config import DB_BACKENDS, Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("up", help=COMMANDS["up"])
    parser.add_argument(
        "--headless",
        action="store_true",
        help="prefixed log lines instead of the dashboard "
        "(automatic when stdout is not a terminal)",
    )
    parser.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="run in the background: wait until all is healthy, print the URLs, return",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="--detach: seconds to wait for every component to be healthy (default 180)",
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


def run(args: argparse.Namespace) -> int:
    from devkit.settings.envfile import ensure_env_file

    root = project_root(args)
    envfile = ensure_env_file(root)
    settings = load_settings(root, {"db_backend": args.db_backend})
    if args.detach:
        return detach(settings, args)
    headless = args.headless or not sys.stdout.isatty()
    messages = []
    if envfile.created:
        messages.append(
            f"created {envfile.path.name} from .env.example with fresh secrets (mode 0600)"
        )
    messages.extend(f"warning: {w}" for w in envfile.warnings)
    return start(settings, args.db_backend, args.host, headless, messages)


def up_args(args: argparse.Namespace) -> list[str]:
    """The options a background `devkit up --headless` gets from this command line."""
    extra = []
    if getattr(args, "db_backend", None):
        extra += ["--db-backend", args.db_backend]
    if getattr(args, "host", None):
        extra += ["--host", args.host]
    return extra


def detach(settings: Settings, args: argparse.Namespace) -> int:
    from devkit.commands.background import print_urls, start_detached
    from devkit.core.control.client import ControlClient
    from devkit.core.runstate import RunLock

    probe = RunLock(settings.state_dir)  # "already running (pid N)" before spawning;
    probe.acquire()  # released at once: the background devkit takes it for good
    probe.release()
    print("devkit: starting in the background ...", flush=True)
    proc = start_detached(settings.root, settings.state_dir, up_args(args), args.timeout)
    print_urls(ControlClient(settings.state_dir).status())
    print(
        f"devkit runs in the background (pid {proc.pid}); output: "
        f"{settings.state_dir / 'devkit.log'}\n"
        "  devkit logs -f | devkit attach | devkit status | devkit down",
        flush=True,
    )
    return 0


def start(
    settings: Settings,
    db_backend: str | None,
    host: str | None,
    headless: bool,
    messages: list[str],
) -> int:
    from devkit.core.runstate import RunLock, RunState, clean_leftovers
    from devkit.errors import DevkitError
    from devkit.host.ports import check_ports
    from devkit.services.registry import build_services

    lock = RunLock(settings.state_dir)
    try:
        lock.acquire()
    except DevkitError:
        _say_now(messages, headless)  # e.g. "created .env": not lost when up stops here
        raise
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
        try:
            plan = build_services(settings, db_backend)
            messages.extend(plan.notes)
            check_ports(
                (svc.name, port)
                for svc in plan.services
                if svc.disabled_reason() is None and svc.check_port_conflicts
                for port in svc.ports
            )
        except DevkitError:
            _say_now(messages, headless)
            raise
        for svc in plan.services:
            if svc.disabled_reason() is None:
                svc.prepare_early()  # e.g. initdb, while the engine below is imported
        from devkit.core.supervisor import Supervisor

        runstate = RunState(settings.state_dir)
        runstate.write()  # at once: a failure to write it is reported before anything starts
        runstate.deferred = True
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


def _say_now(messages: list[str], headless: bool) -> None:
    """Messages meant for the run's log, printed at once because the run stops in preflight."""
    for text in messages:
        print(f"devkit: {text}", file=sys.stdout if headless else sys.stderr, flush=True)


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
        settings_env=settings.env,
    )
    supervisor.subscribe(printer)
    for text in messages:
        supervisor.announce(text)
    return run_headless(supervisor, on_signal=lambda text: printer.line("devkit", text))


def _dashboard(supervisor, messages: list[str]) -> int:
    from devkit.core.hosting import SupervisorThread
    from devkit.ui.app import DashboardConfig, run_dashboard

    settings = supervisor.settings
    config = DashboardConfig(
        api_port=settings.api_port,
        metro_port=settings.metro_port,
        state_dir=settings.state_dir,
        lan_host=supervisor.net.lan_host,
        max_lines=settings.log_buffer_lines,
        settings_env=settings.env,
    )
    for text in messages:
        supervisor.announce(text)
    thread = SupervisorThread(supervisor)
    thread.install_signal_handlers()
    thread.start()
    try:
        code = run_dashboard(supervisor, config)
    finally:
        supervisor_code = thread.stop()
        thread.restore_signal_handlers()
    return code or supervisor_code
