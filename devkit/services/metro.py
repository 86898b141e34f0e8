"""Expo's Metro bundler: runs when the client folder holds an Expo project.

Phones load the bundle from REACT_NATIVE_PACKAGER_HOSTNAME and call the API at
EXPO_PUBLIC_API_URL, both built from the LAN address; when that address changes the
supervisor restarts Metro (set_lan_host returns True).
"""

from __future__ import annotations

import json
import shlex

from devkit.core.service import ServiceContext
from devkit.host.probes import HttpProbe
from devkit.reach.targets import api_url, expo_url
from devkit.services.process import CommandService, command_argv
from devkit.settings.config import Settings

STATUS_TEXT = "packager-status:running"
# Metro answers /status from the same node process that transforms modules: during a cold
# bundle build (~15 s for a blank app here) an answer can take seconds. A long timeout and
# three consecutive failures keep a busy Metro from flapping to unhealthy.
STATUS_TIMEOUT = 10.0


def expo_project_reason(settings: Settings) -> str | None:
    """None when settings.client_dir is an Expo project, else why Metro is not started."""
    folder = settings.client_dir
    package = folder / "package.json"
    shown = _shown(settings, folder)
    if not folder.is_dir():
        return f"no {shown}/ folder (the Expo app lives there; set client_dir to change it)"
    if not package.is_file():
        return f"no package.json in {shown}/"
    try:
        data = json.loads(package.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{shown}/package.json cannot be read: {exc}"
    deps = {**(data.get("dependencies") or {}), **(data.get("devDependencies") or {})}
    if "expo" not in deps:
        return f"{shown}/package.json does not depend on expo"
    return None


def _shown(settings: Settings, folder) -> str:
    try:
        return str(folder.relative_to(settings.root))
    except ValueError:
        return str(folder)


class MetroService(CommandService):
    backend = "expo"
    needs_lan_host = True  # REACT_NATIVE_PACKAGER_HOSTNAME / EXPO_PUBLIC_API_URL

    def __init__(self, settings: Settings) -> None:
        port = settings.metro_port
        command = settings.metro_command.format(port=port)
        super().__init__(
            "metro",
            command_argv(command),
            cwd=settings.client_dir,
            restart_policy="on-failure",
            required=False,
            probe=HttpProbe(
                f"http://127.0.0.1:{port}/status", timeout=STATUS_TIMEOUT, expect_body=STATUS_TEXT
            ),
            ports=(port,),
        )
        self.settings = settings
        self.port = port
        self.api_port = settings.api_port
        self.lan_host = "127.0.0.1"
        self.start_timeout = 120.0  # a first `npx expo start` may install things
        self._reason = expo_project_reason(settings)

    def disabled_reason(self) -> str | None:
        return self._reason

    @property
    def url(self) -> str:
        return expo_url(self.lan_host, self.port)

    def set_lan_host(self, host: str) -> bool:
        """New LAN address; True when Metro must restart to pick it up."""
        changed = host != self.lan_host
        self.lan_host = host
        return changed

    def child_env(self, ctx: ServiceContext) -> dict[str, str]:
        env = super().child_env(ctx)
        env["REACT_NATIVE_PACKAGER_HOSTNAME"] = self.lan_host
        if not self.settings.env_value("EXPO_PUBLIC_API_URL"):
            env["EXPO_PUBLIC_API_URL"] = api_url(self.lan_host, self.api_port)
        env.setdefault("RCT_METRO_PORT", str(self.port))
        return env

    def describe(self) -> str:
        return shlex.join(self.argv)
