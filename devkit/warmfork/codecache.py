"""The project's compiled modules, kept in the warm parent's memory and inherited by each child.

Why: every child imports the project's own modules fresh, and compiling them from source is a
third of a reload (~25 ms for server/'s 16 modules) whenever no .pyc can be used:
PYTHONDONTWRITEBYTECODE, a read-only tree, or a save within the second of the previous one (a
.pyc is trusted on size + whole-second mtime, so it could even serve stale code). The parent
compiles the sources when idle (compile() runs nothing of the project), a child's loader takes
the cached code object when the source bytes are identical, and compiles only the files that
changed. Project modules never read or write .pyc files here.

Only the project's package (root/module) and the root folder itself get this loader; the
libraries keep the standard one (and their .pyc files).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from types import CodeType

# path -> (source bytes, code): filled by the parent, inherited copy-on-write by the children
_CACHE: dict[str, tuple[bytes, CodeType]] = {}


def _compile(source: bytes, path: str) -> CodeType:
    """Exactly what the standard source loader does (SourceLoader.source_to_code)."""
    return compile(source, path, "exec", dont_inherit=True, optimize=-1)


class CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """A source loader that asks the in-memory cache before compiling."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path)
        hit = _CACHE.get(path)
        if hit is not None and hit[0] == source:
            return hit[1]
        code = _compile(source, path)  # a SyntaxError goes to the importer, as usual
        _CACHE[path] = (source, code)
        return code


def install(root: str, module: str) -> None:
    """Route imports from `root` and from the project's package through the cache."""
    top = os.path.join(root, module.split(".")[0])
    details = [
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (CachedSourceLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    ]

    def hook(path: str) -> importlib.machinery.FileFinder:
        full = os.path.abspath(path or os.getcwd())
        if full != root and full != top and not full.startswith(top + os.sep):
            raise ImportError("not the project's")  # the next hook (the standard one) takes it
        return importlib.machinery.FileFinder(full, *details)

    sys.path_hooks.insert(0, hook)
    for path in list(sys.path_importer_cache):
        try:
            hook(path)
        except ImportError:
            continue
        del sys.path_importer_cache[path]  # found again through the hook


def refresh(root: str, module: str) -> int:
    """Compile the project's sources that changed since the last call; how many were.

    Run in the parent when idle: the next child finds them compiled. A file that does not
    compile is left to the child, which reports the error.
    """
    base = os.path.join(root, *module.split("."))
    paths = [base + ".py"] if os.path.isfile(base + ".py") else []
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        paths.extend(os.path.join(folder, name) for name in files if name.endswith(".py"))
    compiled = 0
    for path in paths:
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            continue
        hit = _CACHE.get(path)
        if hit is not None and hit[0] == source:
            continue
        try:
            _CACHE[path] = (source, _compile(source, path))
            compiled += 1
        except (SyntaxError, ValueError):
            _CACHE.pop(path, None)
    return compiled
