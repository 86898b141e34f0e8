"""Stand-ins for what cannot run here, and temp projects for whole-stack tests.

Run as a script: `python standins.py metro PORT` is a tiny Metro: GET /status answers
`packager-status:running`, and it prints the environment Metro cares about (so tests can
check REACT_NATIVE_PACKAGER_HOSTNAME and EXPO_PUBLIC_API_URL).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

STANDINS = Path(__file__).resolve()
PY = shlex.quote(sys.executable)


def metro_command() -> str:
    """A metro_command setting that runs the stand-in ({port} filled by devkit)."""
    return f"{PY} {shlex.quote(str(STANDINS))} metro {{port}}"


def py_command(code: str) -> str:
    """A process command running `python -c code` with this interpreter."""
    return f"{PY} -c {shlex.quote(code)}"


def toml_value(value: object) -> str:
    return (
        json.dumps(value)
        if not isinstance(value, dict)
        else ("{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }")
    )


def make_project(
    root: Path,
    processes: dict[str, dict[str, object]] | None = None,
    *,
    components: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    expo_client: bool = False,
    extra: dict[str, object] | None = None,
) -> Path:
    """pyproject.toml with [tool.devkit] + .env (+ client/package.json depending on expo)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "[project]",
        'name = "standin"',
        "",
        "[tool.devkit]",
        f"components = {json.dumps(list(components))}",
        "adb_reverse = false",
        "shutdown_timeout = 3",
    ]
    for key, value in (extra or {}).items():
        lines.append(f"{key} = {toml_value(value)}")
    if expo_client:
        lines.append(f"metro_command = {json.dumps(metro_command())}")
        (root / "client").mkdir(exist_ok=True)
        (root / "client" / "package.json").write_text(
            json.dumps({"name": "app", "dependencies": {"expo": "~51.0.0"}})
        )
        install_standin_packages(root / "client")
    for name, spec in (processes or {}).items():
        lines += ["", f"[tool.devkit.processes.{name}]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in spec.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    values = {
        "JWT_SECRET": "s" * 40 + "x",
        "POSTGRES_PASSWORD": "pw-standin-123",
        "DEVKIT_LAN_HOST": "127.0.0.1",
        **(env or {}),
    }
    env_path = root / ".env"
    env_path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_path.chmod(0o600)
    return root


def install_standin_packages(client: Path) -> None:
    """node_modules/<name>/package.json for every dependency of client/package.json: what
    `npm install` leaves, as far as devkit's pre-start check looks (devkit.host.node)."""
    data = json.loads((client / "package.json").read_text())
    for name in {**data.get("dependencies", {}), **data.get("devDependencies", {})}:
        folder = client / "node_modules" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(json.dumps({"name": name, "version": "0.0.0"}))


def _serve_metro(port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/index.bundle"):
                return self._bundle()
            body = b"packager-status:running" if self.path == "/status" else b"not found"
            self._answer(200 if self.path == "/status" else 404, body)

        def _answer(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _bundle(self) -> None:
            """Like Metro: App.js holding `{{` fails to build (printed as Expo CLI does)."""
            platform = "Android" if "platform=android" in self.path else "iOS"
            app = Path("App.js")
            source = app.read_text() if app.exists() else ""
            if "{{" in source:
                print(f"{platform} Bundling failed 10ms index.js (1 module)", flush=True)
                print(
                    f"\x1b[31m\x1b[7m\x1b[1m ERROR \x1b[22m\x1b[27m\x1b[39m SyntaxError: "
                    f'{app.resolve()}: Unexpected token, expected "," (1:2)',
                    flush=True,
                )
                print(f">  1 | {source.splitlines()[0]}", flush=True)
                print("    at parse (node_modules/@babel/parser/lib/index.js:1:1)", flush=True)
                return self._answer(500, b'{"type":"TransformError"}')
            print(f"{platform} Bundled 64ms index.js (1 module)", flush=True)
            self._answer(200, b"__d(function(){});")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(
        f"stand-in metro on :{port} host={os.environ.get('REACT_NATIVE_PACKAGER_HOSTNAME')} "
        f"api={os.environ.get('EXPO_PUBLIC_API_URL')}",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "metro":
        _serve_metro(int(sys.argv[2]))
    else:
        raise SystemExit("usage: standins.py metro PORT")
