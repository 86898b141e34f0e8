"""The devices panel: the Expo Go QR code, or what the app gets and the API for each device.

`d` toggles between the two. Without Metro (no client/) the code is the API's status URL, to
open in the phone's browser, and the panel says why there is no Expo code. The QR code is drawn
light-on-black whatever the theme, so phone cameras always see dark modules on a light quiet
zone (see devkit.reach.qr). The table first shows what the app really gets (one bundle for
every device, devkit.reach.targets.app_config), then the API per device for browsers and tools.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from devkit.reach.qr import MIN_QUIET_ZONE, render_qr_text
from devkit.reach.targets import api_url, app_config, device_targets, expo_url

QR_STYLE = "#ffffff on #000000"
SHORT_LABELS = {
    "ios-simulator": "iOS simulator",
    "android-emulator": "Android emulator",
    "genymotion": "Genymotion",
    "phone": "Phone (Wi-Fi)",
    "adb-reverse": "adb reverse (USB)",
}


class DevicesPanel(Static):
    def __init__(
        self,
        lan_host: str,
        api_port: int,
        metro_port: int,
        settings_env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("", **kwargs)
        self.lan_host = lan_host
        self.api_port = api_port
        self.metro_port = metro_port
        self.settings_env = dict(settings_env or {})
        self.mode = "qr"  # "qr" | "table"
        self.wide = False
        self.metro_enabled = True
        self.api_enabled = True
        self.metro_reason = ""  # why Metro is disabled, shown instead of the Expo code
        self.border_title = "devices"

    def on_mount(self) -> None:
        self.redraw()

    def configure(
        self,
        *,
        lan_host: str | None = None,
        wide: bool | None = None,
        metro_enabled: bool | None = None,
        api_enabled: bool | None = None,
        metro_reason: str | None = None,
    ) -> None:
        changed = False
        for name, value in (
            ("lan_host", lan_host),
            ("wide", wide),
            ("metro_enabled", metro_enabled),
            ("api_enabled", api_enabled),
            ("metro_reason", metro_reason),
        ):
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            self.redraw()

    def toggle(self) -> None:
        self.mode = "table" if self.mode == "qr" else "qr"
        self.redraw()

    @property
    def expo_url(self) -> str:
        return expo_url(self.lan_host, self.metro_port)

    @property
    def api_status_url(self) -> str:
        return f"{api_url(self.lan_host, self.api_port)}/status"

    def redraw(self) -> None:
        if self.mode == "qr" and self.metro_enabled:
            self.border_title = "Expo Go"
        elif self.mode == "qr" and self.api_enabled:
            self.border_title = "API status"
        else:
            self.border_title = "devices"
        self.update(self.rendered_targets())

    def rendered_targets(self) -> RenderableType:
        if self.mode == "qr" and self.metro_enabled:
            return self._qr()
        if self.mode == "qr" and self.api_enabled:
            return self._api_qr()
        return self._table()

    def plain_text(self, width: int = 80) -> str:
        """What the panel shows, as plain text (tests, and a copy for the clipboard)."""
        console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
        console.print(self.rendered_targets())
        return console.file.getvalue()  # type: ignore[attr-defined]

    def _code(self, data: str) -> Text:
        quiet = None if self.wide else MIN_QUIET_ZONE
        return Text(render_qr_text(data, quiet_zone=quiet), style=QR_STYLE, no_wrap=True)

    def _qr(self) -> RenderableType:
        url = self.expo_url
        parts: list[RenderableType] = [self._code(url), Text(url, style="bold", no_wrap=True)]
        if self.api_enabled:
            app = app_config(self.lan_host, self.api_port, self.metro_port, self.settings_env)
            parts.append(Text(f"app's API {app.api_url}", style="dim", no_wrap=True))
        if self.wide:
            parts.append(Text("d: devices it serves, API per device", style="dim italic"))
        return Group(*parts)

    def _api_qr(self) -> RenderableType:
        """No Metro: the API's status URL, to check from the phone's browser."""
        url = self.api_status_url
        why = self.metro_reason or "Metro is not running"
        return Group(
            self._code(url),
            Text(url, style="bold", no_wrap=True),
            Text("open in the phone's browser", style="dim", no_wrap=True),
            Text(f"no Expo Go code: {why}", style="yellow"),
        )

    def _table(self) -> RenderableType:
        targets = device_targets(self.lan_host, self.api_port, self.metro_port)
        parts: list[RenderableType] = []
        if self.metro_enabled:
            app = app_config(self.lan_host, self.api_port, self.metro_port, self.settings_env)
            parts.append(Text("the app (one bundle, every device)", style="bold"))
            for line in app.lines(api=self.api_enabled):
                parts.append(Text(f" {line}"))
        elif self.metro_reason:
            parts.append(Text(f"no Expo app: {self.metro_reason}", style="yellow"))
        if not self.api_enabled:
            return Group(*parts)
        parts.append(Text("API from a device's browser or tools", style="bold"))
        if self.wide:
            table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False)
            table.add_column("device")
            table.add_column("API")
            for target in targets:
                table.add_row(" " + SHORT_LABELS.get(target.kind, target.label), target.api_url)
            parts.append(table)
            return Group(*parts)
        lines = Text(no_wrap=True)
        for target in targets:
            lines.append(" " + SHORT_LABELS.get(target.kind, target.label) + "\n")
            lines.append(f"  {target.api_url}\n", style="dim")
        lines.rstrip()
        parts.append(lines)
        return Group(*parts)
