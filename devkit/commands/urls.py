"""`devkit urls`: what the Expo app gets (one bundle for every device), the address each kind
of device uses from its browser or other tools, and whether the stack answers now.

Works without `devkit up` (addresses only); when the stack runs it adds live health and
checks that the API answers on the LAN address.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from devkit.commands import COMMANDS
from devkit.commands.common import settings_from
from devkit.reach.adb import find_adb
from devkit.reach.lan import LanChoice, PlatformInfo, detect_lan, read_platform
from devkit.reach.lancheck import LanReach, LiveHealth, check_lan_reach, probe_local
from devkit.reach.targets import AppConfig, Target, app_config, device_targets


@dataclass
class Snapshot:
    """Everything `urls` and `qr` print, gathered once."""

    choice: LanChoice
    app: AppConfig
    targets: list[Target]
    health: LiveHealth
    reach: LanReach | None
    api_port: int
    metro_port: int
    platform: PlatformInfo


def running_lan_host(state_dir: Path) -> str | None:
    """The LAN host a running `devkit up` uses (from .devkit/runstate.json), if one runs."""
    try:
        from devkit.core.runstate import lock_is_held, read_state

        if not lock_is_held(state_dir):
            return None
        state = read_state(state_dir) or {}
    except (ImportError, OSError):
        return None
    host = state.get("lan_host")
    return host if isinstance(host, str) and host else None


def add_host_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        metavar="ADDRESS",
        help="address phones use (default: detected; also DEVKIT_LAN_HOST or "
        "REACT_NATIVE_PACKAGER_HOSTNAME)",
    )


def gather(args: argparse.Namespace, check_reach: bool = True) -> Snapshot:
    settings = settings_from(args)
    api_port, metro_port = settings.api_port, settings.metro_port
    host_flag = getattr(args, "host", None)
    choice = detect_lan(settings.env, host_flag, api_port=api_port, metro_port=metro_port)
    in_use = None if host_flag else running_lan_host(settings.state_dir)
    if in_use and in_use != choice.host:
        detected = choice
        choice = replace(
            detect_lan(settings.env, in_use, api_port=api_port, metro_port=metro_port),
            source="devkit up",
            reason="in use by the running devkit up",
            warnings=(
                f"detected now: {detected.host} ({detected.reason}); devkit up switches "
                "when it notices the change",
            ),
        )
    adb = find_adb() is not None
    app = app_config(choice.host, api_port, metro_port, settings.env, adb_available=adb)
    targets = device_targets(choice.host, api_port, metro_port, adb_available=adb)
    health = probe_local(api_port, metro_port)
    platform = read_platform()
    reach = None
    if check_reach and health.api_ok and choice.phones_can_reach:
        reach = check_lan_reach(choice.host, api_port, platform, extra_ports=(metro_port,))
    return Snapshot(choice, app, targets, health, reach, api_port, metro_port, platform)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "urls",
        help=COMMANDS["urls"],
        description="Show what the Expo app gets (the Expo Go URL and EXPO_PUBLIC_API_URL, one "
        "bundle for every device) and which devices that serves, the API URL for each kind of "
        "device's browser or tools, the LAN address and why it was chosen, and live health "
        "when devkit up runs.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--all",
        action="store_true",
        help="list every interface address considered, kept or skipped, and why",
    )
    add_host_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    snap = gather(args)
    if args.json:
        print(json.dumps(as_json(snap, include_candidates=args.all), indent=2))
    else:
        sys.stdout.write(render_text(snap, show_all=args.all))
    return 0


def as_json(snap: Snapshot, include_candidates: bool) -> dict[str, object]:
    lan = snap.choice.as_dict()
    if not include_candidates:
        lan.pop("candidates")
    return {
        "lan": lan,
        "api_port": snap.api_port,
        "metro_port": snap.metro_port,
        "app": snap.app.as_dict(),
        "targets": [t.as_dict() for t in snap.targets],
        "health": snap.health.as_dict(),
        "lan_reach": None
        if snap.reach is None
        else {
            "ok": snap.reach.ok,
            "url": snap.reach.url,
            "detail": snap.reach.detail,
            "hint": snap.reach.hint,
        },
    }


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]


def render_lan_header(snap: Snapshot) -> list[str]:
    choice = snap.choice
    where = f" on {choice.interface}" if choice.interface else ""
    lines = [f"LAN address: {choice.host}{where} ({choice.reason})"]
    lines += [f"  ! {w}" for w in choice.warnings if not (choice.wsl and w == choice.wsl.note)]
    if choice.wsl is not None:
        lines.append(f"  ! {choice.wsl.note}")
        lines += [f"      {cmd}" for cmd in choice.wsl.commands]
    health = snap.health
    api_hint = "" if health.api_ok else " (start the stack with devkit up)"
    lines.append(f"API   {health.api_url}: {health.api}{api_hint}")
    lines.append(f"Metro {health.metro_url}: {health.metro}")
    if snap.reach is not None:
        mark = "ok" if snap.reach.ok else "NOT REACHABLE"
        lines.append(f"API on the LAN address {snap.reach.url}: {mark}")
        if not snap.reach.ok:
            lines.append(f"  ! {snap.reach.detail}")
            lines.append(f"    fix: {snap.reach.hint}")
    return lines


def render_text(snap: Snapshot, show_all: bool = False) -> str:
    lines = render_lan_header(snap)
    lines.append("")
    lines.append("The app (Metro builds one bundle for every device):")
    lines += [f"  {line}" for line in snap.app.lines()]
    lines.append("")
    lines.append("The API from a device's browser or other tools (not what the app uses):")
    rows = [["DEVICE", "API URL", "NOTE"]]
    rows += [[t.label, t.api_url, t.note] for t in snap.targets]
    lines += ["  " + line for line in _table(rows)]
    if show_all:
        lines.append("")
        lines.append("Interface addresses considered:")
        cand_rows = [["", "INTERFACE", "ADDRESS", "REASON"]]
        cand_rows += [
            ["kept" if c.kept else "skipped", c.name, c.address, c.reason]
            for c in snap.choice.candidates
        ]
        lines += ["  " + line for line in _table(cand_rows)]
    return "\n".join(lines) + "\n"
