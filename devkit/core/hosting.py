"""Ways to host the supervisor: on the main thread (headless), on a background thread (the
Textual UI owns the main thread), or in a detached background process (`up --detach`). The
first two turn SIGINT/SIGTERM/SIGHUP into an ordered shutdown (a second SIGINT forces it:
SIGKILL to every process group devkit started) and serve the control socket while the
supervisor runs (devkit.core.control.server), so other terminals can see and steer it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devkit.core.control.protocol import log_path
from devkit.core.control.server import serving
from devkit.core.supervisor import Supervisor

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _SignalCounter:
    def __init__(self, supervisor: Supervisor, on_signal: Callable[[str], None] | None) -> None:
        self.supervisor = supervisor
        self.on_signal = on_signal or (lambda text: None)
        self.interrupts = 0

    def __call__(self, sig: signal.Signals) -> None:
        if sig == signal.SIGINT:
            self.interrupts += 1
        force = self.interrupts >= 2
        if force:
            self.on_signal("second Ctrl-C: killing every process now")
        else:
            self.on_signal(f"{sig.name}: stopping (Ctrl-C again to force)")
        self.supervisor.request_shutdown(force=force)


def supervisor_info(supervisor: Supervisor) -> dict[str, Any]:
    """What clients need besides the statuses (no secrets: the socket is for the same user,
    but what it answers ends up in terminals and CI logs)."""
    settings = supervisor.settings
    return {
        "pid": os.getpid(),
        "root": str(settings.root),
        "lan_host": supervisor.net.lan_host,
        "api_port": settings.api_port,
        "metro_port": settings.metro_port,
        "log_buffer_lines": settings.log_buffer_lines,
        "ever_all_healthy": supervisor.ever_all_healthy,
        "shutting_down": supervisor.shutting_down,
    }


async def run_serving(supervisor: Supervisor, control: bool = True) -> int:
    """`supervisor.run()` with the control socket served on the same loop."""
    if not control:
        return await supervisor.run()
    return await serving(
        supervisor,
        supervisor.settings.state_dir,
        lambda: supervisor_info(supervisor),
        supervisor.run(),
        on_error=lambda text: supervisor._notice(text, "warning"),
    )


def run_headless(
    supervisor: Supervisor, on_signal: Callable[[str], None] | None = None, control: bool = True
) -> int:
    """asyncio.run on this (main) thread; returns the supervisor's exit code."""
    counter = _SignalCounter(supervisor, on_signal)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in SHUTDOWN_SIGNALS:
            loop.add_signal_handler(sig, counter, sig)
        try:
            return await run_serving(supervisor, control)
        finally:
            for sig in SHUTDOWN_SIGNALS:
                loop.remove_signal_handler(sig)

    return asyncio.run(main())


class SupervisorThread:
    """Runs `supervisor.run()` on its own event loop in a background thread.

    The UI calls the supervisor's thread-safe request_* methods and subscribes to its bus;
    `install_signal_handlers()` (main thread) makes SIGTERM/SIGHUP (and SIGINT, should the UI
    not catch Ctrl-C itself) request the ordered shutdown.
    """

    def __init__(self, supervisor: Supervisor, control: bool = True) -> None:
        self.supervisor = supervisor
        self.control = control
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="devkit-supervisor", daemon=True)
        self._previous: dict[int, Any] = {}

    def _main(self) -> None:
        try:
            self.exit_code = asyncio.run(run_serving(self.supervisor, self.control))
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc
            self.exit_code = 1
        finally:
            self.supervisor.started.set()

    def start(self, wait: float = 5.0) -> SupervisorThread:
        self._thread.start()
        self.supervisor.started.wait(wait)
        return self

    def install_signal_handlers(self, on_signal: Callable[[str], None] | None = None) -> None:
        counter = _SignalCounter(self.supervisor, on_signal)
        for sig in SHUTDOWN_SIGNALS:
            self._previous[sig] = signal.signal(
                sig, lambda number, frame: counter(signal.Signals(number))
            )

    def restore_signal_handlers(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def stop(self, timeout: float | None = None) -> int:
        """Request the ordered shutdown and wait for it; returns the exit code."""
        self.supervisor.request_shutdown()
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.supervisor.request_shutdown(force=True)
            self._thread.join(10)
        return self.exit_code if self.exit_code is not None else 1

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def spawn_detached(root: Path, state_dir: Path, up_args: Sequence[str]) -> subprocess.Popen[bytes]:
    """`devkit up --headless ...` as a background process: its own session (no terminal, so
    closing this one does not hang it up), stdin from /dev/null, output to .devkit/devkit.log
    (kept from the previous run as devkit.log.1). The caller waits on the control socket."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = log_path(state_dir)
    if log.exists():
        os.replace(log, log.with_name(log.name + ".1"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devkit", "--root", str(root), "up", "--headless", *up_args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=root,
        )
