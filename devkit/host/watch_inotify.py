"""The Linux watcher: inotify's descriptor in the asyncio loop, no periodic wake-up at all.

The loop's selector waits on the inotify descriptor (loop.add_reader) next to everything else,
so an idle watcher costs no CPU (watchfiles' Rust loop wakes every `step` to take the GIL), and
a save is handed over `settle` ms after its last event instead of after a quiet step. The
kernel side is devkit/host/inotify_tree.py, the timing rules devkit/host/watch_batch.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path

from devkit.host.inotify_tree import InotifyTree, WatchUnavailable
from devkit.host.watch_batch import Batch

OPEN_SETTLE_MS = 50  # a file still open for writing: quiet this long before it counts
BURST_SETTLE_MS = 10  # a burst (git checkout): quiet this long (watchfiles' step here)


async def watch_inotify(
    roots: Sequence[Path],
    *,
    accept: Callable[[Path], bool],
    skip_dir: Callable[[Path], bool],
    stop_event: asyncio.Event,
    recursive: bool,
    settle_ms: float,
    debounce_ms: float,
) -> AsyncGenerator[list[Path], None]:
    """Yield the sorted changed paths of each batch until `stop_event` is set or no root is
    left. Raises WatchUnavailable (before the first batch) when inotify cannot be used."""
    loop = asyncio.get_running_loop()
    tree = InotifyTree(roots, recursive=recursive, skip_dir=skip_dir)
    batch = Batch(
        settle_ms / 1000, debounce_ms / 1000, OPEN_SETTLE_MS / 1000, BURST_SETTLE_MS / 1000
    )
    ready: asyncio.Future[None] = loop.create_future()
    timer: asyncio.TimerHandle | None = None
    failure: BaseException | None = None

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    def fire() -> None:
        nonlocal timer
        timer = None
        due = batch.due()
        if due is not None and due > loop.time():
            timer = loop.call_at(due, fire)  # a later event moved the deadline
        else:
            wake()

    def readable() -> None:
        nonlocal timer, failure
        try:
            changes = tree.drain()
        except Exception as exc:  # noqa: BLE001 - raised again in the generator
            failure = exc
            loop.remove_reader(tree.fileno())
            wake()
            return
        now = loop.time()
        verdicts: dict[Path, bool] = {}  # a saved file has 2-3 events
        for path, kind in changes:
            ok = verdicts.get(path)
            if ok is None:
                ok = verdicts[path] = accept(path)
            if ok:
                batch.add(path, kind, now)
        if not tree.alive:
            loop.remove_reader(tree.fileno())
            wake()
            return
        due = batch.due()  # a close can bring it forward (no longer waiting for a writer)
        if due is not None and (timer is None or timer.when() > due):
            if timer is not None:
                timer.cancel()
            timer = loop.call_at(due, fire)

    stopper = asyncio.ensure_future(stop_event.wait())
    loop.add_reader(tree.fileno(), readable)
    try:
        while not stop_event.is_set():
            await asyncio.wait((ready, stopper), return_when=asyncio.FIRST_COMPLETED)
            if stop_event.is_set():
                return
            if failure is not None:
                if isinstance(failure, WatchUnavailable):  # what changed meanwhile is unknown
                    yield sorted(set(roots))
                raise failure
            ready = loop.create_future()
            changed = batch.take()
            if changed:
                yield changed
            if not tree.alive:
                return
    finally:
        stopper.cancel()
        if timer is not None:
            timer.cancel()
        loop.remove_reader(tree.fileno())
        tree.close()
