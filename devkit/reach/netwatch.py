"""Re-detect the LAN choice while devkit runs (Wi-Fi switch, VPN on/off, cable unplugged).

`NetworkWatcher.run` calls `detect()` every `interval` seconds and, on Linux, also right after
the kernel announces an address, link or route change (a netlink socket), so a change shows up
in well under a second instead of at the next poll. `on_change(choice)` is called when the
choice's key (host, interface) differs from the last one; it may be a plain function or a
coroutine function (the supervisor restarts Metro from it when the host changed).

Kernel messages come in bursts (link up, address, route) and, on a busy machine, without end
(containers and namespaces starting, VPNs): a detection waits SETTLE_SECONDS after the first
message and at least NETLINK_MIN_GAP after the previous detection, covering every message
that came meanwhile, so churn costs at most one detection per NETLINK_MIN_GAP.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import sys
from collections.abc import Awaitable, Callable

from devkit.reach.lan import LanChoice

# rtnetlink multicast groups: links, IPv4 addresses, IPv4 routes, IPv6 addresses
_RTMGRP = 0x1 | 0x10 | 0x40 | 0x100
SETTLE_SECONDS = 0.3  # changes come in bursts (link up, address, route): wait them out
NETLINK_MIN_GAP = 2.0  # seconds between two detections woken by kernel messages


def settle_time(since_last_check: float, min_gap: float = NETLINK_MIN_GAP) -> float:
    """How long to wait after a kernel message before detecting (see the module docstring)."""
    return max(SETTLE_SECONDS, min_gap - since_last_check)


def open_netlink() -> socket.socket | None:
    """A non-blocking socket that becomes readable on network changes (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.bind((0, _RTMGRP))
        sock.setblocking(False)
        return sock
    except (OSError, AttributeError):
        return None


class NetworkWatcher:
    def __init__(
        self,
        detect: Callable[[], LanChoice],
        on_change: Callable[[LanChoice], None | Awaitable[None]],
        interval: float = 3.0,
        *,
        initial: LanChoice | None = None,
        use_netlink: bool = True,
        on_error: Callable[[Exception], None] | None = None,
        netlink_interval: float | None = None,
        netlink_min_gap: float = NETLINK_MIN_GAP,
    ) -> None:
        self.detect = detect
        self.on_change = on_change
        self.interval = interval
        # with netlink events the poll is only a backstop: a detection costs ~10 ms of CPU
        self.netlink_interval = netlink_interval or interval
        self.netlink_min_gap = netlink_min_gap
        self.current = initial
        self.use_netlink = use_netlink
        self.on_error = on_error or (lambda exc: None)
        self.checks = 0  # how many detections ran (for tests and the dashboard)
        self.netlink_active = False

    async def check(self) -> LanChoice | None:
        """Detect once; call on_change when the key changed. Returns the new choice if so."""
        self.checks += 1
        try:
            choice = await asyncio.to_thread(self.detect)
        except Exception as exc:  # noqa: BLE001 - a failed detection must not kill the loop
            self.on_error(exc)
            return None
        previous, self.current = self.current, choice
        if previous is not None and previous.key == choice.key:
            return None
        if previous is None:
            return None  # the first detection is the baseline
        try:
            result = self.on_change(choice)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # noqa: BLE001 - a failing listener must not stop watching
            self.on_error(exc)
        return choice

    async def run(self, stop_event: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        sock = open_netlink() if self.use_netlink else None
        if sock is not None:

            def readable() -> None:
                try:
                    while sock.recv(65536):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:  # e.g. ENOBUFS after a flood: still a change
                    pass
                wake.set()

            loop.add_reader(sock.fileno(), readable)
            self.netlink_active = True
        last_check = loop.time()
        try:
            if self.current is None:
                await self.check()
                last_check = loop.time()
            while not stop_event.is_set():
                stop_task = asyncio.ensure_future(stop_event.wait())
                wake_task = asyncio.ensure_future(wake.wait())
                done, pending = await asyncio.wait(
                    {stop_task, wake_task},
                    timeout=self.netlink_interval if sock is not None else self.interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in pending:
                    task.cancel()
                if stop_event.is_set():
                    break
                if wake.is_set():
                    settle = settle_time(loop.time() - last_check, self.netlink_min_gap)
                    try:  # let the burst of kernel messages finish
                        await asyncio.wait_for(stop_event.wait(), settle)
                        break
                    except TimeoutError:
                        pass
                    wake.clear()  # what came so far is seen below; later messages wake us
                await self.check()
                last_check = loop.time()
        finally:
            if sock is not None:
                loop.remove_reader(sock.fileno())
                sock.close()
                self.netlink_active = False
