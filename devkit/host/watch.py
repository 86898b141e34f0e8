"""Watch source folders for changes, with ignore patterns: inotify on Linux, else watchfiles.

On Linux the watcher waits on inotify's descriptor inside the asyncio loop
(devkit/host/watch_inotify.py): no wake-up while nothing changes (~0 CPU idle), and a save is
handed over once no event came for SETTLE_MS (~2-3 ms after the editor closed the file); a
burst (git checkout, a formatter) is collected for at most DEBOUNCE_MS. Ignored folders
(.venv, node_modules, ...) get no watch at all, so setting up costs ~nothing.

Elsewhere, when inotify cannot be used (its watch limit reached), or with DEVKIT_WATCHER=
watchfiles, watchfiles does it: a batch is handed over once one `step` passes without new
events (STEP_MS = 10: a save is seen in ~18 ms, and each watcher costs ~0.6% of a core idle,
since its Rust loop takes the GIL every step). Polling misses quick edits: never forced here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import aclosing
from pathlib import Path

ALWAYS_IGNORED = (".venv", "venv", ".git", "__pycache__", "node_modules", "logs")
DEBOUNCE_MS = 50
SETTLE_MS = 2.0  # inotify: quiet this long after the last event, then hand the batch over
STEP_MS = 10  # watchfiles: detection ~+10 ms after a save; each watcher costs ~0.6% of a core idle
BACKENDS = ("auto", "inotify", "watchfiles")


class IgnoreFilter:
    """A watchfiles filter: False for paths matching an ignore pattern.

    A pattern without "/" matches any single path component (`__pycache__`, `*.pyc`); a
    pattern with "/" matches the path relative to one of the watched roots (`server/tmp/*`).
    The patterns are compiled into one regular expression each way: a `git checkout` burst
    asks for thousands of paths.
    """

    def __init__(self, patterns: Iterable[str] = (), roots: Sequence[Path] = ()) -> None:
        merged = dict.fromkeys((*ALWAYS_IGNORED, *patterns))
        self.name_patterns = tuple(p for p in merged if "/" not in p)
        self.path_patterns = tuple(p.strip("/") for p in merged if "/" in p)
        self.roots = tuple(Path(r) for r in roots)
        self._prefixes = tuple(os.path.join(str(r), "") for r in self.roots)
        self._name_re = _compiled(self.name_patterns)
        self._path_re = _compiled(self.path_patterns)

    def ignored(self, path: str | Path) -> bool:
        """Only the part below a watched root counts: a project inside ~/venv/ or a watched
        .venv/lib/.../site-packages is not ignored as a whole."""
        p = str(path) if isinstance(path, Path) else str(Path(path))
        rel: str | None = None
        for prefix in self._prefixes:
            if p.startswith(prefix):
                rel = p[len(prefix) :].replace(os.sep, "/")
                break
            if p == prefix[:-1]:
                rel = "."
                break
        parts = rel.split("/") if rel is not None else [os.path.basename(p)]
        if any(self._name_re.match(part) for part in parts):
            return True
        return rel is not None and bool(self._path_re.match(rel))

    def __call__(self, change: object, path: str) -> bool:
        return not self.ignored(path)


def _compiled(patterns: Sequence[str]) -> re.Pattern[str]:
    """One regular expression matching what any of the fnmatch patterns matches (case kept)."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def backend_choice(backend: str | None = None) -> str:
    """The watcher to use: the argument, else $DEVKIT_WATCHER, else "auto" (inotify where it
    works, watchfiles elsewhere)."""
    choice = (backend or os.environ.get("DEVKIT_WATCHER") or "auto").strip().lower()
    return choice if choice in BACKENDS else "auto"


async def watch(
    paths: Iterable[Path | str],
    *,
    ignore: Iterable[str] = (),
    stop_event: asyncio.Event | None = None,
    recursive: bool = True,
    only: Iterable[str] | None = None,
    debounce_ms: int = DEBOUNCE_MS,
    step_ms: int = STEP_MS,
    settle_ms: float = SETTLE_MS,
    backend: str | None = None,
    log: Callable[[str], None] | None = None,
) -> AsyncIterator[list[Path]]:
    """Yield the changed paths (sorted) of each batch of changes until `stop_event` is set.

    Paths that do not exist are skipped (nothing to watch: returns at once). `only`: file name
    patterns that must match (e.g. the dependency files of a project root watched
    non-recursively). `settle_ms` is inotify's quiet time, `step_ms` watchfiles' step. `log`
    gets one line when watchfiles stands in for inotify, saying why.
    """
    roots = [Path(p) for p in paths if Path(p).exists()]
    if not roots:
        return
    flt = IgnoreFilter(ignore, [r if r.is_dir() else r.parent for r in roots])
    names = tuple(only) if only is not None else None

    def accept(path: Path) -> bool:
        if names is not None and not any(fnmatch.fnmatchcase(path.name, n) for n in names):
            return False
        return not flt.ignored(path)

    stop = stop_event or asyncio.Event()
    choice = backend_choice(backend)
    if choice != "watchfiles":
        from devkit.host.inotify_tree import WatchUnavailable
        from devkit.host.watch_inotify import watch_inotify

        batches = watch_inotify(
            roots,
            accept=accept,
            skip_dir=flt.ignored,
            stop_event=stop,
            recursive=recursive,
            settle_ms=settle_ms,
            debounce_ms=debounce_ms,
        )
        try:
            async with aclosing(batches):
                async for changed in batches:
                    yield changed
            return
        except WatchUnavailable as exc:
            if log is not None:
                log(f"watching {_shown(roots)} with watchfiles: {exc}")
    async for changed in _watch_watchfiles(
        roots, accept, stop, recursive=recursive, debounce_ms=debounce_ms, step_ms=step_ms
    ):
        yield changed


async def _watch_watchfiles(
    roots: Sequence[Path],
    accept: Callable[[Path], bool],
    stop: asyncio.Event,
    *,
    recursive: bool,
    debounce_ms: int,
    step_ms: int,
) -> AsyncIterator[list[Path]]:
    from watchfiles import awatch

    async for changes in awatch(
        *roots,
        watch_filter=lambda _change, path: accept(Path(path)),
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,
        recursive=recursive,
        rust_timeout=1000,
    ):
        if stop.is_set():
            return
        yield sorted({Path(path) for _, path in changes})


def _shown(roots: Sequence[Path]) -> str:
    return ", ".join(r.name or str(r) for r in roots[:3]) + (" ..." if len(roots) > 3 else "")


def describe(changed: Sequence[Path], root: Path) -> str:
    """'server/app.py' or 'server/app.py and 2 more' (relative to the project root)."""
    if not changed:
        return "nothing"
    first = changed[0]
    try:
        shown = first.relative_to(root).as_posix()
    except ValueError:
        shown = str(first)
    return shown + (f" and {len(changed) - 1} more" if len(changed) > 1 else "")
