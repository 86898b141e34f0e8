"""The source watcher (devkit/host/watch.py) on real folders with real writes.

Both backends where the behaviour is the same (inotify, the default on Linux, and watchfiles,
the fallback); inotify's own promises (no watch in ignored folders, settle and debounce, queue
overflow, a removed root, no descriptor left behind) on inotify alone. Every wait is on a
condition with a timeout; a watcher is known to be running once it reported a probe file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from devkit.host.watch import IgnoreFilter, backend_choice, watch

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux-only")
BACKENDS = [pytest.param("inotify", marks=linux), "watchfiles"]


class Watcher:
    """watch() running in a task; its batches collected."""

    def __init__(self, paths: list[Path], **options: Any) -> None:
        self.stop = asyncio.Event()
        self.batches: list[list[Path]] = []
        self.probe: Path | None = None  # once ready: left out of later batches
        self.logged: list[str] = []
        self._iter = watch(paths, stop_event=self.stop, log=self.logged.append, **options)
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for changed in self._iter:
            if self.probe is not None:  # a late event of a probe written twice
                changed = [p for p in changed if p != self.probe]
            if changed:
                self.batches.append(changed)

    @property
    def seen(self) -> set[Path]:
        return {p for b in self.batches for p in b}

    async def until(self, condition: Callable[[], object], timeout: float = 10.0) -> None:
        async def poll() -> None:
            while not condition():
                if self.task.done():
                    self.task.result()  # the watcher's error, if any
                    raise AssertionError(f"the watcher ended; batches: {self.batches}")
                await asyncio.sleep(0.005)

        await asyncio.wait_for(poll(), timeout)

    async def ready(self, probe: Path) -> None:
        """Write `probe` until the watcher reports it (watchfiles sets up in a thread); later
        batches leave it out."""

        async def reported() -> None:
            while True:
                probe.write_text("probe")
                try:
                    return await self.until(lambda: probe in self.seen, 0.3)
                except TimeoutError:
                    continue

        await asyncio.wait_for(reported(), 15)
        self.probe = probe
        self.batches.clear()


@asynccontextmanager
async def watching(paths: list[Path], probe: Path, **options: Any) -> AsyncIterator[Watcher]:
    w = Watcher(paths, **options)
    try:
        await w.ready(probe)
        yield w
    finally:
        w.stop.set()
        await asyncio.wait_for(w.task, 5)


def inotify_watches() -> int:
    """Watches held by this process's inotify descriptors (from /proc/self/fdinfo)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                count += sum(line.startswith("inotify wd:") for line in info)
        except OSError:
            continue
    return count


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# --- both backends -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_save_is_reported(tmp_path: Path, backend: str) -> None:
    app = tmp_path / "app.py"
    app.write_text("A = 1\n")
    async with watching([tmp_path], tmp_path / "probe.py", backend=backend) as w:
        with app.open("w") as f:  # truncate + write, as VS Code saves
            f.write("A = 2\n")
        await w.until(lambda: app in w.seen)
        assert all(b == sorted(set(b)) for b in w.batches)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_atomic_replace_is_reported_as_the_target(tmp_path: Path, backend: str) -> None:
    app = tmp_path / "app.py"
    app.write_text("A = 1\n")
    async with watching([tmp_path], tmp_path / "probe.py", backend=backend) as w:
        tmp = tmp_path / ".app.py.swx"
        tmp.write_text("A = 2\n")
        os.replace(tmp, app)
        await w.until(lambda: app in w.seen)
        if backend == "inotify":  # created and moved away within the batch: never there
            assert tmp not in w.seen


@linux  # watchfiles can miss a file written before it watched the new folder (a race)
async def test_a_file_in_new_nested_folders_is_reported(tmp_path: Path) -> None:
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify") as w:
        deep = tmp_path / "a" / "b" / "c"
        deep.mkdir(parents=True)
        (deep / "x.py").write_text("X = 1\n")
        await w.until(lambda: deep / "x.py" in w.seen)
        (deep / "y.py").write_text("Y = 1\n")  # the new folders are watched from now on
        await w.until(lambda: deep / "y.py" in w.seen)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_ignored_folders_and_patterns_are_not_reported(tmp_path: Path, backend: str) -> None:
    for folder in (".venv/lib", "node_modules/pkg", "server/__pycache__", ".git", "server/gen"):
        (tmp_path / folder).mkdir(parents=True)
    async with watching(
        [tmp_path], tmp_path / "probe.py", backend=backend, ignore=("*.tmp", "server/gen/*")
    ) as w:
        (tmp_path / ".venv" / "lib" / "x.py").write_text("x")
        (tmp_path / "node_modules" / "pkg" / "index.js").write_text("x")
        (tmp_path / "server" / "__pycache__" / "app.cpython-311.pyc").write_text("x")
        (tmp_path / ".git" / "index").write_text("x")
        (tmp_path / "server" / "notes.tmp").write_text("x")
        (tmp_path / "server" / "gen" / "schema.py").write_text("x")
        (tmp_path / "server" / "app.py").write_text("x")  # written last: seen after the rest
        await w.until(lambda: tmp_path / "server" / "app.py" in w.seen)
        assert w.seen == {tmp_path / "server" / "app.py"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_only_reports_matching_names(tmp_path: Path, backend: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    async with watching(
        [tmp_path],
        tmp_path / "requirements.txt",
        backend=backend,
        recursive=False,
        only=("pyproject.toml", "requirements*.txt"),
    ) as w:
        (tmp_path / "notes.md").write_text("x")
        with (tmp_path / "pyproject.toml").open("a") as f:
            f.write("# more\n")
        await w.until(lambda: tmp_path / "pyproject.toml" in w.seen)
        assert w.seen == {tmp_path / "pyproject.toml"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_non_recursive_reports_top_level_entries_only(tmp_path: Path, backend: str) -> None:
    (tmp_path / "sub").mkdir()
    async with watching([tmp_path], tmp_path / "probe.py", backend=backend, recursive=False) as w:
        (tmp_path / "sub" / "deep.py").write_text("x")
        (tmp_path / "newlib-1.0.dist-info").mkdir()  # what a pip install adds to site-packages
        await w.until(lambda: tmp_path / "newlib-1.0.dist-info" in w.seen)
        (tmp_path / "top.py").write_text("x")
        await w.until(lambda: tmp_path / "top.py" in w.seen)
        assert tmp_path / "sub" / "deep.py" not in w.seen


@pytest.mark.parametrize("backend", BACKENDS)
async def test_stop_event_ends_the_iteration(tmp_path: Path, backend: str) -> None:
    w = Watcher([tmp_path], backend=backend)
    await w.ready(tmp_path / "probe.py")
    w.stop.set()
    await asyncio.wait_for(w.task, 5)


async def test_missing_paths_end_at_once(tmp_path: Path) -> None:
    batches = [b async for b in watch([tmp_path / "nope"])]
    assert batches == []


def test_the_backend_is_chosen_by_argument_then_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEVKIT_WATCHER", raising=False)
    assert backend_choice() == "auto"
    monkeypatch.setenv("DEVKIT_WATCHER", "watchfiles")
    assert backend_choice() == "watchfiles"
    assert backend_choice("inotify") == "inotify"
    monkeypatch.setenv("DEVKIT_WATCHER", "polling")  # not a choice: the default
    assert backend_choice() == "auto"


async def test_devkit_watcher_watchfiles_uses_watchfiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVKIT_WATCHER", "watchfiles")
    async with watching([tmp_path], tmp_path / "probe.py") as w:
        (tmp_path / "app.py").write_text("x")
        await w.until(lambda: tmp_path / "app.py" in w.seen)


async def test_without_inotify_watchfiles_stands_in_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")  # what cannot run here: another system
    async with watching([tmp_path], tmp_path / "probe.py") as w:
        (tmp_path / "app.py").write_text("x")
        await w.until(lambda: tmp_path / "app.py" in w.seen)
    assert len(w.logged) == 1 and "watchfiles" in w.logged[0] and "Linux-only" in w.logged[0]


# --- inotify ---------------------------------------------------------------------------------
@linux
async def test_ignored_folders_get_no_watch(tmp_path: Path) -> None:
    for folder in (".venv/lib/python3.11/site-packages/pkg", "node_modules/a/b", "src/__pycache__"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "src" / "sub").mkdir()
    before = inotify_watches()
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify"):
        assert inotify_watches() - before == 3  # tmp_path, src, src/sub
        (tmp_path / "node_modules" / "c").mkdir()
        (tmp_path / "src" / "new").mkdir()
        (tmp_path / "src" / "new" / "m.py").write_text("x")
    assert inotify_watches() == before


@linux
async def test_a_burst_is_one_batch_with_each_path_once(tmp_path: Path) -> None:
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify") as w:
        # written without yielding to the loop: the watcher reads them all at once
        for _ in range(20):
            (tmp_path / "same.py").write_text("x")
        for i in range(30):
            (tmp_path / f"m{i}.py").write_text("x")
        await w.until(lambda: w.batches)
        assert w.batches[0] == sorted(
            {tmp_path / "same.py", *(tmp_path / f"m{i}.py" for i in range(30))}
        )


@linux
async def test_a_long_burst_still_yields_by_the_debounce(tmp_path: Path) -> None:
    # quiet needed: 2 s; writes every 20 ms for up to 10 s; debounce: 100 ms
    async with watching(
        [tmp_path], tmp_path / "probe.py", backend="inotify", settle_ms=2000, debounce_ms=100
    ) as w:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        writes = 0
        while not w.batches and loop.time() < deadline:
            (tmp_path / f"f{writes % 5}.py").write_text(str(writes))
            writes += 1
            await asyncio.sleep(0.02)  # pacing of the writer, not a synchronisation
        assert w.batches, "no batch while the writes went on"


@linux
async def test_a_file_kept_open_for_writing_is_reported_and_again_when_closed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.py"
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify") as w:
        with path.open("w") as f:
            f.write("x")
            f.flush()
            await w.until(lambda: path in w.seen)
            count = len(w.batches)
        await w.until(lambda: len(w.batches) > count and path in w.batches[-1])


@linux
async def test_a_renamed_folder_reports_its_new_paths(tmp_path: Path) -> None:
    (tmp_path / "old" / "deep").mkdir(parents=True)
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify") as w:
        (tmp_path / "old").rename(tmp_path / "new")
        await w.until(lambda: tmp_path / "new" in w.seen)
        (tmp_path / "new" / "deep" / "x.py").write_text("x")
        await w.until(lambda: tmp_path / "new" / "deep" / "x.py" in w.seen)
        assert not any(p.is_relative_to(tmp_path / "old" / "deep") for p in w.seen)


@linux
async def test_a_file_root_sees_an_atomic_replace_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "pyproject.toml"
    target.write_text("[project]\n")
    probe = tmp_path / "probe.toml"
    probe.write_text("")
    w = Watcher([target, probe], backend="inotify")
    try:
        await w.ready(probe)
        (tmp_path / "other.py").write_text("x")
        (tmp_path / "pyproject.toml.new").write_text("[project]\nname = 'x'\n")
        os.replace(tmp_path / "pyproject.toml.new", target)
        await w.until(lambda: target in w.seen)
        assert w.seen == {target}
    finally:
        w.stop.set()
        await asyncio.wait_for(w.task, 5)


@linux
@pytest.mark.slow  # writes ~5,500 files
async def test_a_queue_overflow_reports_the_roots(tmp_path: Path) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"max_queued_events is {limit}: too many files to write")
    async with watching([tmp_path], tmp_path / "probe.py", backend="inotify") as w:
        files = tmp_path / "many"
        files.mkdir()
        await w.until(lambda: files in w.seen)
        for i in range(limit // 3 + 100):  # >= 3 events each, none read meanwhile
            (files / f"{i}.txt").write_text("x")
        await w.until(lambda: tmp_path in w.seen)
        w.batches.clear()
        (files / "after.py").write_text("x")  # watched again after the rescan
        await w.until(lambda: files / "after.py" in w.seen)
    shutil.rmtree(files)


@linux
async def test_a_removed_root_is_reported_and_the_watch_ends(tmp_path: Path) -> None:
    root = tmp_path / "server"
    (root / "pkg").mkdir(parents=True)
    w = Watcher([root], backend="inotify")
    await w.ready(root / "probe.py")
    shutil.rmtree(root)
    await asyncio.wait_for(w.task, 5)
    assert root in w.seen


@linux
@pytest.mark.parametrize("how", ["stop_event", "cancel"])
async def test_no_descriptor_is_left_behind(tmp_path: Path, how: str) -> None:
    before = open_fds()
    w = Watcher([tmp_path], backend="inotify")
    await w.ready(tmp_path / "probe.py")
    assert inotify_watches() >= 1
    if how == "stop_event":
        w.stop.set()
    else:
        w.task.cancel()
    await asyncio.wait([w.task], timeout=5)
    assert w.task.done()
    assert open_fds() == before


def test_ignore_filter_patterns(tmp_path: Path) -> None:
    flt = IgnoreFilter(("*.tmp", "server/generated/*"), [tmp_path])
    assert flt.ignored(tmp_path / "server" / "__pycache__" / "app.cpython-311.pyc")
    assert flt.ignored(tmp_path / ".venv" / "lib" / "x.py")
    assert flt.ignored(tmp_path / "node_modules" / "a.js")
    assert flt.ignored(tmp_path / "server" / "x.tmp")
    assert flt.ignored(tmp_path / "server" / "generated" / "schema.py")
    assert not flt.ignored(tmp_path / "server" / "app.py")
    assert not flt.ignored(tmp_path / "server" / "logsheet.py")  # "logs" is a name, not a prefix
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    assert not IgnoreFilter((), [site]).ignored(site / "newlib-1.0.dist-info")
    assert IgnoreFilter((), [site]).ignored(site / "__pycache__")
