"""Expo's Metro bundler: runs when the client folder holds an Expo project.

Phones load the bundle from REACT_NATIVE_PACKAGER_HOSTNAME and call the API at
EXPO_PUBLIC_API_URL, both built from the LAN address; when that address changes the
supervisor restarts Metro (set_lan_host returns True).

Before starting, the client's packages must be installed (devkit.host.node): otherwise npx
gives up at once and the component would only crash-loop. While running, bundling errors in
Metro's output become the component's `problem` (metro_output), cleared by the next good build.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path

from devkit.core.service import Problem, ServiceContext
from devkit.errors import DevkitError
from devkit.host.node import client_deps_problem, install_command
from devkit.host.probes import HttpProbe
from devkit.reach.targets import expo_url, metro_env
from devkit.services.metro_output import BundleErrors
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


def _shown(settings: Settings, folder: Path) -> str:
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
        self.bundle_errors = BundleErrors(str(settings.client_dir))

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

    @property
    def problem(self) -> Problem | None:
        return self.bundle_errors.problem

    async def start(self, ctx: ServiceContext) -> None:
        missing = client_deps_problem(self.settings.client_dir)
        if missing is not None:
            shown = _shown(self.settings, self.settings.client_dir)
            raise DevkitError(
                f"Metro not started: {missing}",
                f"cd {shown} && {install_command(self.settings.client_dir)}, then restart "
                "metro (r in the dashboard)",
            )
        self.bundle_errors.reset()
        bundles = self.bundle_errors

        def log(text: str, stream: str = "stdout") -> None:
            ctx.log(text, stream)
            if bundles.feed(text):
                ctx.changed()

        await super().start(replace(ctx, log=log))

    def child_env(self, ctx: ServiceContext) -> dict[str, str]:
        env = super().child_env(ctx)
        explicit = {"EXPO_PUBLIC_API_URL": self.settings.env_value("EXPO_PUBLIC_API_URL") or ""}
        env.update(metro_env(self.lan_host, self.api_port, explicit))  # what `urls` shows
        env.setdefault("RCT_METRO_PORT", str(self.port))
        return env

    def describe(self) -> str:
        return shlex.join(self.argv)
