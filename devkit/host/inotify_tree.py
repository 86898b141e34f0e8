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


# inotify's event bits (linux/inotify.h: kernel ABI): plain ints, cheap to test per event
IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_EXCL_UNLINK = 0x4000000
IN_ISDIR = 0x40000000
DIR_MASK = (
    IN_CLOSE_WRITE
    | IN_MODIFY
    | IN_ATTRIB
    | IN_CREATE
    | IN_DELETE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_EXCL_UNLINK
)
GONE_SELF = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED


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
            return int(self._ino.add_watch(path, DIR_MASK))
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
        paths: dict[tuple[int, str], Path] = {}  # a saved file has 2-3 events
        for wd, mask, _cookie, name in self.read_events():
            if mask & IN_Q_OVERFLOW:
                changes += [(root, Kind.WRITTEN) for root in self.roots]
                self.rewatch()
                paths.clear()
                continue
            d = self._dirs.get(wd)
            if d is None:
                continue
            path = paths.get((wd, name))
            if path is None:
                path = paths[(wd, name)] = d.path / name
            self._event(d, wd, mask, name, path, changes)
        return changes

    def _event(
        self, d: _Dir, wd: int, mask: int, name: str, path: Path, out: list[tuple[Path, Kind]]
    ) -> None:
        if mask & GONE_SELF:
            if d.roots:  # a root (or a file root's folder) went away
                self._drop_tree(d.path, rm=not mask & IN_IGNORED)
                self.roots = [r for r in self.roots if r not in d.roots]
                out += [(root, Kind.GONE) for root in d.roots]
            elif mask & IN_IGNORED:
                self._dirs.pop(wd, None)
            return  # a subfolder's removal is reported by its parent's event
        if not name or (d.names is not None and name not in d.names):
            return
        if mask & IN_ISDIR:
            if mask & (IN_CREATE | IN_MOVED_TO):
                if d.recursive and not self.skip_dir(path):
                    out += [(p, Kind.WRITTEN) for p in self._add_tree(path, True, report=True)]
                out.append((path, Kind.CREATED_DIR))
            elif mask & (IN_DELETE | IN_MOVED_FROM):
                self._drop_tree(path, rm=bool(mask & IN_MOVED_FROM))
                out.append((path, Kind.GONE))
            elif mask & IN_ATTRIB:
                out.append((path, Kind.TOUCHED))
        elif mask & IN_CREATE:
            out.append((path, Kind.CREATED))
        elif mask & IN_MODIFY:
            out.append((path, Kind.WRITING))
        elif mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
            out.append((path, Kind.WRITTEN))
        elif mask & (IN_DELETE | IN_MOVED_FROM):
            out.append((path, Kind.GONE))
        elif mask & IN_ATTRIB:
            out.append((path, Kind.TOUCHED))
