"""The kernel side of the Linux watcher: one inotify descriptor, one watch per directory.

inotify_simple makes the system calls (ctypes, no build step) and parses the raw events; what
no kept library does for us is the bookkeeping: a watch for each directory of the trees but
never for an ignored one (nor its subtree), watches added as directories appear (their files
reported, since they may have been written before the watch existed), dropped as they are
removed or moved away, everything re-read after a queue overflow, and the translation of each
event into a changed path and its `Kind` (devkit/host/watch_batch.py).

A watched root that is deleted or moved away is reported once and no longer watched; `alive`
turns False when no root is left. A file root is watched through its folder (an atomic save
replaces the file's inode), reporting that name only.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from devkit.host.watch_batch import Kind

READ_SIZE = 64 * 1024
MAX_READS = 16  # per call of drain(): a huge burst leaves the loop room between reads


class WatchUnavailable(Exception):
    """inotify cannot be used here (not Linux, no inotify, the watch limit is reached)."""


@dataclass
class _Dir:
    path: Path
    names: frozenset[str] | None  # None: every entry; else only these (file roots)
    recursive: bool
    roots: tuple[Path, ...] = ()  # the roots this directory stands for (a root or a file's dir)


def _flags() -> tuple[int, int]:
    """(directory watch mask, Q_OVERFLOW) from inotify_simple's flags."""
    from inotify_simple import flags as f

    mask = (
        f.CLOSE_WRITE
        | f.MODIFY
        | f.ATTRIB
        | f.CREATE
        | f.DELETE
        | f.MOVED_FROM
        | f.MOVED_TO
        | f.DELETE_SELF
        | f.MOVE_SELF
        | f.ONLYDIR
        | f.EXCL_UNLINK
    )
    return int(mask), int(f.Q_OVERFLOW)


class InotifyTree:
    """Watches of the trees below `roots`; drain() turns pending events into changes."""

    def __init__(
        self,
        roots: Iterable[Path],
        *,
        recursive: bool,
        skip_dir: Callable[[Path], bool],
    ) -> None:
        import sys

        if not sys.platform.startswith("linux"):
            raise WatchUnavailable(f"inotify is Linux-only (this is {sys.platform})")
        try:
            from inotify_simple import INotify
        except ImportError as exc:
            raise WatchUnavailable(f"inotify_simple is not installed ({exc})") from exc
        try:
            self._ino = INotify(nonblocking=True)
        except (OSError, AttributeError) as exc:
            raise WatchUnavailable(f"inotify_init1 failed: {exc}") from exc
        self._mask, self._overflow = _flags()
        self.recursive = recursive
        self.skip_dir = skip_dir
        self.roots = list(roots)
        self._dirs: dict[int, _Dir] = {}
        try:
            self._watch_roots()
        except BaseException:
            self.close()
            raise

    # --- set-up --------------------------------------------------------------------------
    def fileno(self) -> int:
        return int(self._ino.fileno())

    @property
    def alive(self) -> bool:
        """Some root is still watched."""
        return bool(self.roots)

    @property
    def watch_count(self) -> int:
        return len(self._dirs)

    def close(self) -> None:
        self._ino.close()

    def _watch_roots(self) -> None:
        # folders first: a file root inside a watched tree then adds nothing
        for root in sorted(self.roots, key=lambda r: not r.is_dir()):
            if root.is_dir():
                self._add_tree(root, self.recursive, report=False, roots=(root,))
            elif root.parent.is_dir():
                self._add_file_root(root)

    def _add_file_root(self, root: Path) -> None:
        wd = self._add_watch(root.parent)
        if wd is None:
            return
        known = self._dirs.get(wd)
        if known is None:
            self._dirs[wd] = _Dir(root.parent, frozenset({root.name}), False, (root,))
            return
        if known.names is not None:
            known.names = known.names | {root.name}
        known.roots = (*known.roots, root)

    def _add_watch(self, path: Path) -> int | None:
        """The watch of a directory (None: it is gone or unreadable)."""
        try:
            return int(self._ino.add_watch(path, self._mask))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise WatchUnavailable(
                    "the inotify watch limit is reached (raise fs.inotify.max_user_watches)"
                ) from exc
            if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP):
                return None
            raise

    def _add_tree(
        self, top: Path, recursive: bool, *, report: bool, roots: tuple[Path, ...] = ()
    ) -> list[Path]:
        """Watch `top` (and its subfolders when recursive); with `report`, the paths found
        below it (they may have been written before the watch existed)."""
        found: list[Path] = []
        stack = [top]
        while stack:
            folder = stack.pop()
            wd = self._add_watch(folder)
            if wd is None:
                continue
            known = self._dirs.get(wd)
            if known is not None:  # already watched (a root inside another root)
                known.roots = (*known.roots, *roots) if folder == top else known.roots
                continue
            self._dirs[wd] = _Dir(folder, None, recursive, roots if folder == top else ())
            if not recursive:
                continue
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        path = folder / entry.name
                        if entry.is_dir(follow_symlinks=False):
                            if self.skip_dir(path):
                                continue
                            stack.append(path)
                        if report:
                            found.append(path)
            except OSError:
                continue  # removed meanwhile: its parent's event says so
        return found

    def _drop_tree(self, top: Path, *, rm: bool) -> None:
        """Forget the watches of `top` and below (rm: also remove them from the kernel; a
        deleted folder's watch is already gone)."""
        for wd, d in list(self._dirs.items()):
            if d.path == top or d.path.is_relative_to(top):
                del self._dirs[wd]
                if rm:
                    try:
                        self._ino.rm_watch(wd)
                    except OSError:
                        pass  # already removed by the kernel

    def rewatch(self) -> None:
        """Drop every watch and set them up again from the roots (after a queue overflow)."""
        for wd in list(self._dirs):
            try:
                self._ino.rm_watch(wd)
            except OSError:
                pass
        self._dirs.clear()
        self.roots = [r for r in self.roots if r.exists()]
        self._watch_roots()

    # --- events --------------------------------------------------------------------------
    def read_events(self) -> list[tuple[int, int, int, str]]:
        """What the kernel has queued (up to MAX_READS reads), without blocking."""
        from inotify_simple import parse_events

        events: list[tuple[int, int, int, str]] = []
        for _ in range(MAX_READS):
            try:
                data = os.read(self.fileno(), READ_SIZE)
            except BlockingIOError:
                break
            events.extend(parse_events(data))
            if len(data) < READ_SIZE // 2:
                break
        return events

    def drain(self) -> list[tuple[Path, Kind]]:
        """The changes of the queued events (filtering by the ignore rules is the caller's)."""
        changes: list[tuple[Path, Kind]] = []
        for wd, mask, _cookie, name in self.read_events():
            if mask & self._overflow:
                changes += [(root, Kind.WRITTEN) for root in self.roots]
                self.rewatch()
                continue
            d = self._dirs.get(wd)
            if d is not None:
                self._event(d, wd, mask, name, changes)
        return changes

    def _event(self, d: _Dir, wd: int, mask: int, name: str, out: list[tuple[Path, Kind]]) -> None:
        from inotify_simple import flags as f

        if mask & (f.DELETE_SELF | f.MOVE_SELF | f.IGNORED):
            if d.roots:  # a root (or a file root's folder) went away
                self._drop_tree(d.path, rm=not mask & f.IGNORED)
                self.roots = [r for r in self.roots if r not in d.roots]
                out += [(root, Kind.GONE) for root in d.roots]
            elif mask & f.IGNORED:
                self._dirs.pop(wd, None)
            return  # a subfolder's removal is reported by its parent's event
        if not name or (d.names is not None and name not in d.names):
            return
        path = d.path / name
        if mask & f.ISDIR:
            if mask & (f.CREATE | f.MOVED_TO):
                if d.recursive and not self.skip_dir(path):
                    out += [(p, Kind.WRITTEN) for p in self._add_tree(path, True, report=True)]
                out.append((path, Kind.CREATED_DIR))
            elif mask & (f.DELETE | f.MOVED_FROM):
                self._drop_tree(path, rm=bool(mask & f.MOVED_FROM))
                out.append((path, Kind.GONE))
            elif mask & f.ATTRIB:
                out.append((path, Kind.TOUCHED))
        elif mask & f.CREATE:
            out.append((path, Kind.CREATED))
        elif mask & f.MODIFY:
            out.append((path, Kind.WRITING))
        elif mask & (f.CLOSE_WRITE | f.MOVED_TO):
            out.append((path, Kind.WRITTEN))
        elif mask & (f.DELETE | f.MOVED_FROM):
            out.append((path, Kind.GONE))
        elif mask & f.ATTRIB:
            out.append((path, Kind.TOUCHED))
