"""NetworkWatcher: reports each change of the LAN choice once, survives failed detections."""

from __future__ import annotations

import asyncio

from devkit.reach.lan import Interface, LanChoice, choose_lan
from devkit.reach.netwatch import NETLINK_MIN_GAP, SETTLE_SECONDS, NetworkWatcher, settle_time


def wifi(address: str, name: str = "en0") -> LanChoice:
    return choose_lan([Interface(name, (address,))], name, {})


class Script:
    """detect() that walks through a list of results (the last one repeats)."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = 0

    def __call__(self) -> LanChoice:
        self.calls += 1
        item = self.results[0] if len(self.results) == 1 else self.results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


async def run_until(watcher: NetworkWatcher, condition, timeout: float = 5.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)  # yield to the watcher; bounded by the timeout
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_baseline_is_silent_then_each_change_reported_once():
    a, b = wifi("192.168.1.10"), wifi("10.0.0.7", "wlan0")
    detect = Script(a, a, a, b, b, b, a)
    seen: list[LanChoice] = []
    watcher = NetworkWatcher(detect, seen.append, interval=0.01, use_netlink=False)
    await run_until(watcher, lambda: len(seen) >= 2)
    assert [c.host for c in seen] == ["10.0.0.7", "192.168.1.10"]
    assert watcher.current.host == "192.168.1.10"
    assert detect.calls >= 7


async def test_initial_choice_is_the_baseline_and_async_callback_is_awaited():
    a, b = wifi("192.168.1.10"), wifi("192.168.1.11")
    done = asyncio.Event()
    received = []

    async def on_change(choice):
        await asyncio.sleep(0)
        received.append(choice.host)
        done.set()

    watcher = NetworkWatcher(Script(b), on_change, interval=0.01, initial=a, use_netlink=False)
    await run_until(watcher, done.is_set)
    assert received == ["192.168.1.11"]


async def test_failed_detection_is_reported_and_watching_continues():
    a, b = wifi("192.168.1.10"), wifi("192.168.1.20")
    errors, seen = [], []
    detect = Script(a, OSError("netifaces blew up"), b)
    watcher = NetworkWatcher(
        detect, seen.append, interval=0.01, use_netlink=False, on_error=errors.append
    )
    await run_until(watcher, lambda: seen)
    assert [str(e) for e in errors] == ["netifaces blew up"]
    assert seen[0].host == "192.168.1.20"


async def test_stop_event_ends_a_long_interval_at_once():
    watcher = NetworkWatcher(
        Script(wifi("192.168.1.10")), lambda c: None, interval=3600, use_netlink=False
    )
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    async with asyncio.timeout(5):
        while watcher.checks < 1:
            await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 2)  # would hang for an hour if stop were ignored
    assert watcher.checks == 1


async def test_same_host_on_another_interface_counts_as_a_change():
    a, b = wifi("192.168.1.10", "en0"), wifi("192.168.1.10", "en1")
    seen = []
    watcher = NetworkWatcher(Script(a, b), seen.append, interval=0.01, use_netlink=False)
    await run_until(watcher, lambda: seen)
    assert seen[0].interface == "en1"


async def test_a_failing_listener_is_reported_and_watching_goes_on():
    a, b, c = wifi("192.168.1.10"), wifi("192.168.1.20"), wifi("192.168.1.30")
    errors, seen = [], []

    def on_change(choice):
        seen.append(choice.host)
        if choice.host == "192.168.1.20":
            raise RuntimeError("metro restart failed")

    watcher = NetworkWatcher(
        Script(a, b, c), on_change, interval=0.01, use_netlink=False, on_error=errors.append
    )
    await run_until(watcher, lambda: len(seen) >= 2)
    assert seen == ["192.168.1.20", "192.168.1.30"]
    assert [str(e) for e in errors] == ["metro restart failed"]


def test_kernel_messages_wake_a_detection_at_most_once_per_min_gap():
    """Churn (containers, namespaces) costs one detection per NETLINK_MIN_GAP at most; after a
    quiet spell a change is detected SETTLE_SECONDS after its first message."""
    assert settle_time(since_last_check=60.0) == SETTLE_SECONDS
    assert settle_time(since_last_check=0.5) == NETLINK_MIN_GAP - 0.5
    assert settle_time(since_last_check=0.0, min_gap=0.1) == SETTLE_SECONDS
