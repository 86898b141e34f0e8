"""The supervisor's network side: the LAN address phones use, its changes, adb reverse.

The first detection runs in a thread while components prepare; starts wait for it (a few ms)
so Metro gets the right address. On a change, TargetsChanged is published and every service
whose `set_lan_host(host)` returns True is restarted (Metro).

It reaches the supervisor only through `NetworkHooks`, so neither module imports the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from devkit.core.component import Component
from devkit.core.events import Event, TargetsChanged
from devkit.settings.config import Settings

FALLBACK_HOST = "127.0.0.1"
WATCH_INTERVAL = 3.0  # polls without netlink (macOS)
NETLINK_BACKSTOP = 30.0  # polls on Linux, where the kernel's change events wake us at once


@dataclass(frozen=True)
class NetworkHooks:
    """What the network side may do to the supervisor that owns it."""

    settings: Settings
    components: Callable[[], Iterable[Component]]
    notice: Callable[[str, str], None]  # (text, level)
    log: Callable[[str], None]  # a devkit line in the log
    restart: Callable[[str, str], None]  # (component, reason)
    record_lan_host: Callable[[str], None]  # into the run state
    publish: Callable[[Event], None]


class NetworkSide:
    def __init__(self, hooks: NetworkHooks, host_override: str | None, enabled: bool) -> None:
        self.hooks = hooks
        self.host_override = host_override
        self.enabled = enabled
        self.lan_host = host_override or FALLBACK_HOST
        self.choice: Any = None
        self._ready: asyncio.Event | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reach_checked = ""  # the LAN host the API was last checked on

    # --- detection ---------------------------------------------------------------------------
    def _detect(self) -> Any:
        from devkit.reach.lan import detect_lan

        s = self.hooks.settings
        return detect_lan(s.env, self.host_override, api_port=s.api_port, metro_port=s.metro_port)

    def start(self) -> None:
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._run(), name="network"))

    async def ready(self) -> None:
        if self._ready is not None:
            await self._ready.wait()

    async def _run(self) -> None:
        assert self._ready is not None
        if self.enabled:
            try:
                self.choice = await asyncio.to_thread(self._detect)
                self.lan_host = self.choice.host
                for warning in getattr(self.choice, "warnings", ()):
                    self.hooks.notice(warning, "warning")
            except Exception as exc:  # noqa: BLE001 - fall back to loopback, say why
                self.hooks.notice(f"LAN detection failed ({exc}); using {self.lan_host}", "warning")
        self._apply(self.lan_host, restart=False)
        self._ready.set()
        if not self.enabled:
            return
        from devkit.reach.netwatch import NetworkWatcher

        watcher = NetworkWatcher(
            self._detect,
            self._changed,
            WATCH_INTERVAL,
            initial=self.choice,
            netlink_interval=NETLINK_BACKSTOP,
        )
        self._tasks.append(asyncio.create_task(watcher.run(self._stop), name="netwatch"))
        if self.hooks.settings.adb_reverse:
            from devkit.reach.adb import AdbReverser

            s = self.hooks.settings
            reverser = AdbReverser((s.api_port, s.metro_port), self.hooks.log)
            if reverser.available:
                self._tasks.append(asyncio.create_task(reverser.run(self._stop), name="adb"))

    # --- can a phone reach the API? ---------------------------------------------------------------
    def all_healthy(self) -> None:
        """Once everything is healthy (again), check the API from the LAN address in a thread."""
        api = next((c for c in self.hooks.components() if c.name == "api"), None)
        if (
            not self.enabled
            or api is None
            or not api.enabled
            or self._reach_checked == self.lan_host
        ):
            return
        self._reach_checked = self.lan_host
        self._tasks.append(asyncio.create_task(self._check_reach(self.lan_host), name="lan-reach"))

    async def _check_reach(self, host: str) -> None:
        from devkit.reach.lan import is_loopback_host

        if is_loopback_host(host):
            return
        from devkit.reach.lan import read_platform
        from devkit.reach.lancheck import check_lan_reach

        s = self.hooks.settings
        try:
            reach = await asyncio.to_thread(
                check_lan_reach,
                host,
                s.api_port,
                read_platform(),
                extra_ports=(s.metro_port,),
                timeout=2.0,
            )
        except Exception as exc:  # noqa: BLE001 - a check, never fatal
            self.hooks.log(f"could not check the API on {host}: {exc}")
            return
        if reach.ok:
            self.hooks.log(f"phones reach the API: {reach.detail}")
        else:
            self.hooks.notice(
                f"phones may not reach the API: {reach.detail}. {reach.hint}", "warning"
            )

    def _changed(self, choice: Any) -> None:
        self.choice = choice
        self.hooks.notice(
            f"network changed: phones now use {choice.host} ({getattr(choice, 'reason', '')})",
            "info",
        )
        self._apply(choice.host, restart=True)

    def _apply(self, host: str, restart: bool) -> None:
        self.lan_host = host
        for c in self.hooks.components():
            if c.service.set_lan_host(host) and restart and c.enabled and c.ever_started:
                self.hooks.restart(c.name, f"LAN address changed to {host}")
        self.hooks.record_lan_host(host)
        self.hooks.publish(TargetsChanged(host))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            if not task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(task), 1.0)
                except (TimeoutError, Exception):  # noqa: BLE001
                    task.cancel()
        if self._ready is not None:
            self._ready.set()
