"""The engine under `devkit up`: starts components in dependency order, waits on health,
restarts by policy with backoff, detects crash loops, and shuts down in reverse order.

Front ends only subscribe to events and call the thread-safe `request_*` methods
(devkit.core.controller.Controller). Every state change goes through `_change()`, which emits
StateChanged, updates the run state file and re-checks "all healthy".

Dependents of a dependency that crashes keep running: the API reports its database as down on
/status (so it shows unhealthy by its own probe) and reconnects when PostgreSQL is back; a
dependent is not restarted with its dependency. A (re)start of a dependent waits until its
dependencies are healthy again. A dependency in a crash loop is never given up: it is retried
with the capped backoff for as long as something depends on it. Any other give-up names the
command that restarts the component (`devkit restart NAME`).

A run that ends (or a start that fails) because something outside devkit is gone, as the
service's `outage()` says (the Docker engine stopped), is no crash: the component WAITs, the
service is asked again every `outage_poll_interval`, and it is started again when the outage is
over. Before the component was ever healthy in this `up`, such a failure is a start failure.

Health follows the probe contract (devkit.host.health): a component turns unhealthy after the
service's health_failure_threshold consecutive failed probes, healthy after
health_success_threshold passes, each probe bounded by the service's health_timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from devkit.core.backoff import restart_decision
from devkit.core.component import STABLE_AFTER, Component
from devkit.core.events import (
    AllHealthy,
    ComponentStatus,
    EventBus,
    LogLine,
    Notice,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    Subscriber,
)
from devkit.core.logbuf import LogStore, Masker
from devkit.core.network import NetworkHooks, NetworkSide
from devkit.core.runstate import RunState
from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.errors import DevkitError
from devkit.host.proc import kill_group
from devkit.settings.config import Settings

RETRY_AFTER_FAILED_PROBE = 0.5  # a healthy component's next probe after one failed (seconds)


class Supervisor:
    """Owns the services of one `devkit up`. Create, then `await run()` on some event loop."""

    def __init__(
        self,
        settings: Settings,
        services: Sequence[Service],
        bus: EventBus | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        runstate: RunState | None = None,
        lan_host: str | None = None,
        network: bool = True,
        backoff_initial: float = 0.25,
        exit_on_required_failure: bool = False,
    ) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        self.clock = clock
        self.runstate = runstate
        self.exit_on_required_failure = exit_on_required_failure
        self.masker = Masker.from_env(settings.env)
        self.logbuf = LogStore(settings.log_buffer_lines, self.masker)
        self.components: dict[str, Component] = {}
        for svc in services:
            if svc.name in self.components:
                raise ValueError(f"two services named {svc.name!r}")
            self.components[svc.name] = Component(
                svc,
                backoff_initial=backoff_initial,
                backoff_cap=settings.restart_backoff_max,
                crash_limit=settings.crash_loop_limit,
                crash_window=settings.crash_loop_window,
                clock=clock,
            )
        self.order = _dependency_order(self.components)
        self.net = NetworkSide(
            NetworkHooks(
                settings=settings,
                components=lambda: self.components.values(),
                notice=lambda text, level: self._notice(text, level),
                log=lambda text: self._log("devkit", text, "devkit"),
                restart=self._restart,
                record_lan_host=self._record_lan_host,
                publish=self.bus.publish,
            ),
            lan_host,
            enabled=network,
        )
        self.exit_code = 0
        self.shutting_down = False
        self._statuses = {name: c.status() for name, c in self.components.items()}
        self._status_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._pending: list[Callable[[], None]] = []
        self._pending_lock = threading.Lock()
        self._shutdown_event: asyncio.Event | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._all_healthy = False
        self.ever_all_healthy = False
        self._forced = False
        self.started = threading.Event()  # set once run() is on its loop

    # --- Controller (thread-safe) -------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(subscriber)

    def snapshot(self) -> list[ComponentStatus]:
        with self._status_lock:
            return [self._statuses[name] for name in self.order]

    def logs(self, component: str | None = None, limit: int | None = None) -> list[LogLine]:
        return self.logbuf.lines(component, limit)

    def request_start(self, component: str) -> None:
        self._call(lambda: self._start(component))

    def request_stop(self, component: str) -> None:
        self._call(lambda: self._stop(component))

    def request_restart(self, component: str, reason: str = "restart requested") -> None:
        self._call(lambda: self._restart(component, reason))

    def request_restart_all(self) -> None:
        self._call(self._restart_all)

    def announce(self, text: str) -> None:
        """A line from devkit itself in the log (headless output, dashboard log). Any thread."""
        self._log_from_any_thread("devkit", text, "devkit")

    def request_shutdown(self, force: bool = False) -> None:
        if force:  # also from a signal handler in a thread where the loop may be stuck
            self._forced = True
            self.kill_all()
        self._call(self._begin_shutdown)

    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            with self._pending_lock:
                if self._loop is None:
                    self._pending.append(fn)
                    return
            loop = self._loop
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # loop closed: nothing left to command
            pass

    # --- commands (on the loop) ---------------------------------------------------------------
    def _get(self, name: str) -> Component | None:
        c = self.components.get(name)
        if c is None:
            self._notice(f"no component named {name!r}", "warning")
        elif not c.enabled:
            self._notice(f"{name} is disabled: {c.disabled_reason}", "warning", name)
            return None
        return c

    def _start(self, name: str) -> None:
        c = self._get(name)
        if c is None or self.shutting_down:
            return
        c.wanted = True
        c.crashes.reset()
        c.backoff.reset()
        c.wake.set()
        self._notify()

    def _stop(self, name: str) -> None:
        c = self._get(name)
        if c is None or self.shutting_down:
            return
        c.wanted, c.restart_pending = False, False
        c.wake.set()
        self._notify()

    def _restart(self, name: str, reason: str, by_service: bool = False) -> None:
        c = self._get(name)
        if c is None or self.shutting_down:
            return
        c.wanted, c.restart_pending, c.restart_reason = True, True, reason
        c.restart_by_service = by_service
        c.crashes.reset()
        c.backoff.reset()
        if c.state in (State.HEALTHY, State.UNHEALTHY, State.STARTING):
            self._change(c, State.RESTARTING, reason)
        c.wake.set()
        self._notify()

    def _restart_all(self) -> None:
        for name in self.order:
            if self.components[name].enabled:
                self._restart(name, "restart all")

    def _begin_shutdown(self) -> None:
        if self._shutdown_event is not None:
            self._shutdown_event.set()

    def kill_all(self) -> None:
        """SIGKILL every process group devkit started (second Ctrl-C). Any thread."""
        for c in self.components.values():
            pid = c.service.pid
            if pid:
                kill_group(pid, signal.SIGKILL)
        if self.runstate:
            for entry in list(self.runstate.components.values()):
                pgid = entry.get("pgid")
                if pgid and pgid != os.getpgid(0):
                    kill_group(int(pgid), signal.SIGKILL)

    def _record_lan_host(self, host: str) -> None:
        if self.runstate is None:
            return
        self.runstate.extra["lan_host"] = host
        try:
            self.runstate.write()
        except OSError:
            pass

    # --- events -------------------------------------------------------------------------------
    def _notice(self, text: str, level: str = "info", component: str = "") -> None:
        self.bus.publish(Notice(text, level, component))

    def _log_from_any_thread(self, name: str, text: str, stream: str) -> None:
        """The one log path for services and devkit: on the loop directly, from any other
        thread (initdb, Docker log readers, watchers) through call_soon_threadsafe, so lines
        keep their order and subscribers run on the loop only."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._log(name, text, stream)
        else:
            self._call(lambda: self._log(name, text, stream))

    def _log(self, name: str, text: str, stream: str) -> None:
        line = self.logbuf.append(name, text, stream)
        c = self.components.get(name)
        if c is not None:
            c.tail.append(line.text)
        self.bus.publish(line)

    def _change(self, c: Component, state: State, detail: str | None = None) -> None:
        """The only place a component's status changes: emits StateChanged (also for detail)."""
        old = c.state
        c.state = state
        if detail is not None:
            c.detail = detail
        status = c.status()
        with self._status_lock:
            previous = self._statuses.get(c.name)
            self._statuses[c.name] = status
        if previous == status:
            return
        if self.runstate is not None:
            try:
                self.runstate.record(c.name, **c.run_state(status))
            except OSError:
                pass
        if old == State.HEALTHY and state != State.HEALTHY:
            self._probe_dependents(c)
        self.bus.publish(StateChanged(c.name, old, state, status))
        self._notify()
        self._check_all_healthy()

    def _probe_dependents(self, c: Component) -> None:
        """Their health may hang on `c` (the API's /status on the database): probe them now
        rather than at their next (steady, slower) probe."""
        for other in self.components.values():
            if c.name in other.service.depends_on and other.state == State.HEALTHY:
                other.probe_now = True
                other.wake.set()

    def _check_all_healthy(self) -> None:
        # a crashed component counts (it is not wanted while it waits for a change or after a
        # give-up, but the stack is not healthy); one stopped on purpose does not
        active = [
            c
            for c in self.components.values()
            if c.enabled and (c.wanted or c.state == State.CRASHED)
        ]
        healthy = bool(active) and all(c.state == State.HEALTHY for c in active)
        if healthy and not self._all_healthy and not self.shutting_down:
            self.ever_all_healthy = True
            self.bus.publish(AllHealthy())
            self.net.all_healthy()
        self._all_healthy = healthy

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut

    def _fail(self, c: Component, why: str) -> None:
        """A required component cannot start: headless `up` ends with exit code 1."""
        if (
            self.exit_on_required_failure
            and c.service.required
            and not self.ever_all_healthy
            and not self.shutting_down
        ):
            self.exit_code = 1
            self._notice(f"{c.name} cannot start: {why}", "error", c.name)
            self._begin_shutdown()

    # --- running ------------------------------------------------------------------------------
    async def run(self) -> int:
        """Start everything, run until request_shutdown, stop everything. Returns an exit code."""
        self._shutdown_event = asyncio.Event()
        with self._pending_lock:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            pending, self._pending = self._pending, []
        for fn in pending:
            fn()
        self.started.set()
        for name in self.order:
            c = self.components[name]
            c.ctx = self._context(c)
            self.bus.publish(StateChanged(name, c.state, c.state, c.status()))
        self.net.start()
        for name in self.order:
            c = self.components[name]
            if c.enabled:
                c.task = asyncio.create_task(self._drive(c), name=f"drive-{name}")
        if not any(c.enabled for c in self.components.values()):
            self._notice("no component is enabled", "warning")
        try:
            await self._shutdown_event.wait()
        finally:
            await self._shutdown()
        return self.exit_code

    def _context(self, c: Component) -> ServiceContext:
        env = {**os.environ, **self.settings.env}

        def log(text: str, stream: str = "stdout") -> None:
            self._log_from_any_thread(c.name, text, stream)

        def request_restart(reason: str = "") -> None:
            self._call(lambda: self._restart(c.name, reason or "changed", by_service=True))

        def notice(text: str, level: str = "info") -> None:
            self._notice(text, level, c.name)

        def changed() -> None:
            self._call(lambda: self._change(c, c.state))

        return ServiceContext(
            log=log, request_restart=request_restart, notice=notice, env=env, changed=changed
        )

    async def _drive(self, c: Component) -> None:
        svc = c.service
        try:
            await svc.prepare(c.ctx)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - shown, never fatal to devkit
            self._give_up(c, _error_lines(exc), f"could not prepare: {_first(exc)}")
        while True:
            if not c.wanted:
                if c.state not in (State.CRASHED, State.STOPPED):
                    self._change(c, State.STOPPED, "stopped")
                c.wake.clear()
                await c.wake.wait()
                continue
            if c.service.needs_lan_host:
                await self.net.ready()
            await self._wait_for_dependencies(c)
            if not c.wanted:
                continue
            outcome = await self._run_once(c)
            if outcome is not None:
                await self._after_exit(c, *outcome)

    async def _wait_for_dependencies(self, c: Component) -> None:
        deps = [
            self.components[d]
            for d in c.service.depends_on
            if d in self.components and self.components[d].enabled
        ]

        def ready() -> bool:
            return not c.wanted or all(d.state == State.HEALTHY for d in deps)

        if not ready():
            waiting = ", ".join(d.name for d in deps if d.state != State.HEALTHY)
            self._change(c, State.STARTING, f"waiting for {waiting}")
            await self._until(ready)

    async def _run_once(self, c: Component) -> tuple[int | None, list[str]] | None:
        """One run. None: ended by a command (stop/restart); else (exit code, extra lines)."""
        svc = c.service
        c.wake.clear()
        reason = c.restart_reason if c.restart_pending else ""
        if c.runs:
            c.restarts += 1
        c.restart_pending, c.restart_reason = False, ""
        state = State.RESTARTING if c.runs else State.STARTING
        c.runs += 1
        c.tail.clear()
        c.healthy_this_run = False
        c.healthy_since = None
        c.started_at = None
        c.gate.reset()
        self._change(c, state, reason or "starting")
        begun = self.clock()
        try:
            c.ever_started = True
            await asyncio.wait_for(svc.start(c.ctx), svc.start_timeout)  # type: ignore[arg-type]
        except DevkitError as exc:
            if await self._wait_out_outage(c):
                return None
            self._give_up(
                c, [exc.message] + ([f"fix: {exc.hint}"] if exc.hint else []), exc.message
            )
            await self._quiet_stop(c, StopReason.REAP)
            return None
        except TimeoutError:
            return None, [f"start did not return within {svc.start_timeout:g}s"]
        except Exception as exc:  # noqa: BLE001
            return None, _error_lines(exc)
        c.started_at = time.time()
        self._change(c, state, "started, waiting for health")
        exit_task = asyncio.ensure_future(svc.wait_exit())
        timed_out = False
        try:
            interval = 0.0
            while True:
                wake_task = asyncio.ensure_future(c.wake.wait())
                await asyncio.wait(
                    {exit_task, wake_task}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                wake_task.cancel()
                if exit_task.done():
                    try:
                        return exit_task.result(), []
                    except Exception as exc:  # noqa: BLE001
                        return None, _error_lines(exc)
                if c.wake.is_set():
                    c.wake.clear()
                    if not c.wanted or c.restart_pending:
                        await self._stop_run(c)
                        return None
                    if not c.probe_now:
                        continue
                c.probe_now = False
                health = await self._probe(svc)
                if exit_task.done():
                    continue
                gate = c.gate
                flipped = gate.record(health.ok)
                if gate.healthy:
                    if flipped:
                        c.healthy_this_run = c.ever_healthy = True
                        c.healthy_since = self.clock()
                        self._change(c, State.HEALTHY, health.detail)
                    elif not health.ok:  # still healthy: a failure below the threshold
                        n, of = gate.failures, gate.failure_threshold
                        self._change(c, State.HEALTHY, f"{health.detail} ({n} of {of} failed)")
                    elif c.detail != health.detail and gate.passes == 1:
                        self._change(c, State.HEALTHY, health.detail)
                elif c.healthy_this_run:
                    self._change(c, State.UNHEALTHY, health.detail)
                elif self.clock() - begun > svc.start_timeout and not timed_out:
                    timed_out = True
                    why = f"not healthy after {svc.start_timeout:g}s: {health.detail}"
                    self._change(c, State.UNHEALTHY, why)
                    self._fail(c, why)
                elif not timed_out:
                    self._change(c, c.state, health.detail or "waiting for health")
                interval = (
                    svc.health_interval_running
                    if c.healthy_this_run or timed_out
                    else svc.health_interval_starting
                )
                if c.healthy_this_run and not health.ok:  # confirm (or clear) a failure soon
                    interval = min(interval, RETRY_AFTER_FAILED_PROBE)
                elif gate.steady and svc.health_interval_steady is not None:
                    interval = max(interval, svc.health_interval_steady)  # see Service
        finally:
            if not exit_task.done():
                exit_task.cancel()

    async def _probe(self, svc: Service) -> Health:
        timeout = svc.health_timeout
        try:
            return await asyncio.wait_for(svc.health(), timeout)
        except TimeoutError:
            return Health(False, f"health check took over {timeout:g}s")
        except Exception as exc:  # noqa: BLE001
            return Health(False, f"health check failed: {_first(exc)}")

    async def _stop_run(self, c: Component) -> None:
        restarting = c.restart_pending and c.wanted
        self._change(
            c,
            State.RESTARTING if restarting else State.STOPPING,
            c.restart_reason if restarting else "stopping",
        )
        if not restarting:
            reason = StopReason.COMMAND
        elif c.restart_by_service:
            reason = StopReason.RELOAD
        else:
            reason = StopReason.RESTART
        await self._quiet_stop(c, reason)
        if not restarting:
            self._change(c, State.STOPPED, "stopped")

    async def _quiet_stop(
        self, c: Component, reason: StopReason, timeout: float | None = None
    ) -> None:
        try:
            timeout = self.settings.shutdown_timeout if timeout is None else timeout
            await c.service.stop(timeout, reason)
        except Exception as exc:  # noqa: BLE001
            self._log(c.name, f"stop failed: {_first(exc)}", "devkit")

    def _give_up(self, c: Component, lines: list[str], why: str) -> None:
        """Not restarted by itself any more: say which command brings it back."""
        c.last_error = tuple(list(c.tail)[-20:] + lines)
        c.wanted = False
        self._change(c, State.CRASHED, f"{why}; restart it with: devkit restart {c.name}")
        self._fail(c, why)

    def _dependents(self, c: Component) -> list[str]:
        return [
            other.name
            for other in self.components.values()
            if other.enabled and c.name in other.service.depends_on
        ]

    async def _after_exit(self, c: Component, code: int | None, lines: list[str]) -> None:
        """A run ended by itself: record its last lines, then restart, wait or give up."""
        await self._quiet_stop(c, StopReason.REAP, timeout=1.0)  # what the run left in its group
        c.started_at = None
        if self.shutting_down or await self._wait_out_outage(c):
            return
        svc = c.service
        ended = f"exited with code {code}" if code is not None else "failed to start"
        if code is not None and code < 0:
            ended = f"killed by {_signal_name(-code)}"
        if code == 0 and svc.restart_policy != "always":
            c.wanted = False
            self._change(c, State.STOPPED, "exited with code 0")
            return
        c.last_error = tuple(list(c.tail)[-20:] + lines + [ended])
        c.crash_count += 1
        if not restart_decision(svc.restart_policy, code):
            return self._give_up(
                c, lines + [ended], f"{ended} (restart policy {svc.restart_policy})"
            )
        if svc.wait_for_change_after_crash and not c.healthy_this_run:
            c.wanted = False
            self._change(
                c,
                State.CRASHED,
                f"{ended}; waiting for a change to restart (or: devkit restart {c.name})",
            )
            return
        if c.healthy_since is not None and self.clock() - c.healthy_since >= STABLE_AFTER:
            c.backoff.reset()
        retry_note = ""
        if c.crashes.record():
            s = self.settings
            loop = f"crash loop ({s.crash_loop_limit} crashes within {s.crash_loop_window:g}s)"
            dependents = self._dependents(c)
            # headless `up` that never got healthy ends (exit 1) rather than retry forever
            first_start = self.exit_on_required_failure and not self.ever_all_healthy
            if not dependents or first_start:
                return self._give_up(
                    c, lines + [ended], f"{ended}; {loop}: not restarted after this one"
                )
            retry_note = (
                f"; {loop}: {', '.join(dependents)} depend{'s' if len(dependents) == 1 else ''} "
                f"on it, so it is retried every {s.restart_backoff_max:g}s at most"
            )
        delay = c.backoff.next_delay()
        self._change(c, State.CRASHED, f"{ended}; restarting in {delay:.2g}s{retry_note}")
        c.wake.clear()
        try:
            await asyncio.wait_for(c.wake.wait(), delay)
        except TimeoutError:
            pass
        if c.wanted and not c.restart_pending:
            c.restart_pending, c.restart_reason = True, f"{ended}; restarting"

    async def _ask_outage(self, c: Component) -> tuple[bool, str | None]:
        """(answered, outage): the service's outage(), bounded by its health_timeout."""
        try:
            return True, await asyncio.wait_for(c.service.outage(), c.service.health_timeout)
        except Exception as exc:  # noqa: BLE001 - TimeoutError too: no answer is no verdict
            self._log(c.name, f"outage check failed: {_first(exc)}", "devkit")
            return False, None

    async def _wait_out_outage(self, c: Component) -> bool:
        """True when the run ended because of an outage (see the module docstring): waits in
        WAITING until it is over, then asks for a start; or returns early on a command."""
        if not c.ever_healthy or self.shutting_down:
            return False
        answered, detail = await self._ask_outage(c)
        if not answered or detail is None:
            return False
        c.started_at = None
        self._log(c.name, f"{detail} (not a crash: resumed when it answers)", "devkit")
        self._change(c, State.WAITING, detail)
        began = self.clock()
        while True:
            c.wake.clear()
            try:
                await asyncio.wait_for(c.wake.wait(), c.service.outage_poll_interval)
            except TimeoutError:
                pass
            if self.shutting_down or not c.wanted or c.restart_pending:
                return True  # a command (stop, restart) or shutdown: _drive acts on it
            answered, now = await self._ask_outage(c)
            if answered and now is None:
                break
            if now is not None and now != c.detail:
                self._change(c, State.WAITING, now)
        waited = self.clock() - began
        self._log(c.name, f"{detail}: over after {waited:.1f}s, resuming", "devkit")
        c.restart_pending, c.restart_reason = True, "resuming after the outage"
        return True

    # --- shutdown -----------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        self.shutting_down = True
        await _cancel_all([c.task for c in self.components.values() if c.task])
        await self.net.stop()
        # before the stops: a server draining on SIGTERM waits for an idle kept-alive probe
        # connection (up to its keep-alive timeout), so the API took the whole shutdown_timeout
        from devkit.host.probes import close_http_clients

        await close_http_clients()
        for level in reversed(_levels(self.components, self.order)):
            await asyncio.gather(*(self._final_stop(self.components[n]) for n in level))
        for c in self.components.values():
            try:
                await c.service.close()
            except Exception as exc:  # noqa: BLE001
                self._log(c.name, f"close failed: {_first(exc)}", "devkit")
        if self.runstate is not None:
            self.runstate.clear()
        self.bus.publish(Stopped(self.exit_code))

    async def _final_stop(self, c: Component) -> None:
        if not c.ever_started:
            return
        self._change(c, State.STOPPING, "stopping")
        self.bus.publish(ShutdownProgress(c.name, State.STOPPING))
        timeout = 0.5 if self._forced else self.settings.shutdown_timeout
        try:
            await asyncio.wait_for(c.service.stop(timeout, StopReason.SHUTDOWN), timeout + 5)
        except Exception as exc:  # noqa: BLE001
            self._log(c.name, f"stop failed: {_first(exc)}", "devkit")
        if c.service.pid:
            kill_group(c.service.pid)
        self._change(c, State.STOPPED, "stopped")
        self.bus.publish(ShutdownProgress(c.name, State.STOPPED))


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the drive tasks and wait until they are done, cancelling again while any is
    left: Python 3.11's asyncio.wait_for swallows a cancellation that arrives just as its
    inner future completes (a probe answering as the shutdown begins), and the drive then ran
    on - the shutdown waited for it forever, a devkit that no longer answered SIGTERM."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in tasks:  # retrieved, so asyncio does not log them as never retrieved
        if not task.cancelled():
            task.exception()


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _error_lines(exc: BaseException) -> list[str]:
    if isinstance(exc, DevkitError):
        return [exc.message] + ([f"fix: {exc.hint}"] if exc.hint else [])
    return [_first(exc)]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _dependency_order(components: dict[str, Any]) -> list[str]:
    """Declaration order, with every component after its dependencies (cycles are an error)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order or name not in components:
            return
        if name in visiting:
            raise DevkitError(
                f"dependency cycle: {' -> '.join(chain + (name,))}",
                "remove one depends_on entry of the cycle in [tool.devkit]",
            )
        visiting.add(name)
        for dep in components[name].service.depends_on:
            visit(dep, chain + (name,))
        visiting.discard(name)
        order.append(name)

    for name in components:
        visit(name, ())
    return order


def _levels(components: dict[str, Any], order: list[str]) -> list[list[str]]:
    """Groups that can start (or stop) together: level = 1 + deepest dependency level."""
    level: dict[str, int] = {}
    for name in order:
        deps = [d for d in components[name].service.depends_on if d in level]
        level[name] = 1 + max((level[d] for d in deps), default=-1)
    grouped: dict[int, list[str]] = {}
    for name in order:
        grouped.setdefault(level[name], []).append(name)
    return [grouped[k] for k in sorted(grouped)]
