"""Unix socket paths longer than the kernel's limit (108 bytes on Linux).

Projects live in deep folders (and pytest's temp dirs are deep too), so `.devkit/control.sock`
can be too long to bind or connect. Linux resolves `/proc/self/fd/N/NAME` through an open
directory descriptor, which keeps the address short whatever the folder's depth.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_PATH = 100  # sun_path is 108 bytes; keep a margin


@contextmanager
def short_path(path: Path) -> Iterator[str]:
    """An address for `path` that fits sun_path (valid while the context is open)."""
    if len(os.fsencode(str(path))) < MAX_PATH or not Path("/proc/self/fd").is_dir():
        yield str(path)
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def connect(path: Path, timeout: float | None = None) -> socket.socket:
    """A connected AF_UNIX stream socket (OSError when nobody listens)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with short_path(path) as address:
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock
