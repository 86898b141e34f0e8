"""The contract between the supervisor and a component (PostgreSQL, API, Metro, extra process).

A service knows how to launch, probe and stop one thing. It does not decide when: restart
policy, dependency order, backoff and state changes belong to the supervisor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from devkit.host.health import FAILURE_THRESHOLD, SUCCESS_THRESHOLD, Health, Problem

__all__ = ["Health", "Problem", "Service", "ServiceContext", "StopReason"]


class StopReason(Enum):
    """Why the supervisor stops a service: services act on this, never on timing guesses."""

    RELOAD = "reload"  # the service asked for it (its inputs changed): it may keep warm state
    RESTART = "restart"  # a person or client asked for a restart: start fresh
    REAP = "reap"  # the run ended by itself (crash, kill -9, failed start): clean up its group
    COMMAND = "command"  # a person or client asked for a stop: stay stopped
    SHUTDOWN = "shutdown"  # devkit is exiting: stop everything


@dataclass
class ServiceContext:
    """What the supervisor hands a service at start.

    log(text, stream): one output line (the supervisor masks secrets and buffers it). Safe
        from any thread (watcher, Docker log or initdb threads): lines reach the loop in order.
    request_restart(reason): ask the supervisor for a restart (e.g. a watched file changed);
        honoured also while the component is crashed.
    notice(text, level): a message for the person (toast / headless line).
    env: environment for children: os.environ + .env + what devkit computes
        (DATABASE_URL, EXPO_PUBLIC_API_URL, ...).
    changed(): the service's own facts shown in its status (`problem`) changed: the
        supervisor re-reads them and emits a StateChanged when the status differs. Any thread.
    """

    log: Callable[[str, str], None]
    request_restart: Callable[[str], None]
    notice: Callable[[str, str], None]
    env: Mapping[str, str] = field(default_factory=dict)
    changed: Callable[[], None] = field(default=lambda: None)


class Service(ABC):
    """One component. Subclasses set the class attributes or override them per instance."""

    name: str = ""
    backend: str = ""  # shown in the UI: "postgres · docker", "flask", "expo", "process"
    depends_on: tuple[str, ...] = ()
    required: bool = True  # `up --headless` fails when a required component cannot start
    restart_policy: str = "always"  # always | on-failure | never
    # True: a crash before the component was ever healthy in this run (syntax error) is not
    # retried; the service calls request_restart when its inputs change.
    wait_for_change_after_crash: bool = False
    # True: start waits for the first LAN detection (the address is in its environment, as
    # Metro's REACT_NATIVE_PACKAGER_HOSTNAME). Others start at once: PostgreSQL must not wait.
    needs_lan_host: bool = False
    health_interval_starting: float = 0.02  # until first healthy: a refused connect is cheap
    health_interval_running: float = 2.0
    # Once healthy for STEADY_PASSES probes in a row (devkit.host.health), probes come this
    # often instead (None: never slower than health_interval_running). Exits are seen at once
    # (wait_exit), a dependency leaving healthy has its dependents probed at once, and the
    # first failed probe brings back health_interval_running; only a silent failure (a hang,
    # wrong answers) waits for the next probe: shown unhealthy within this interval plus
    # (health_failure_threshold - 1) quick retries.
    health_interval_steady: float | None = 5.0
    # The probe contract (devkit.host.health): one health() call may take health_timeout; a
    # healthy component shows unhealthy after health_failure_threshold consecutive failures and
    # healthy (again) after health_success_threshold consecutive passes.
    health_timeout: float = 5.0
    health_failure_threshold: int = FAILURE_THRESHOLD
    health_success_threshold: int = SUCCESS_THRESHOLD
    start_timeout: float = 60.0
    # while outage() reports one: how often the supervisor asks again (seconds)
    outage_poll_interval: float = 1.0

    @property
    def ports(self) -> tuple[int, ...]:
        return ()

    @property
    def check_port_conflicts(self) -> bool:
        """`devkit up` checks `ports` are free before anything starts (False: the service
        handles its own, e.g. adopting its running container)."""
        return True

    @property
    def url(self) -> str:
        return ""

    @property
    def pid(self) -> int | None:
        return None

    @property
    def container_id(self) -> str | None:
        return None

    @property
    def problem(self) -> Problem | None:
        """What is wrong with what this running service serves (Metro: the bundle fails to
        build), independent of health. Call ctx.changed() when it changes."""
        return None

    def set_lan_host(self, host: str) -> bool:
        """The LAN address phones use is `host` now. True: restart me to apply it (Metro);
        default False: nothing of mine depends on it."""
        return False

    def disabled_reason(self) -> str | None:
        """Not None: do not start, show this reason (e.g. "no client/ folder")."""
        return None

    def prepare_early(self) -> None:  # noqa: B027 - optional hook
        """Once per `up`, right after the preflight, before the engine is even imported: begin
        slow work that needs no event loop in a thread (initdb), so it overlaps devkit's own
        start; start() joins it. Default: nothing."""

    async def prepare(self, ctx: ServiceContext) -> None:  # noqa: B027 - optional hook
        """Once per `up`, before the first start (watchers, image checks). Default: nothing."""

    @abstractmethod
    async def start(self, ctx: ServiceContext) -> None:
        """Launch and return without waiting for health."""

    @abstractmethod
    async def health(self) -> Health:
        """One quick probe (bounded by a timeout)."""

    @abstractmethod
    async def wait_exit(self) -> int:
        """Return the exit code when the running thing stops on its own (or is stopped)."""

    @abstractmethod
    async def stop(self, timeout: float, reason: StopReason) -> None:
        """Stop what start() launched: polite signal, then force after `timeout`."""

    async def outage(self) -> str | None:
        """Asked when a run ended by itself or a start failed, after the component was healthy
        once. Not None: something outside devkit it needs is unavailable (the Docker engine
        stopped), said as "waiting for ...": the component shows WAITING with that text, is
        asked again every outage_poll_interval, and is started again when this returns None.
        Not a crash (no crash count, no give-up). Bounded, like health(). Default: None."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Once at shutdown, after stop(): release watchers, clients, threads."""

    def run_state(self) -> dict[str, object]:
        """What runstate.json records so a later devkit can find leftovers (pid/pgid/container)."""
        return {"pid": self.pid, "container_id": self.container_id, "ports": list(self.ports)}
