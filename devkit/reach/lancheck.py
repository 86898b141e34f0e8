"""Does the API answer on the LAN address phones use? If not, say why and what to run.

A request from this computer to its own LAN address proves the API listens on all interfaces
(0.0.0.0) rather than only 127.0.0.1. It does not cross this computer's firewall (local
traffic rarely does), so the per-OS firewall hint is part of every failure and is offered
on its own (`firewall_hint`) for the dashboard's help text.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from devkit.reach.lan import PlatformInfo, is_loopback_host
from devkit.reach.targets import api_url


@dataclass(frozen=True)
class LanReach:
    ok: bool
    url: str
    detail: str
    hint: str = ""


def firewall_hint(
    info: PlatformInfo, ports: Sequence[int], which: Callable[[str], str | None] = shutil.which
) -> str:
    """The command (or setting) that lets phones in through this OS's firewall."""
    ports = tuple(dict.fromkeys(ports))
    if info.wsl or info.system == "Windows":
        rules = "; ".join(
            f'New-NetFirewallRule -DisplayName "devkit {p}" -Direction Inbound -Action Allow '
            f"-Protocol TCP -LocalPort {p}"
            for p in ports
        )
        netsh = "; ".join(
            f'netsh advfirewall firewall add rule name="devkit {p}" dir=in action=allow '
            f"protocol=TCP localport={p}"
            for p in ports
        )
        return f"Windows firewall (admin PowerShell): {rules} (or: {netsh})"
    if info.system == "Darwin":
        python = sys.executable
        return (
            "macOS Application Firewall: System Settings > Network > Firewall > Options, "
            "allow incoming connections for Python, or run: sudo /usr/libexec/"
            f"ApplicationFirewall/socketfilterfw --add {python} --unblockapp {python}"
        )
    if which("ufw"):
        return "ufw: " + " && ".join(f"sudo ufw allow {p}/tcp" for p in ports)
    if which("firewall-cmd"):
        adds = " ".join(f"--add-port={p}/tcp" for p in ports)
        return f"firewalld: sudo firewall-cmd {adds} (add --permanent to keep it)"
    rules = " && ".join(f"sudo iptables -I INPUT -p tcp --dport {p} -j ACCEPT" for p in ports)
    return f"if a firewall is active (iptables/nftables): {rules}"


def check_lan_reach(
    host: str,
    port: int,
    info: PlatformInfo,
    *,
    extra_ports: Sequence[int] = (),
    timeout: float = 1.0,
    client: httpx.Client | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> LanReach:
    """GET http://HOST:PORT/status; on failure compare with 127.0.0.1 to name the cause."""
    url = f"{api_url(host, port)}/status"
    own = client is None
    client = client or httpx.Client(timeout=timeout, trust_env=False)
    try:
        lan_error = _get(client, url, timeout)
        if lan_error is None:
            return LanReach(True, url, f"the API answers on {host}:{port}")
        hint = firewall_hint(info, (port, *extra_ports), which)
        if is_loopback_host(host):
            return LanReach(
                False,
                url,
                f"the API does not answer on {host}:{port}: {lan_error}",
                "start it with devkit up",
            )
        local_error = _get(client, f"http://127.0.0.1:{port}/status", timeout)
        if local_error is None:
            return LanReach(
                False,
                url,
                f"the API answers on 127.0.0.1:{port} but not on {host}:{port} ({lan_error}): "
                "it listens on 127.0.0.1 only, so phones cannot reach it",
                f"make it listen on 0.0.0.0 (HOST=0.0.0.0; devkit up does this); then {hint}",
            )
        return LanReach(
            False,
            url,
            f"the API is not answering at all ({local_error})",
            "start it with devkit up (or check its log)",
        )
    finally:
        if own:
            client.close()


def _get(client: httpx.Client, url: str, timeout: float) -> str | None:
    """None when the server answered (any status below 500), else what went wrong."""
    try:
        response = client.get(url, timeout=timeout)
    except httpx.ConnectError as exc:
        return f"connection refused or unreachable ({exc})"
    except httpx.TimeoutException:
        return f"no answer within {timeout:g}s (a firewall dropping packets?)"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return None


@dataclass(frozen=True)
class LiveHealth:
    api: str  # ok | down | error text
    metro: str
    api_url: str
    metro_url: str

    @property
    def api_ok(self) -> bool:
        return self.api == "ok"

    def as_dict(self) -> dict[str, str]:
        return {
            "api": self.api,
            "metro": self.metro,
            "api_url": self.api_url,
            "metro_url": self.metro_url,
        }


def probe_local(api_port: int, metro_port: int, timeout: float = 0.5) -> LiveHealth:
    """Are the API and Metro answering on this computer right now? (quick, for the CLI)"""
    api = f"http://127.0.0.1:{api_port}/status"
    metro = f"http://127.0.0.1:{metro_port}/status"
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        api_state = "ok" if _get(client, api, timeout) is None else "down"
        try:
            response = client.get(metro)
            if "packager-status:running" in response.text:
                metro_state = "ok"
            else:
                metro_state = f"answering but not Metro (HTTP {response.status_code})"
        except httpx.HTTPError:
            metro_state = "down"
    return LiveHealth(api_state, metro_state, api, metro)
