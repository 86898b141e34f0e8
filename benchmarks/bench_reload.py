"""Save-to-serving latency of the API: time from writing a changed server file to the first
HTTP response that carries the new value. Medians over N rounds, all tools in one run on the
same stand-in app.

Tools:
  devkit-fork   `devkit up --headless` with components = ["api"], api_reload = "fork"
  devkit-spawn  the same with api_reload = "spawn" (a fresh interpreter per change)
  flask-reload  `flask --app server:create_app run --reload`
  watchfiles    the `watchfiles` CLI restarting `python -m server`
  tsx-watch     the seed's own stack: Express + pg restarted by `tsx watch` (benchmarks/
                node_peer.py; installed from the npm registry into a temp folder; skipped
                without node/npm)
Target (issue 13): devkit-fork median <= 45 ms and >= 10x faster than both watchfiles and
tsx-watch in the same run. The machine is shared: compare ratios from one run.

The stand-in app (default): a Flask factory with GET /status and GET /value returning the
constant of server/value.py, which each round rewrites. `--real` copies the project's own
server/ package instead and adds a /bench-value route to the copy (needs --database-url
when its create_app() connects).

Run: .venv/bin/python benchmarks/bench_reload.py [--rounds 15] [--only devkit-fork,...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import node_peer  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BIN = Path(sys.executable).parent
# create_app() of the project's server does not connect; the route measured needs no database
UNREACHABLE_DB = "postgresql://bench:bench@127.0.0.1:9/bench"
TOOLS = ("devkit-fork", "devkit-spawn", "flask-reload", "watchfiles", "tsx-watch")
TARGET_MS = 45.0
TARGET_RATIO = 10.0
NODE_MODULES: Path | None = None  # set by main() when tsx-watch runs

STANDIN_INIT = """
from flask import Flask

from server.value import VALUE


def create_app():
    app = Flask(__name__)

    @app.get("/status")
    def status():
        return {"status": "ok"}

    @app.get("/value")
    def value():
        return {"value": VALUE}

    return app
"""
STANDIN_MAIN = """
import os
from server import create_app

create_app().run(host="0.0.0.0", port=int(os.environ["PORT"]))
"""
REAL_PATCH = """

# --- added by benchmarks/bench_reload.py (in a temp copy only) ---
_bench_create_app = create_app


def create_app(*args, **kwargs):  # noqa: F811
    app = _bench_create_app(*args, **kwargs)
    # imported now, not in the route: a lazy import in the old child would read the new file
    from server.bench_value import VALUE

    @app.get("/bench-value")
    def bench_value():
        return {"value": VALUE}

    return app
"""


def make_app(root: Path, real: bool, tool: str = "") -> tuple[Path, str]:
    """The server package under root; returns (the file each round rewrites, the URL path)."""
    if tool == "tsx-watch":
        assert NODE_MODULES is not None
        return node_peer.make_project(root / "peer", NODE_MODULES), "/value"
    pkg = root / "server"
    if real:
        shutil.copytree(ROOT / "server", pkg, ignore=shutil.ignore_patterns("__pycache__"))
        with (pkg / "__init__.py").open("a") as f:
            f.write(REAL_PATCH)
        target = pkg / "bench_value.py"
        path = "/bench-value"
    else:
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(STANDIN_INIT)
        (pkg / "__main__.py").write_text(STANDIN_MAIN)
        target = pkg / "value.py"
        path = "/value"
    target.write_text("VALUE = 'start'\n")
    return target, path


def get(port: int, path: str, timeout: float = 2.0) -> bytes | None:
    """One HTTP/1.0 GET on a fresh connection (no client library in the loop).

    Done when Content-Length bytes of body arrived, not at the close: Werkzeug's dev server
    holds every connection open ~10 ms after the response (it drains unread request data).
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
                head, sep, body = data.partition(b"\r\n\r\n")
                if sep:
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length" and len(body) >= int(
                            value.strip()
                        ):
                            return data
    except (OSError, ValueError):
        return None


def wait_value(port: int, path: str, value: str, timeout: float) -> float | None:
    """Poll every ~2 ms until the answer carries `value`; the moment it did (perf_counter)."""
    needle = f'"{value}"'.encode()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        body = get(port, path)
        if body is not None and needle in body and body[:12] in (b"HTTP/1.1 200", b"HTTP/1.0 200"):
            return time.perf_counter()
        time.sleep(0.002)
    return None


class Tool:
    def __init__(self, name: str, root: Path, port: int, env: dict[str, str]) -> None:
        self.name, self.root, self.port, self.env = name, root, port, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.output: list[bytes] = []

    def argv(self) -> list[str]:
        if self.name.startswith("devkit"):
            return [sys.executable, "-m", "devkit", "--root", str(self.root), "up", "--headless"]
        if self.name == "flask-reload":
            return [
                str(BIN / "flask"),
                "--app",
                "server:create_app",
                "run",
                "--reload",
                "--host",
                "0.0.0.0",
                "--port",
                str(self.port),
            ]
        if self.name == "tsx-watch":
            assert NODE_MODULES is not None
            return [node_peer.tsx(NODE_MODULES), "watch", "server.ts"]
        return [str(BIN / "watchfiles"), f"{sys.executable} -m server", "server"]

    def configure(self) -> None:
        mode = self.name.removeprefix("devkit-")
        (self.root / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n[tool.devkit]\n'
            f'components = ["api"]\napi_reload = "{mode}"\nadb_reverse = false\n'
            "shutdown_timeout = 3\nmigrate_on_start = false\n"
        )  # the peers do not migrate
        lines = [f"PORT={self.port}", "JWT_SECRET=" + "b" * 48, "DEVKIT_LAN_HOST=127.0.0.1"]
        lines.append(f"DATABASE_URL={self.env.get('DATABASE_URL') or UNREACHABLE_DB}")
        (self.root / ".env").write_text("\n".join(lines) + "\n")
        (self.root / ".env").chmod(0o600)

    def start(self) -> None:
        if self.name.startswith("devkit"):
            self.configure()
        env = {
            **os.environ,
            "JWT_SECRET": "b" * 48,
            "DATABASE_URL": UNREACHABLE_DB,
            **self.env,
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "FLASK_DEBUG": "0",
        }
        self.proc = subprocess.Popen(
            self.argv(),
            cwd=self.root / "peer" if self.name == "tsx-watch" else self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def measure(
    name: str, rounds: int, warmup: int, real: bool, env: dict[str, str], log: Callable[[str], None]
) -> list[float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        root = Path(tmp)
        target, path = make_app(root, real, name)
        port = free_port()
        tool = Tool(name, root, port, env)
        tool.start()
        try:
            if wait_value(port, path, "start", 60) is None:
                tail = b"".join(tool.output[-30:]).decode(errors="replace")
                raise RuntimeError(f"{name} never served the app:\n{tail}")
            samples = []
            for i in range(warmup + rounds):
                time.sleep(0.4)  # let the previous restart settle (not part of the sample)
                value = f"r{i}-{time.time_ns()}"
                begun = time.perf_counter()
                if name == "tsx-watch":
                    node_peer.write_value(target, value)
                else:
                    target.write_text(f"VALUE = {value!r}\n")
                served = wait_value(port, path, value, 30)
                if served is None:
                    raise RuntimeError(f"{name}: round {i} was never served")
                if i >= warmup:
                    samples.append(served - begun)
            log(
                f"{name:13s} median {statistics.median(samples) * 1000:7.1f} ms   "
                f"min {min(samples) * 1000:6.1f}   max {max(samples) * 1000:7.1f}   "
                f"(n={len(samples)})"
            )
            return samples
        finally:
            tool.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--only", default=",".join(TOOLS))
    parser.add_argument("--real", action="store_true", help="use the project's server/")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if args.real and not (ROOT / "server" / "__init__.py").is_file():
        parser.error("--real: there is no server/ package in the project yet")
    env = {"DATABASE_URL": args.database_url} if args.database_url else {}
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names:
        if name not in TOOLS:
            parser.error(f"unknown tool {name!r}; use some of {', '.join(TOOLS)}")
    if "tsx-watch" in names:
        global NODE_MODULES
        NODE_MODULES = node_peer.install()
        if NODE_MODULES is None:
            print("tsx-watch: skipped (node/npm missing or the npm registry unreachable)")
            names.remove("tsx-watch")
    medians: dict[str, float] = {}
    print(
        f"save-to-serving, {args.rounds} rounds each ({args.warmup} warm-up rounds "
        f"discarded), app: {'project server/' if args.real else 'stand-in'}; "
        "the machine is shared by parallel jobs: read medians and same-run ratios"
    )
    for name in names:
        try:
            medians[name] = statistics.median(
                measure(name, args.rounds, args.warmup, args.real, env, print)
            )
        except RuntimeError as exc:
            print(f"{name}: FAILED: {exc}")
    base = medians.get("devkit-fork")
    if base:
        print()
        for name, value in medians.items():
            if name != "devkit-fork":
                print(f"{name} / devkit-fork = {value / base:.1f}x")
        peers = [n for n in ("watchfiles", "tsx-watch") if n in medians]
        fast = base * 1000 <= TARGET_MS
        ratios = all(medians[n] / base >= TARGET_RATIO for n in peers)
        print(
            f"\ntarget: devkit-fork median <= {TARGET_MS:g} ms: "
            f"{'met' if fast else 'NOT met'} ({base * 1000:.1f} ms); "
            f">= {TARGET_RATIO:g}x faster than {', '.join(peers) or '(no peer measured)'}: "
            f"{'met' if ratios and peers else 'NOT met'}"
        )
    return 0 if len(medians) == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
