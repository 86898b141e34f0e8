"""Extra processes from [tool.devkit.processes.NAME], and the base of every local-program service.

`CommandService` runs one command through ChildProcess (own process group, line output); its
health is a readiness probe (http, tcp, exec, log regex) or, without one, "running".
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.host.probes import LogProbe, Probe, probe_from_settings
from devkit.host.proc import ChildProcess
from devkit.settings.config import ProcessSettings, Settings

MIN_UPTIME = 0.2  # without a probe: healthy once it has stayed up this long (no instant crash)
_SHELL_CHARS = set("|&;<>()$`\\\"'*?[]#~=%{}\n")


def command_argv(command: str) -> list[str]:
    """Simple commands run directly (signals reach them); anything shell-like via /bin/sh -c."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return ["/bin/sh", "-c", command]
    needs_shell = any(ch in _SHELL_CHARS for ch in command.replace("'", "").replace('"', ""))
    return ["/bin/sh", "-c", command] if needs_shell or not argv else argv


class CommandService(Service):
    """A service that runs `argv` as a child process."""

    backend = "process"

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        depends_on: Sequence[str] = (),
        restart_policy: str = "on-failure",
        required: bool = False,
        probe: Probe | None = None,
        ports: Sequence[int] = (),
        health_interval: float | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.extra_env = dict(env or {})
        self.depends_on = tuple(depends_on)
        self.restart_policy = restart_policy
        self.required = required
        self.probe = probe
        if probe is not None:  # the probe's contract: its timeout and thresholds
            self.health_timeout = probe.timeout + 1.0  # the probe bounds itself; a backstop
            self.health_failure_threshold = probe.failure_threshold
            self.health_success_threshold = probe.success_threshold
        self._ports = tuple(ports)
        if health_interval is not None:  # set (a readiness `interval`): kept while steady too
            self.health_interval_running = health_interval
            self.health_interval_steady = None
        self.child: ChildProcess | None = None
        self.min_uptime = MIN_UPTIME
        self._started = 0.0

    @property
    def ports(self) -> tuple[int, ...]:
        return self._ports

    @property
    def pid(self) -> int | None:
        return self.child.running_pid if self.child is not None else None

    def child_env(self, ctx: ServiceContext) -> dict[str, str]:
        return {**(ctx.env or os.environ), **self.extra_env}

    async def start(self, ctx: ServiceContext) -> None:
        if self.probe is not None:
            self.probe.reset()
        probe = self.probe

        def on_line(text: str, stream: str) -> None:
            if probe is not None:
                probe.feed(text)
            ctx.log(text, stream)

        self.child = ChildProcess(self.argv, cwd=self.cwd, env=self.child_env(ctx), on_line=on_line)
        try:
            await self.child.start()
            self._started = time.monotonic()
        except FileNotFoundError as exc:
            from devkit.errors import DevkitError

            raise DevkitError(
                f"{self.name}: cannot run {self.argv[0]!r}: {exc.strerror}",
                f"install {self.argv[0]} or fix the {self.name} command",
            ) from None

    async def health(self) -> Health:
        if self.child is None or self.child.returncode is not None:
            return Health(False, "not running")
        if self.probe is None:
            if time.monotonic() - self._started < self.min_uptime:
                return Health(False, "just started")
            return Health(True, f"running (pid {self.child.pid})")
        return await self.probe.check()

    async def wait_exit(self) -> int:
        assert self.child is not None
        return await self.child.wait()

    async def stop(self, timeout: float, reason: StopReason) -> None:
        if self.child is not None:
            await self.child.stop(timeout)


class ProcessService(CommandService):
    """One [tool.devkit.processes.NAME] entry."""

    def __init__(self, settings: Settings, spec: ProcessSettings) -> None:
        cwd = Path(spec.cwd)
        cwd = cwd if cwd.is_absolute() else settings.root / cwd
        probe = None
        if spec.readiness is not None:
            probe = probe_from_settings(spec.readiness, str(cwd), None)
        super().__init__(
            spec.name,
            command_argv(spec.command),
            cwd=cwd,
            env=spec.env,
            depends_on=spec.depends_on,
            restart_policy=spec.restart,
            required=spec.required,
            probe=probe,
            health_interval=spec.readiness.interval if spec.readiness else None,
        )
        self.command = spec.command
        self.log_probe = isinstance(probe, LogProbe)

    def disabled_reason(self) -> str | None:
        if self.cwd is not None and not self.cwd.is_dir():
            return f"its folder {self.cwd} does not exist"
        return None
