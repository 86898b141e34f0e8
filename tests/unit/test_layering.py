"""The core never imports the UI toolkit: headless runs, `devkit status` and the tests of the
engine must work (and start fast) without Textual being loaded."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "devkit.core.supervisor",
    "devkit.core.hosting",
    "devkit.services.registry",
    "devkit.services.postgres",
    "devkit.services.api",
    "devkit.services.metro",
    "devkit.ui.plain",
    "devkit.core.runstate",
    "devkit.reach.lan",
    "devkit.reach.qr",
    "devkit.commands.up",
    "devkit.commands.status",
    "devkit.commands.down",
    "devkit.commands.urls",
    "devkit.commands.db",
    "devkit.commands.doctor",
    "devkit.commands.logs",
    "devkit.commands.restart",
    "devkit.commands.run",
    "devkit.core.control.server",
    "devkit.core.control.client",
    "devkit.cli",
]


def loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print('\\n'.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


def test_core_modules_do_not_load_textual() -> None:
    loaded = loaded_after_import(CORE)
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_dashboard_does_load_it() -> None:
    """The check above can fail: importing the dashboard brings Textual in."""
    assert "textual" in loaded_after_import(["devkit.ui.app"])


def test_the_cli_loads_only_the_command_it_runs() -> None:
    """`devkit --version` / `devkit down` stay fast: no database driver, HTTP client, QR
    library or dashboard is imported until a command needs it."""
    code = (
        "import sys\nfrom devkit import cli\nparser = cli.build_parser('down')\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(result.stdout.split())
    assert "devkit.commands.down" in loaded
    heavy = {"psycopg", "httpx", "qrcode", "textual", "docker", "devkit.commands.db"}
    assert not heavy & loaded
