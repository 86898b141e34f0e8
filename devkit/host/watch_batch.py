"""When a batch of file changes is complete: the timing rules of the inotify watcher (pure).

A batch is handed over once no event came for `settle` seconds and every file written in it
was closed again (a save's open/write/close and an editor's rename come microseconds apart,
so a few ms of quiet is enough). A burst of more than BURST_PATHS paths (git checkout, a
formatter) pauses between files for the disk or the scheduler: it waits for `burst_settle`.
A file still open for writing (a writer that keeps it open, a slow copy) waits for a longer
quiet (`open_settle`). Whatever happens, a batch is handed over
at most `debounce` seconds after its first event, so a long burst (git checkout, a formatter
over the tree) still yields. A path seen many times counts once; a path created and removed
again within the batch (an editor's temporary file, the source of an atomic replace) was never
there before nor after, and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

BURST_PATHS = 3  # a save touches 1-3 paths (an editor's backup or swap file besides the file)


class Kind(Enum):
    """What an event says about its path."""

    CREATED = "created"  # a new file: written next, final once closed
    CREATED_DIR = "created_dir"  # a new directory (complete as it is)
    WRITING = "writing"  # content changed, the file may still be open for writing
    WRITTEN = "written"  # closed after writing, or moved into place: content is final
    GONE = "gone"  # deleted or moved away
    TOUCHED = "touched"  # metadata (touch, chmod): a change, says nothing about open writers


_FINAL = {Kind.CREATED_DIR: True, Kind.WRITING: False, Kind.WRITTEN: True, Kind.GONE: True}


@dataclass
class _PathState:
    born: bool  # the batch's first event on it created it
    final: bool = True
    gone: bool = False


class Batch:
    """The changes collected since the last hand-over and when they are due (loop time, s)."""

    def __init__(
        self, settle: float, debounce: float, open_settle: float, burst_settle: float = 0.0
    ) -> None:
        self.settle = settle
        self.debounce = debounce
        self.open_settle = max(open_settle, settle)
        self.burst_settle = max(burst_settle, settle)
        self._paths: dict[Path, _PathState] = {}
        self._first = 0.0
        self._last = 0.0

    def __bool__(self) -> bool:
        return bool(self._paths)

    def add(self, path: Path, kind: Kind, now: float) -> None:
        if not self._paths:
            self._first = now
        self._last = now
        state = self._paths.get(path)
        if state is None:
            state = self._paths[path] = _PathState(born=kind in (Kind.CREATED, Kind.CREATED_DIR))
        if kind is Kind.CREATED:
            state.final = False
        elif kind in _FINAL:
            state.final = _FINAL[kind]
        state.gone = kind is Kind.GONE if kind is not Kind.TOUCHED else state.gone

    def due(self) -> float | None:
        """When the batch is to be handed over (None: nothing collected)."""
        if not self._paths:
            return None
        if not all(s.final for s in self._paths.values()):
            quiet = self.open_settle
        elif len(self._paths) > BURST_PATHS:
            quiet = self.burst_settle
        else:
            quiet = self.settle
        return min(self._last + quiet, self._first + self.debounce)

    def take(self) -> list[Path]:
        """The batch's paths, sorted (transient ones left out); the batch starts empty again."""
        paths = sorted(p for p, s in self._paths.items() if not (s.born and s.gone))
        self._paths = {}
        return paths
