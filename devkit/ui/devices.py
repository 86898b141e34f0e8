"""The devices panel: the Expo Go QR code, or the URL each kind of device must use.

`d` toggles between the two. The QR code is drawn light-on-black whatever the theme, so phone
cameras always see dark modules on a light quiet zone (see devkit.reach.qr).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from devkit.reach.qr import MIN_QUIET_ZONE, render_qr_text
from devkit.reach.targets import api_url, device_targets, expo_url

QR_STYLE = "#ffffff on #000000"
SHORT_LABELS = {
    "ios-simulator": "iOS simulator",
    "android-emulator": "Android emulator",
    "genymotion": "Genymotion",
    "phone": "Phone (Wi-Fi)",
    "adb-reverse": "adb reverse (USB)",
}


class DevicesPanel(Static):
    def __init__(self, lan_host: str, api_port: int, metro_port: int, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.lan_host = lan_host
        self.api_port = api_port
        self.metro_port = metro_port
        self.mode = "qr"  # "qr" | "table"
        self.wide = False
        self.metro_enabled = True
        self.api_enabled = True
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
    ) -> None:
        changed = False
        for name, value in (
            ("lan_host", lan_host),
            ("wide", wide),
            ("metro_enabled", metro_enabled),
            ("api_enabled", api_enabled),
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

    def redraw(self) -> None:
        self.border_title = "Expo Go" if self.mode == "qr" and self.metro_enabled else "devices"
        self.update(self.rendered_targets())

    def rendered_targets(self) -> RenderableType:
        if self.mode == "qr" and self.metro_enabled:
            return self._qr()
        return self._table()

    def _qr(self) -> RenderableType:
        url = self.expo_url
        quiet = None if self.wide else MIN_QUIET_ZONE
        code = Text(render_qr_text(url, quiet_zone=quiet), style=QR_STYLE, no_wrap=True)
        parts: list[RenderableType] = [code, Text(url, style="bold", no_wrap=True)]
        if self.api_enabled:
            parts.append(
                Text(f"API {api_url(self.lan_host, self.api_port)}", style="dim", no_wrap=True)
            )
        if self.wide:
            parts.append(Text("d: every device's URLs", style="dim italic"))
        return Group(*parts)

    def _table(self) -> RenderableType:
        targets = device_targets(self.lan_host, self.api_port, self.metro_port)
        if self.wide:
            table = Table(
                box=None,
                pad_edge=False,
                padding=(0, 2, 0, 0),
                show_header=True,
                header_style="bold",
            )
            table.add_column("device")
            if self.metro_enabled:
                table.add_column("Expo Go")
            if self.api_enabled:
                table.add_column("API")
            for target in targets:
                row = [SHORT_LABELS.get(target.kind, target.label)]
                if self.metro_enabled:
                    row.append(target.metro_url)
                if self.api_enabled:
                    row.append(target.api_url)
                table.add_row(*row)
            return table
        lines = Text(no_wrap=True)
        for target in targets:
            lines.append(SHORT_LABELS.get(target.kind, target.label) + "\n", style="bold")
            if self.metro_enabled:
                lines.append(f" {target.metro_url}\n")
            if self.api_enabled:
                lines.append(f" {target.api_url}\n", style="dim")
        lines.rstrip()
        return lines
