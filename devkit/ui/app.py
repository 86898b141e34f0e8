"""The Textual dashboard behind `devkit up` and `devkit attach`.

One code path for both: it talks to a Controller (devkit.core.controller), the Supervisor
in-process or a RemoteController over the control socket when attached. Attached, `q` only
leaves the dashboard (devkit keeps running) and `X` stops devkit. It only subscribes to supervisor events and calls the Controller's thread-safe commands; the
subscriber (EventBridge) runs on the supervisor's thread and never touches widgets. Events are
drained in one batch every FLUSH_INTERVAL while they arrive (one `Log.write_lines` per batch)
and nothing runs while nothing happens except the uptime refresh, timed for when an uptime
cell next shows another text (each second for 10 s after a start, then rarer: see
format.uptime).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.driver import Driver
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from devkit.core.controller import Controller
from devkit.core.events import (
    AllHealthy,
    ComponentStatus,
    Event,
    LogLine,
    Notice,
    ShutdownProgress,
    State,
    StateChanged,
    Stopped,
    TargetsChanged,
)
from devkit.ui import text as words
from devkit.ui.bridge import EventBridge
from devkit.ui.components_table import WIDE, ComponentsTable
from devkit.ui.devices import DevicesPanel
from devkit.ui.error_panel import ErrorPanel
from devkit.ui.filter_input import FilterInput
from devkit.ui.format import DEVKIT, RUNNING, LineFilter, Palette
from devkit.ui.help_screen import HelpScreen
from devkit.ui.log_view import LogView
from devkit.ui.messages import EventsReady, FilterApplied, FilterClosed

FLUSH_INTERVAL = 0.04
CRASH_TOAST_EVERY = 10.0
FORCE_EXIT_AFTER = 15.0  # after a forced shutdown, exit even if Stopped never arrives
# the uptime timer fires this long after the change it waits for (timers never fire early,
# but the clock and the timers' clock may differ by a little), and at least every
# MAX_TICK_WAIT (a suspended laptop's wall clock jumps ahead of the timers' clock)
TICK_SLACK = 0.02
MAX_TICK_WAIT = 60.0
SEVERITY = {"info": "information", "warning": "warning", "error": "error"}


class DashboardApp(App[int]):
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")  # absolute: subclasses live elsewhere
    TITLE = "devkit"
    ENABLE_COMMAND_PALETTE = False
    # The footer shows what fits in 80 columns; `?` lists every key.
    BINDINGS = [
        Binding("r", "restart", "restart"),
        Binding("s", "stop_start", "stop/start"),
        Binding("R", "restart_all", "restart all"),
        Binding("a", "toggle_all_logs", "all/one"),
        Binding("slash", "filter", "filter"),
        Binding("f", "toggle_follow", "follow", show=False),
        Binding("c", "clear_logs", "clear", show=False),
        Binding("e", "export_logs", "export", show=False),
        Binding("d", "toggle_devices", "QR"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        Binding("X", "stop_devkit", "stop devkit"),  # attached only (see check_action)
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        controller: Controller,
        *,
        api_port: int = 5000,
        metro_port: int = 8081,
        state_dir: Path | str = ".devkit",
        lan_host: str = "127.0.0.1",
        clock: Callable[[], float] = time.time,
        max_lines: int = 10_000,
        flush_interval: float = FLUSH_INTERVAL,
        attached: bool = False,
        settings_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.settings_env = dict(settings_env or {})
        self.controller = controller
        self.attached = attached  # a client of a devkit running elsewhere: q leaves it running
        self.api_port, self.metro_port = api_port, metro_port
        self.state_dir = Path(state_dir)
        self.lan_host = lan_host
        self.clock = clock
        self.max_lines = max_lines
        self.flush_interval = flush_interval
        self.initial = list(controller.snapshot())
        self.names = [s.name for s in self.initial]
        self.palette = Palette(self.names)
        self.bridge = EventBridge(lambda: self.post_message(EventsReady()), max_lines)
        self.all_logs = True
        self.all_healthy = False
        self.stopping = False
        self.forced = False
        self.shutdown_states: dict[str, State] = {}
        self.last_crashed: str | None = None
        self.flushes = 0
        self.dropped = 0  # log lines skipped because they came faster than the screen
        self.hung_up = False
        self._crash_toasts: dict[str, float] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._initial_ids: set[int] = set()
        self._was_paused = False
        self._said_healthy = False
        self._tick_timer: Timer | None = None

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux/macOS driver with an input thread that sleeps (devkit.ui.driver)."""
        driver = super().get_driver_class()
        if (driver.__module__, driver.__name__) == ("textual.drivers.linux_driver", "LinuxDriver"):
            from devkit.ui.driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver

    # --- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ComponentsTable(self.palette, self.initial, self.clock, id="components")
        yield ErrorPanel(id="error")
        with Horizontal(id="body"):
            yield LogView(self.palette, self.names, self.max_lines, id="logs")
            yield DevicesPanel(
                self.lan_host, self.api_port, self.metro_port, self.settings_env, id="devices"
            )
        yield FilterInput(id="filter", compact=True)
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> ComponentsTable:
        return self.query_one(ComponentsTable)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def devices(self) -> DevicesPanel:
        return self.query_one(DevicesPanel)

    def on_mount(self) -> None:
        table = self.table
        self._apply_size(self.size.width)
        self._unsubscribe = self.controller.subscribe(self.bridge)
        # Re-read the states now that events flow: changes between __init__ and subscribe
        # would otherwise be lost (later events carry full statuses, so order is safe).
        for status in self.controller.snapshot():
            table.update_status(status)
            if status.state == State.CRASHED:
                self.last_crashed = status.name
        self._update_metro_api()
        history = self.controller.logs(None, self.max_lines)
        self._initial_ids = {id(line) for line in history}
        self.log_view.add(history)
        self.watch(self.log_view, "scroll_y", self._scrolled, init=False)
        self._schedule_tick()
        self._refresh_error_panel()
        self._refresh_status()
        table.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width)

    def _apply_size(self, width: int) -> None:
        wide = width >= WIDE
        self.table.set_layout(wide)
        self.devices.configure(wide=wide)

    def _tick(self) -> None:
        self._tick_timer = None
        self.table.tick()
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        """One timer for the next uptime change (none while nothing runs): a still table
        costs no wake-ups."""
        if self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer = None
        wait = self.table.next_uptime_change()
        if wait is not None:
            delay = min(max(wait, 0.0) + TICK_SLACK, MAX_TICK_WAIT)
            self._tick_timer = self.set_timer(delay, self._tick, name="uptime")

    # --- events from the supervisor -----------------------------------------------------------
    def on_events_ready(self, message: EventsReady) -> None:
        self.set_timer(self.flush_interval, self._flush_events)

    def _flush_events(self) -> None:
        batch = self.bridge.drain()
        self.flushes += 1
        lines = batch.lines
        if self._initial_ids:
            lines = [line for line in lines if id(line) not in self._initial_ids]
            self._initial_ids = set()
        for event in batch.events:
            self._handle(event)
        if any(isinstance(event, StateChanged) for event in batch.events):
            self._schedule_tick()  # a (re)start: its uptime counts seconds again
        if batch.dropped:
            self.dropped += batch.dropped
            lines.append(self._devkit_line(words.lines_skipped(batch.dropped, self.max_lines)))
        self.log_view.add(lines)

    def _handle(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, Notice):
            self.notify(
                event.text,
                title=event.component,
                severity=SEVERITY.get(event.level, "information"),  # type: ignore[arg-type]
                markup=False,
            )
            self._say(words.notice(event))
        elif isinstance(event, TargetsChanged):
            self.lan_host = event.lan_host
            self.devices.configure(lan_host=event.lan_host)
            self._refresh_status()
        elif isinstance(event, AllHealthy):
            self.all_healthy = True
            # the devices panel always shows the addresses: one line, first time or again
            self._say(words.ALL_HEALTHY if not self._said_healthy else words.healthy_again())
            self._said_healthy = True
            self._refresh_status()
        elif isinstance(event, ShutdownProgress):
            self.shutdown_states[event.component] = event.state
            self._refresh_status()
        elif isinstance(event, Stopped):
            self.exit(event.exit_code, return_code=event.exit_code)

    def _state_changed(self, event: StateChanged) -> None:
        status = event.status
        self.table.update_status(status)
        if status.state != State.HEALTHY:
            self.all_healthy = False
        text = words.state_change(event)
        if text is not None:
            self._say(text)
        if event.new == State.CRASHED and event.old != State.CRASHED:
            self.last_crashed = status.name
            self._crash_toast(status)
        self._update_metro_api()
        self._refresh_error_panel()
        self._refresh_status()

    def _crash_toast(self, status: ComponentStatus) -> None:
        """One toast per component per CRASH_TOAST_EVERY seconds: a crash loop must not
        bury the screen (the table, the error panel and the log show every crash)."""
        now = time.monotonic()
        if now - self._crash_toasts.get(status.name, -CRASH_TOAST_EVERY) < CRASH_TOAST_EVERY:
            return
        self._crash_toasts[status.name] = now
        self.notify(
            status.detail or "exited unexpectedly",
            title=f"{status.name} crashed",
            severity="error",
            timeout=8,
            markup=False,
        )

    def _devkit_line(self, text: str) -> LogLine:
        return LogLine(DEVKIT, text, "devkit", self.clock())

    def _say(self, text: str) -> None:
        self.log_view.add([self._devkit_line(text)])

    def _update_metro_api(self) -> None:
        statuses = self.table.statuses
        enabled = {name: s.state != State.DISABLED for name, s in statuses.items()}
        metro, api = enabled.get("metro", False), enabled.get("api", False)
        metro_status = statuses.get("metro")
        if metro_status is None:
            reason = "no metro component (components setting)"
        else:
            reason = metro_status.detail if metro_status.state == State.DISABLED else ""
        self.devices.configure(metro_enabled=metro, api_enabled=api, metro_reason=reason)
        self.devices.display = metro or api  # nothing for a device to reach otherwise

    # --- status line and panels ---------------------------------------------------------------
    def _scrolled(self, _value: float) -> None:
        paused = self.log_view.paused
        if paused != self._was_paused:
            self._was_paused = paused
            self._refresh_status()

    def status_line(self) -> Text:
        """The top line, built from styled pieces (no markup: names and filters are data)."""
        statuses = list(self.table.statuses.values())
        if self.stopping:
            order = [n for n in self.names if n in self.shutdown_states]
            done = ", ".join(f"{n} {self.shutdown_states[n]}" for n in order)
            hint = "forcing" if self.forced else "q / Ctrl-C again to force"
            return Text.assemble(("stopping… ", "b yellow"), done, "  ", (hint, "dim"))
        enabled = [s for s in statuses if s.state != State.DISABLED]
        healthy = sum(s.state == State.HEALTHY for s in enabled)
        crashed = [s.name for s in enabled if s.state == State.CRASHED]
        troubled = [s.name for s in enabled if s.problem and s.state in RUNNING]
        waiting = [s.name for s in enabled if s.state == State.WAITING]
        if crashed:
            health = (f"{', '.join(crashed)} crashed", "b red")
        elif waiting:
            health = (f"{', '.join(waiting)} waiting (see its detail)", "b yellow")
        elif troubled:
            health = (f"{', '.join(troubled)}: error (see panel)", "b red")
        elif enabled and healthy == len(enabled):
            health = ("all healthy", "b green")
        else:
            health = (f"{healthy}/{len(enabled)} healthy", "yellow")
        view = "all" if self.all_logs else (self.table.selected or "-")
        log = self.log_view
        if not log.auto_scroll:
            follow = ("follow off", "dim")
        else:
            follow = ("paused", "yellow") if log.paused else ("follow", "")
        parts: list[tuple[str, str]] = [
            health,
            (f"LAN {self.lan_host}", ""),
            (f"logs: {view}", ""),
            follow,
        ]
        line_filter = log.line_filter
        if line_filter.active:
            parts.append(
                (line_filter.error, "red")
                if line_filter.error
                else (f"filter: {line_filter.text}", "")
            )
        line = Text.assemble(("devkit ", "b"))
        for i, part in enumerate(parts):
            if i:
                line.append(" · ", "dim")
            line.append(*part)
        return line

    def status_text(self) -> str:
        return self.status_line().plain

    def _refresh_status(self) -> None:
        self.query_one("#status", Static).update(self.status_line())

    def _refresh_error_panel(self) -> None:
        """A crash first (the selected one, else the last), else a running component's problem
        (a bundling error: the selected one, else the first)."""
        statuses = self.table.statuses
        selected = statuses.get(self.table.selected or "")
        if selected is not None and selected.state == State.CRASHED:
            shown: ComponentStatus | None = selected
        else:
            last = statuses.get(self.last_crashed or "")
            shown = last if last is not None and last.state == State.CRASHED else None
        if shown is None:
            troubled = [s for s in statuses.values() if s.problem and s.state in RUNNING]
            shown = selected if selected in troubled else next(iter(troubled), None)
        self.query_one(ErrorPanel).show_status(shown)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.all_logs:
            self.log_view.show_component(self.table.selected)
        self._refresh_error_panel()
        self._refresh_status()

    # --- filter -------------------------------------------------------------------------------
    def on_filter_applied(self, message: FilterApplied) -> None:
        line_filter = LineFilter.parse(message.text)
        self.query_one(FilterInput).set_class(bool(line_filter.error), "-invalid")
        self.log_view.set_filter(line_filter)
        self._refresh_status()

    def on_filter_closed(self, message: FilterClosed) -> None:
        self.query_one(FilterInput).display = False
        self.table.focus()

    # --- actions ------------------------------------------------------------------------------
    def _selected(self) -> str | None:
        name = self.table.selected
        if name is None:
            self.notify("no component selected", severity="warning", markup=False)
        return name

    def action_restart(self) -> None:
        if (name := self._selected()) is not None:
            self._say(f"restart {name} requested")
            self.controller.request_restart(name)

    def action_stop_start(self) -> None:
        name = self._selected()
        if name is None:
            return
        status = self.table.statuses[name]
        if status.state == State.DISABLED:
            self.notify(f"{name} is disabled: {status.detail}", severity="warning", markup=False)
        elif status.state in (State.STOPPED, State.CRASHED):
            self._say(f"start {name} requested")
            self.controller.request_start(name)
        else:
            self._say(f"stop {name} requested")
            self.controller.request_stop(name)

    def action_restart_all(self) -> None:
        self._say("restart of every component requested")
        self.controller.request_restart_all()

    def action_toggle_all_logs(self) -> None:
        self.all_logs = not self.all_logs
        self.log_view.show_component(None if self.all_logs else self.table.selected)
        self._refresh_status()

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.display = True
        box.focus()

    def action_toggle_follow(self) -> None:
        log = self.log_view
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False, immediate=True)
        self._refresh_status()

    def action_clear_logs(self) -> None:
        self.log_view.clear_all()

    def action_export_logs(self) -> None:
        lines = list(self.log_view.lines)
        name = time.strftime("logs-%Y%m%d-%H%M%S.txt", time.localtime(self.clock()))
        path = self.state_dir / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        except OSError as exc:
            self.notify(
                f"could not write {path}: {exc.strerror or exc}. Check that "
                f"{path.parent} is writable.",
                title="export failed",
                severity="error",
                markup=False,
            )
            return
        self.notify(f"{len(lines)} lines written to {path}", title="logs exported", markup=False)

    def action_toggle_devices(self) -> None:
        if not self.devices.display:
            self.notify(
                "no QR code or device URLs: neither the API nor Metro runs in this devkit",
                title="devices",
                severity="warning",
                markup=False,
            )
            return
        self.devices.toggle()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(attached=self.attached))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_devkit":
            return self.attached  # in-process, q already stops everything
        return True

    async def action_stop_devkit(self) -> None:
        """Attached: stop devkit itself (every component), with progress, like `devkit down`."""
        self.attached = False  # from now on the dashboard behaves like the in-process one
        await self.action_quit()

    def terminal_gone(self) -> None:
        """SIGHUP: the terminal was closed. Stop drawing and leave now; the supervisor's own
        SIGHUP handler stops the components (up.py waits for it after we return).

        Textual's output thread dies on the first failed write (EIO) and its queue then
        blocks the app for good once full; the kernel's SIGCONT after a hang-up would also
        start a second output thread. So output is dropped and auto-restart turned off
        before anything else is drawn (private driver attributes, guarded).
        """
        self.hung_up = True
        driver = self._driver
        if driver is not None:
            if hasattr(driver, "_auto_restart"):
                driver._auto_restart = False
            writer = getattr(driver, "_writer_thread", None)
            if writer is not None:
                writer.write = lambda text: None
                writer.stop = lambda: None
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.exit, 0)

    async def action_quit(self) -> None:
        """First press: ordered shutdown with progress. Second press: force.
        Attached: leave the dashboard; devkit keeps running."""
        if self.attached:
            self.exit(0, return_code=0)
            return
        if not self.stopping:
            self.stopping = True
            self.controller.request_shutdown()
        elif not self.forced:
            self.forced = True
            self.controller.request_shutdown(force=True)
            self.set_timer(FORCE_EXIT_AFTER, lambda: self.exit(1, return_code=1))
        self._refresh_status()


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard shows besides the controller's events (from the settings in-process,
    from the control socket's /status when attached)."""

    api_port: int = 5000
    metro_port: int = 8081
    state_dir: Path = Path(".devkit")
    lan_host: str = "127.0.0.1"
    max_lines: int = 10_000
    attached: bool = False
    settings_env: Mapping[str, str] = field(default_factory=dict)  # .env: EXPO_PUBLIC_API_URL


def run_dashboard(controller: Controller, config: DashboardConfig | None = None) -> int:
    """Run the dashboard until the supervisor has stopped (or, attached, until `q`)."""
    config = config or DashboardConfig()
    app = DashboardApp(
        controller,
        api_port=config.api_port,
        metro_port=config.metro_port,
        state_dir=config.state_dir,
        lan_host=config.lan_host,
        max_lines=config.max_lines,
        attached=config.attached,
        settings_env=config.settings_env,
    )
    with on_hangup(app.terminal_gone):
        result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)


@contextmanager
def on_hangup(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` on SIGHUP, then the handler that was there before (the supervisor's
    ordered shutdown, installed by SupervisorThread). Main thread only; a no-op elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGHUP)

    def handler(number: int, frame: FrameType | None) -> None:
        callback()
        if callable(previous):
            previous(number, frame)

    signal.signal(signal.SIGHUP, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)
