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

Kept for the next warm parent too (devkit passes .devkit/api-code.bin): compiling server/ at
start was ~20 ms of every `up` on the way to the first child. The file maps each source path
to a digest of its bytes and the code object (marshal, as a .pyc holds it), under the
interpreter's magic number; a source whose digest differs is compiled again, and a file that
is unreadable, from another Python or corrupt is ignored (and replaced when idle).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from types import CodeType

# path -> (source bytes, code): filled by the parent, inherited copy-on-write by the children
_CACHE: dict[str, tuple[bytes, CodeType]] = {}
# path -> (digest of the source, code): what the last warm parent kept (load)
_STORED: dict[str, tuple[bytes, CodeType]] = {}
STORE_FILE = "api-code.bin"  # in the keep dir (devkit's state dir, .devkit/)


def _digest(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


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
        stored = _STORED.pop(path, None)
        if stored is not None and stored[0] == _digest(source):
            _CACHE[path] = (source, stored[1])
            continue
        try:
            _CACHE[path] = (source, _compile(source, path))
            compiled += 1
        except (SyntaxError, ValueError):
            _CACHE.pop(path, None)
    return compiled


def load(store: str) -> int:
    """Read what a previous warm parent kept (nothing when missing, stale or corrupt)."""
    try:
        with open(store, "rb") as f:
            if f.read(len(importlib.util.MAGIC_NUMBER)) != importlib.util.MAGIC_NUMBER:
                return 0
            entries = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return 0
    if not isinstance(entries, dict):
        return 0
    for path, entry in entries.items():
        if (
            isinstance(path, str)
            and isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], bytes)
            and isinstance(entry[1], CodeType)
        ):
            _STORED[path] = entry
    return len(_STORED)


def save(store: str) -> None:
    """Keep the compiled sources for the next warm parent (written whole, then renamed)."""
    entries = {path: (_digest(source), code) for path, (source, code) in _CACHE.items()}
    tmp = f"{store}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(store) or ".", exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(importlib.util.MAGIC_NUMBER)
            marshal.dump(entries, f)
        os.replace(tmp, store)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
