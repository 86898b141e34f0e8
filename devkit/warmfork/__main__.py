"""`python -m devkit.warmfork`: the warm parent process (parent.ForkServer).

Run by devkit (services/warm_parent_client.py) with the project root as working directory and
one end of a socketpair as --control-fd.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys

from devkit.warmfork import child, codecache, preloads
from devkit.warmfork.parent import ForkServer
from devkit.warmfork.serving import UnknownServer, server_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.warmfork")
    parser.add_argument("--module", default="server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default=None, help="comma-separated (default: PRELOAD)")
    parser.add_argument("--no-learn", action="store_true")
    parser.add_argument(
        "--keep-dir",
        default="",
        help=f"read and keep what the next warm parent starts with: {preloads.LEARNED_FILE} "
        f"(libraries the API imports), {codecache.STORE_FILE} (the project's compiled sources)",
    )
    parser.add_argument("--workers", type=int, default=child.WORKERS)
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.control_fd)
    if args.preload is None:
        try:
            preload = preloads.default_preloads(server_name())
        except UnknownServer:  # devkit checked it before starting this
            preload = preloads.PRELOAD
    else:
        preload = tuple(p for p in args.preload.split(",") if p)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    server = ForkServer(
        args.module,
        args.host,
        args.port,
        control,
        preload,
        learn=not args.no_learn,
        keep_dir=args.keep_dir or None,
        workers=args.workers,
    )
    try:
        return server.run()
    finally:
        server.kill_all()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            print(
                "devkit.warmfork: the control fd is not open (started by devkit only)",
                file=sys.stderr,
            )
            sys.exit(2)
        raise
