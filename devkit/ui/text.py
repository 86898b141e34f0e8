"""Every line of user-visible text about state changes and notices, for both front ends.

The headless printer (ui/plain.py) and the dashboard (ui/app.py, error panel) word things the
same way because both take their text from here (as honcho keeps all of it in one Printer).
No Textual or Rich here: plain strings only (checked by import-linter).
"""

from __future__ import annotations

from collections.abc import Mapping

from devkit.core.events import ComponentStatus, Notice, State, StateChanged

NOTICE_PREFIX = {"warning": "warning: ", "error": "error: "}
QUIET_DETAILS = ("stopping",)


def state_change(event: StateChanged) -> str | None:
    """`api healthy  http://...` / `api crashed: exited with code 1; ...`; None when the state
    itself did not change (a new health detail only)."""
    status = event.status
    if event.old == event.new and status.state != State.DISABLED:
        return None
    text = f"{status.name} {event.new}"
    if status.detail.startswith(f"{status.state} "):  # "postgres waiting for the Docker engine"
        text = f"{status.name} {status.detail}"
    elif status.detail and status.detail not in (str(status.state), *QUIET_DETAILS):
        text += f": {status.detail}"
    if status.state == State.HEALTHY and status.url:
        text += f"  {status.url}"
    return text


def detail(status: ComponentStatus) -> str:
    """The detail shown after the state word: "" when it only repeats it, and without the
    state word it starts with ("waiting" + "for the Docker engine at ...")."""
    if status.detail == str(status.state):
        return ""
    return status.detail.removeprefix(f"{status.state} ")


def notice(event: Notice) -> str:
    return NOTICE_PREFIX.get(event.level, "") + event.text


def excerpt_label(status: ComponentStatus) -> str:
    """The label above a crashed run's last lines: they are old output, shown again."""
    return f"last lines of {status.name} before it exited:"


def excerpt(status: ComponentStatus, limit: int) -> list[str]:
    return list(status.last_error[-limit:]) or ["(no output)"]


def crash_title(status: ComponentStatus) -> str:
    return f"{status.name} crashed" + (f": {status.detail}" if status.detail else "")


def restarts(status: ComponentStatus) -> str:
    """`4` or `4 (5 crashes)`: the fifth crash of a loop is the one not restarted."""
    return str(status.restarts) + (f" ({status.crashes} crashes)" if status.crashes else "")


ALL_HEALTHY = "all components healthy"


def devices_block(
    lan_host: str,
    api_port: int,
    metro_port: int,
    api_enabled: bool,
    metro_enabled: bool,
    settings_env: Mapping[str, str] | None = None,
) -> list[str]:
    """`all components healthy`, then what the app gets (one bundle serves every device) and
    the API per device kind for browsers and tools."""
    from devkit.reach.targets import app_config, device_targets

    lines = [ALL_HEALTHY]
    if metro_enabled:
        lines[0] += ". The app (Metro builds one bundle for every device):"
        app = app_config(lan_host, api_port, metro_port, settings_env)
        lines += [f"  {text}" for text in app.lines(api=api_enabled)]
    if api_enabled:
        title = "The API from a device's browser or other tools:"
        if metro_enabled:
            lines.append(title)
        else:
            lines[0] += f". {title}"
        for target in device_targets(lan_host, api_port, metro_port):
            lines.append(f"  {target.label:<34}{target.api_url}")
    return lines


def healthy_again() -> str:
    return f"{ALL_HEALTHY} again"


def lan_changed(host: str) -> str:
    return f"LAN address is now {host}"


def stopped(exit_code: int) -> str:
    return "stopped" + (f" (exit code {exit_code})" if exit_code else "")


def lines_skipped(count: int, kept: int) -> str:
    return (
        f"{count} lines skipped: output came faster than the screen and they "
        f"were older than the last {kept} kept here"
    )


class SummaryTracker:
    """The devices block once per `up`, and again only when the LAN address changed since it
    was last shown; any other recovery gets the one-line `healthy_again()`."""

    def __init__(self) -> None:
        self.shown_for: str | None = None

    def lines(
        self,
        lan_host: str,
        api_port: int,
        metro_port: int,
        api_enabled: bool,
        metro_enabled: bool,
        settings_env: Mapping[str, str] | None = None,
    ) -> list[str]:
        if self.shown_for == lan_host:
            return [healthy_again()]
        self.shown_for = lan_host
        return devices_block(
            lan_host, api_port, metro_port, api_enabled, metro_enabled, settings_env
        )
