"""The supervisor's per-component bookkeeping: wishes (wanted, restart), pacing, last lines."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from devkit.core.backoff import Backoff, CrashLoopDetector
from devkit.core.events import ComponentStatus, State
from devkit.core.service import Service, ServiceContext
from devkit.host.health import HealthGate

LAST_ERROR_LINES = 30
STABLE_AFTER = 10.0  # a run healthy this long resets the backoff
# states without a run: no pid, no container, no uptime
NOT_RUNNING = (State.STOPPED, State.CRASHED, State.DISABLED, State.WAITING)


class Component:
    """Runtime facts about one service. Touched only on the supervisor's loop."""

    def __init__(
        self,
        service: Service,
        *,
        backoff_initial: float,
        backoff_cap: float,
        crash_limit: int,
        crash_window: float,
        clock: Callable[[], float],
    ) -> None:
        self.service = service
        self.name = service.name
        self.disabled_reason = service.disabled_reason()
        self.state = State.DISABLED if self.disabled_reason else State.STOPPED
        self.detail = self.disabled_reason or ""
        self.started_at: float | None = None  # time.time() the current run started; None if none
        self.restarts = 0
        self.crash_count = 0
        self.last_error: tuple[str, ...] = ()
        self.wanted = self.disabled_reason is None
        self.restart_pending = False
        self.restart_reason = ""
        self.restart_by_service = False  # the service asked (its inputs changed): a reload
        self.ever_started = False  # start() was called at least once: stop() is owed
        self.runs = 0
        self.healthy_since: float | None = None
        self.healthy_this_run = False
        self.ever_healthy = False  # healthy at least once in this `up`: outages are waited out
        self.gate = HealthGate(service.health_failure_threshold, service.health_success_threshold)
        self.tail: deque[str] = deque(maxlen=LAST_ERROR_LINES)
        self.backoff = Backoff(backoff_initial, backoff_cap)
        self.crashes = CrashLoopDetector(crash_limit, crash_window, clock)
        self.wake = asyncio.Event()
        self.probe_now = False  # with wake: probe at once (a dependency left healthy)
        self.task: asyncio.Task[None] | None = None
        self.ctx: ServiceContext | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None

    def status(self) -> ComponentStatus:
        svc = self.service
        running = self.state not in NOT_RUNNING
        problem = svc.problem if running else None
        started_at = self.started_at if running else None  # uptime stops when the run ends
        return ComponentStatus(
            name=self.name,
            backend=svc.backend,
            state=self.state,
            detail=self.detail,
            pid=svc.pid if running else None,
            container_id=svc.container_id if running else None,
            ports=tuple(svc.ports),
            url=svc.url if self.enabled else "",  # a disabled component has no URL to use
            started_at=started_at,
            restarts=self.restarts,
            last_error=self.last_error,
            required=svc.required,
            problem=problem.summary if problem else "",
            problem_lines=problem.lines if problem else (),
            crashes=self.crash_count,
        )

    def run_state(self, status: ComponentStatus) -> dict[str, object]:
        entry: dict[str, object] = dict(self.service.run_state())
        entry.update(
            state=str(self.state),
            detail=self.detail,
            restarts=self.restarts,
            crashes=self.crash_count,
            started_at=status.started_at,
            url=self.service.url,
            backend=self.service.backend,
            required=self.service.required,
            last_error=list(self.last_error[-20:]),  # for `devkit status` (lines already masked)
            problem=status.problem,
            updated_at=time.time(),
        )
        return entry
