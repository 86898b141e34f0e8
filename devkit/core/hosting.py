"""Two ways to host the supervisor: on the main thread (headless) or on a background thread
(the Textual UI owns the main thread). Both turn SIGINT/SIGTERM/SIGHUP into an ordered
shutdown; a second SIGINT forces it (SIGKILL to every process group devkit started).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

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


def run_headless(supervisor: Supervisor, on_signal: Callable[[str], None] | None = None) -> int:
    """asyncio.run on this (main) thread; returns the supervisor's exit code."""
    counter = _SignalCounter(supervisor, on_signal)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in SHUTDOWN_SIGNALS:
            loop.add_signal_handler(sig, counter, sig)
        try:
            return await supervisor.run()
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

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="devkit-supervisor", daemon=True)
        self._previous: dict[int, Any] = {}

    def _main(self) -> None:
        try:
            self.exit_code = asyncio.run(self.supervisor.run())
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
