"""`python -m server` as a real child process (own process group, output collected on a thread),
for tests that need the API as a process: database loss, LAN and emulator reach."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


class LiveServer:
    """`python -m server` in its own process group, its output collected on a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server"],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_listening(self, timeout: float = 30) -> None:
        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n" + self.output)
            return any("listening on" in line for line in self.lines)

        wait_for(listening, timeout, what="python -m server to listen")

    def status_code(self) -> int:
        return self.http.get("/status").status_code

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def server_env(database_url: str, log_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MIN_APP_VERSION", "LOG_LEVEL", "MAX_BODY_BYTES")
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "APP_ENV": "test",
            "PORT": str(free_port()),
            "LOG_DIR": str(log_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env
