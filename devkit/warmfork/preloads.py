"""Learned preloads: the libraries the warm parent imports so that children do not.

The parent starts with PRELOAD and the modules of the child's HTTP server (default_preloads). Each child reports the third-party modules it imported
LEARN_AFTER seconds after it began serving (its first requests import lazily); the parent imports
them when idle, so the next child finds them in sys.modules. What was learned is kept in a file
(LEARNED_FILE in the keep dir devkit passes: .devkit/api-preloads.txt) and imported by the next warm parent at its start,
while PostgreSQL starts: the first child of the next `devkit up` then imports nothing but the
project (server/'s first child spent ~0.4 s importing what it had not learned yet). The
project's own modules are never preloaded: each child must import them fresh.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import os
import sys
import time
from collections.abc import Iterable

PRELOAD = (
    "flask",
    "werkzeug",
    "werkzeug.serving",
    "psycopg",
    "psycopg_pool",
    "argon2",
    "jwt",
    "prometheus_client",
    "dotenv",
)
# the child's HTTP server (serving.py): the modules it imports, preloaded for the one in use
SERVER_PRELOAD = {
    "granian": (
        "granian._granian",
        "granian.http",
        "granian._futures",
        "granian._loops",
        "granian.wsgi",
    ),
    "waitress": ("waitress", "waitress.server"),
}
LEARNED_FILE = "api-preloads.txt"  # in the keep dir (devkit's state dir, .devkit/)
LEARN_AFTER = 1.0  # s after serving starts: the child reports the libraries it imported
LEARN_IDLE = 0.3  # s without a command before the parent imports what children reported


def default_preloads(server: str) -> tuple[str, ...]:
    """PRELOAD and what `server` (granian or waitress) imports."""
    return (*PRELOAD, *SERVER_PRELOAD.get(server, ()))


def warm_up(names: Iterable[str]) -> list[str]:
    """Import what can be imported; the names that were."""
    done = []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # noqa: BLE001 - not installed or broken: the child will tell
            pass
    try:  # Werkzeug's server asks for its version at every start: ~5 ms cold, ~1 ms warm
        importlib.metadata.version("werkzeug")
    except Exception:  # noqa: BLE001
        pass
    return done


def read_learned(path: str | None) -> list[str]:
    """The names a previous warm parent learned (none when there is no file)."""
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip() and not line.startswith("#")]
    except (OSError, UnicodeDecodeError):
        return []


class Learner:
    """The parent's side: remember what children reported, import it when idle, keep the list
    in `store` for the next warm parent."""

    def __init__(self, enabled: bool = True, store: str | None = None) -> None:
        self.enabled = enabled
        self.store = store
        self.pending: set[str] = set()
        self.due: float | None = None  # import then, if no command came in between
        self.learned: set[str] = set(read_learned(store))

    def add(self, names: Iterable[str]) -> None:
        self.pending.update(n for n in names if n not in sys.modules)
        if self.pending and self.enabled:
            self.due = time.monotonic() + LEARN_IDLE

    def postpone(self) -> None:
        """A command arrived: never import on the way to a restart."""
        if self.due is not None:
            self.due = time.monotonic() + LEARN_IDLE

    def learn(self) -> None:
        names, self.pending, self.due = sorted(self.pending), set(), None
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001 - best effort; the child imports it anyway
                pass
        self.save({n for n in names if n in sys.modules})

    def save(self, names: set[str]) -> None:
        """Add `names` to the store (written whole, then renamed: never half a file)."""
        if not self.store or names <= self.learned:
            return
        self.learned = {n for n in self.learned if n in sys.modules} | names
        tmp = f"{self.store}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.store) or ".", exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(
                    "# third-party modules the API imports: devkit's warm parent preloads them\n"
                )
                f.write("".join(f"{n}\n" for n in sorted(self.learned)))
            os.replace(tmp, self.store)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def is_project(name: str, project: str) -> bool:
    return name == project or name.startswith(project + ".")


def forget_project(project: str) -> None:
    """Drop the project's modules from sys.modules: a child must import them fresh."""
    for name in [n for n in sys.modules if is_project(n, project)]:
        del sys.modules[name]


def report_modules(before: set[str], meta_fd: int, root: str, project: str) -> None:
    """In the child: tell the parent which third-party modules it imported since `before`."""
    names = []
    loaded = sys.modules.copy()  # atomic: other threads may be importing
    for name in set(loaded) - before:
        if is_project(name, project):  # wherever it was found (an editable install...)
            continue
        path = getattr(loaded.get(name), "__file__", None) or ""
        third_party = "site-packages" in path or "dist-packages" in path
        if not path or (path.startswith(root + os.sep) and not third_party):
            continue  # the project's own modules are imported fresh by every child
        names.append(name)
    try:
        os.write(meta_fd, json.dumps({"modules": sorted(names)}).encode() + b"\n")
    except OSError:
        pass
