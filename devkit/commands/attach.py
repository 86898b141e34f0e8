"""`devkit attach`: the dashboard of a devkit that runs elsewhere (headless, detached, or under
another dashboard), as a client of its control socket. Same dashboard code as `devkit up`
(it takes a RemoteController instead of the Supervisor). `q` leaves the dashboard and devkit
keeps running; `X` stops devkit."""

from __future__ import annotations

import argparse

from devkit.commands import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("attach", help=COMMANDS["attach"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from devkit.commands.down import state_settings
    from devkit.core.control.client import RemoteController
    from devkit.ui.app import DashboardConfig, run_dashboard

    settings = state_settings(args)
    controller = RemoteController(settings.state_dir, settings.log_buffer_lines)
    info = controller.info
    config = DashboardConfig(
        api_port=int(info.get("api_port", settings.api_port)),
        metro_port=int(info.get("metro_port", settings.metro_port)),
        state_dir=settings.state_dir,
        lan_host=info.get("lan_host") or "127.0.0.1",
        max_lines=settings.log_buffer_lines,
        attached=True,
        settings_env=settings.env,
    )
    try:
        return run_dashboard(controller, config)
    finally:
        controller.close()
