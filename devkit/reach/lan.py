"""The LAN address phones and other devices use to reach this computer, with the reasons.

`choose_lan` is a pure function over an interface table, the default-route interface, the
environment and platform facts, so every odd machine (Docker + VPN, VirtualBox, WSL2, only
loopback, IPv6-only) is a unit test. `read_interfaces`, `read_platform` and `detect_lan` are
the thin layer that reads the real machine (netifaces, /proc, /etc/resolv.conf).

Ranking: addresses on virtual adapters (Docker, libvirt, VMware, VirtualBox, VPN tunnels,
WSL's vEthernet), loopback and link-local are skipped; of the rest, the interface of the
default IPv4 route wins, then private ranges 192.168/16 > 172.16/12 > 10/8 > anything else,
then names that look like Wi-Fi/Ethernet. A VPN holding the default route is not used:
phones are not on the VPN, so devkit falls back to the physical LAN interface and says so.
"""

from __future__ import annotations

import ipaddress
import os
import platform as _platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.errors import ConfigError

LOOPBACK_HOST = "127.0.0.1"
OVERRIDE_VARS = ("DEVKIT_LAN_HOST", "REACT_NATIVE_PACKAGER_HOSTNAME")
WSL_DNS_TUNNEL = "10.255.255.254"  # WSL's DNS tunnelling resolver: not the Windows host

# (pattern on the interface name, reason it is skipped); first match wins.
_VIRTUAL_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"^docker\d*$", "Docker bridge (containers only)"),
        (r"^docker_gwbridge$", "Docker Swarm gateway bridge (containers only)"),
        (r"^br-[0-9a-f]+", "Docker network bridge (containers only)"),
        (r"^vethernet", "Hyper-V / WSL virtual switch (vEthernet)"),
        (r"^veth", "virtual Ethernet pair of a container"),
        (r"^(cni|flannel|cali|kube-|podman|lxcbr|lxdbr|cilium)", "container network"),
        (r"^virbr", "libvirt virtual bridge (VMs only)"),
        (r"^vmnet", "VMware virtual adapter (VMs only)"),
        (r"^vboxnet", "VirtualBox host-only adapter (VMs only)"),
        (r"^(utun|tun|tap|ipsec|ppp|gpd|wg|tailscale|zt|nordlynx|proton)", "VPN tunnel"),
        (r"^(awdl|llw|anpi|ap\d|bridge\d)", "Apple peer-to-peer / VM bridge adapter"),
    )
)
_VPN_REASON = "VPN tunnel"
_PHYSICAL_NAMES = re.compile(r"^(en|eth|wl|wlan|wi-?fi|ethernet|wlp|enp|eno|ens)", re.IGNORECASE)
_VBOX_HOST_ONLY = ipaddress.ip_network("192.168.56.0/24")
_LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # Tailscale and carrier NAT
_PRIVATE_RANK = (
    (ipaddress.ip_network("192.168.0.0/16"), 3),
    (ipaddress.ip_network("172.16.0.0/12"), 2),
    (ipaddress.ip_network("10.0.0.0/8"), 1),
)


@dataclass(frozen=True)
class Interface:
    """One network interface: its name and addresses (IPv4 and IPv6, without scope suffix)."""

    name: str
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlatformInfo:
    """Facts about the machine that change the advice (injectable for tests)."""

    system: str = "Linux"  # platform.system(): Linux | Darwin | Windows
    wsl: bool = False
    windows_host: str | None = None  # Windows host address seen from WSL2
    default_gateway: str | None = None


@dataclass(frozen=True)
class Candidate:
    """An address considered for the LAN choice, and why it was kept or skipped."""

    name: str
    address: str
    kept: bool
    reason: str

    @property
    def is_loopback(self) -> bool:
        return self.reason.startswith("loopback")


@dataclass(frozen=True)
class WslAdvice:
    """What a person on WSL2 must run on Windows so phones reach the WSL address."""

    wsl_address: str
    windows_host: str | None
    commands: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class LanChoice:
    host: str
    interface: str | None
    reason: str
    candidates: tuple[Candidate, ...] = ()
    warnings: tuple[str, ...] = ()
    source: str = "detected"  # detected | --host | DEVKIT_LAN_HOST | ... | fallback
    wsl: WslAdvice | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """What a change of network is judged on (the watcher compares this)."""
        return (self.host, self.interface)

    @property
    def phones_can_reach(self) -> bool:
        return not is_loopback_host(self.host)

    def as_dict(self) -> dict[str, object]:
        return {
            "host": self.host,
            "interface": self.interface,
            "reason": self.reason,
            "source": self.source,
            "warnings": list(self.warnings),
            "candidates": [
                {"name": c.name, "address": c.address, "kept": c.kept, "reason": c.reason}
                for c in self.candidates
            ],
            "wsl": None
            if self.wsl is None
            else {
                "wsl_address": self.wsl.wsl_address,
                "windows_host": self.wsl.windows_host,
                "commands": list(self.wsl.commands),
                "note": self.wsl.note,
            },
        }


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def classify(name: str, address: str) -> tuple[bool, str, int]:
    """(kept, reason, private rank) for one IPv4 address on interface `name`."""
    addr = ipaddress.IPv4Address(address)
    if addr.is_loopback or name in ("lo", "lo0"):
        return False, "loopback: only this computer can use it", 0
    if addr in _LINK_LOCAL:
        return False, "link-local 169.254.x.x: the interface got no DHCP lease", 0
    for pattern, reason in _VIRTUAL_NAMES:
        if pattern.search(name):
            return False, reason, 0
    if addr in _VBOX_HOST_ONLY:
        return False, "VirtualBox host-only network 192.168.56.0/24 (VMs only)", 0
    for network, rank in _PRIVATE_RANK:
        if addr in network:
            return True, f"private network {network}", rank
    if addr in _CGNAT:
        return True, "shared address space 100.64.0.0/10 (often a VPN such as Tailscale)", -1
    return True, "not a private range (public or unusual address)", 0


def _is_vpn(name: str) -> bool:
    return any(p.search(name) and r == _VPN_REASON for p, r in _VIRTUAL_NAMES)


def _override(env: Mapping[str, str], host_override: str | None) -> tuple[str, str] | None:
    sources = [("--host", host_override)] + [(n, env.get(n)) for n in OVERRIDE_VARS]
    for source, value in sources:
        value = (value or "").strip()
        if not value:
            continue
        if "://" in value or "/" in value or " " in value or ":" in value.strip("[]"):
            try:
                ipaddress.IPv6Address(value.strip("[]"))
            except ValueError:
                raise ConfigError(
                    f"{source}={value!r} is not an address or host name",
                    f"give a bare address such as 192.168.1.23 (no scheme or port) in {source}",
                ) from None
        return source, value
    return None


def choose_lan(
    interfaces: Sequence[Interface],
    default_route_iface: str | None,
    env: Mapping[str, str] | None = None,
    platform_info: PlatformInfo | None = None,
    *,
    host_override: str | None = None,
    api_port: int = 5000,
    metro_port: int = 8081,
) -> LanChoice:
    """Pick the address phones should use, listing every candidate with its reason."""
    env = env or {}
    info = platform_info or PlatformInfo()
    candidates: list[Candidate] = []
    ranked: list[tuple[tuple[int, int, int, int], Candidate]] = []
    ipv6_global: list[str] = []
    for order, iface in enumerate(interfaces):
        for address in iface.ipv4:
            kept, reason, rank = classify(iface.name, address)
            is_default = iface.name == default_route_iface
            if kept and is_default:
                reason = f"default route; {reason}"
            cand = Candidate(iface.name, address, kept, reason)
            candidates.append(cand)
            if kept:
                physical = 1 if _PHYSICAL_NAMES.search(iface.name) else 0
                ranked.append(((1 if is_default else 0, rank, physical, -order), cand))
        for address in iface.ipv6:
            addr = ipaddress.IPv6Address(address.split("%")[0])
            if not (addr.is_loopback or addr.is_link_local):
                ipv6_global.append(f"{address} ({iface.name})")

    warnings: list[str] = []
    override = _override(env, host_override)
    if override is not None:
        source, host = override
        if is_loopback_host(host):
            warnings.append(f"{source} is {host}: phones cannot reach it (emulators still can)")
        return LanChoice(
            host=host,
            interface=None,
            reason=f"set by {source}",
            candidates=tuple(candidates),
            warnings=tuple(warnings),
            source=source,
        )

    vpn_default = default_route_iface is not None and _is_vpn(default_route_iface)
    if not ranked:
        if ipv6_global:
            warnings.append(
                "this computer has only IPv6 addresses (" + ", ".join(ipv6_global[:3]) + "): "
                "Expo Go and the exp:// URL need an IPv4 LAN address, so phones cannot connect. "
                "Join a network that hands out IPv4 (DHCP) or set DEVKIT_LAN_HOST to a name "
                "phones resolve; simulators and emulators still work through localhost/10.0.2.2"
            )
            reason = "no IPv4 LAN address (IPv6 only)"
        else:
            skipped = ", ".join(f"{c.name} ({c.reason})" for c in candidates if not c.is_loopback)
            warnings.append(
                "no network interface has a LAN address"
                + (f" (skipped: {skipped})" if skipped else "")
                + ": phones cannot reach 127.0.0.1. Simulators and emulators still can "
                "(iOS simulator: localhost, Android emulator: 10.0.2.2, device via adb reverse). "
                "Connect to Wi-Fi/Ethernet or set DEVKIT_LAN_HOST"
            )
            reason = "only loopback available"
        return LanChoice(
            host=LOOPBACK_HOST,
            interface=None,
            reason=reason,
            candidates=tuple(candidates),
            warnings=tuple(warnings),
            source="fallback",
        )

    ranked.sort(key=lambda item: item[0], reverse=True)
    best = ranked[0][1]
    if vpn_default:
        warnings.append(
            f"the default route goes through the VPN {default_route_iface}: using the physical "
            f"LAN interface {best.name} ({best.address}) instead. If phones still cannot "
            "connect, the VPN may block LAN traffic: allow local network access or disconnect it"
        )
    elif default_route_iface and best.name != default_route_iface:
        warnings.append(
            f"the default route's interface {default_route_iface} has no usable "
            f"address; using {best.name}"
        )
    if len(ranked) > 1:
        others = ", ".join(f"{c.address} ({c.name})" for _, c in ranked[1:4])
        warnings.append(
            f"other LAN addresses: {others}; if phones are on one of those "
            "networks, run with --host ADDRESS"
        )
    wsl = wsl_advice(best.address, info, api_port, metro_port) if info.wsl else None
    if wsl is not None:
        warnings.append(wsl.note)
    return LanChoice(
        host=best.address,
        interface=best.name,
        reason=best.reason,
        candidates=tuple(candidates),
        warnings=tuple(warnings),
        wsl=wsl,
    )


def wsl_advice(wsl_address: str, info: PlatformInfo, api_port: int, metro_port: int) -> WslAdvice:
    """Windows commands that forward the API and Metro ports to the WSL2 address."""
    addr = ipaddress.IPv4Address(wsl_address)
    mirrored = addr not in ipaddress.ip_network("172.16.0.0/12")
    commands: list[str] = []
    if not mirrored:
        for port in (api_port, metro_port):
            commands.append(
                f"netsh interface portproxy add v4tov4 listenport={port} listenaddress=0.0.0.0 "
                f"connectport={port} connectaddress={wsl_address}"
            )
    for port, what in ((api_port, "API"), (metro_port, "Metro")):
        commands.append(
            f'New-NetFirewallRule -DisplayName "devkit {what} {port}" -Direction Inbound '
            f"-Action Allow -Protocol TCP -LocalPort {port}"
        )
    host = info.windows_host or "unknown"
    if mirrored:
        note = (
            f"running in WSL2 with mirrored networking: phones reach {wsl_address} once the "
            "Windows firewall allows the ports (run the commands in an admin PowerShell)"
        )
    else:
        note = (
            f"running in WSL2 (NAT): phones cannot reach the WSL address {wsl_address}. "
            "In an admin PowerShell on Windows run the commands below, then give phones "
            f"the Windows Wi-Fi address (ipconfig; the Windows host is {host} from WSL): "
            "devkit up --host WINDOWS_WIFI_IP. The WSL address changes on restart: re-run them"
        )
    return WslAdvice(
        wsl_address=wsl_address, windows_host=info.windows_host, commands=tuple(commands), note=note
    )


# --- reading the real machine ------------------------------------------------------------


def read_interfaces() -> tuple[list[Interface], str | None]:
    """The machine's interfaces (netifaces) and the interface of the default IPv4 route."""
    import netifaces

    result: list[Interface] = []
    for name in netifaces.interfaces():
        try:
            addrs = netifaces.ifaddresses(name)
        except ValueError:  # interface vanished between the two calls
            continue
        v4 = tuple(a["addr"] for a in addrs.get(netifaces.AF_INET, []) if a.get("addr"))
        v6 = tuple(
            a["addr"].split("%")[0] for a in addrs.get(netifaces.AF_INET6, []) if a.get("addr")
        )
        result.append(Interface(name, v4, v6))
    return result, _default_route(netifaces, 1)


def default_gateway() -> str | None:
    import netifaces

    return _default_route(netifaces, 0)


def _default_route(netifaces: Any, field: int) -> str | None:
    """Field 0 (gateway address) or 1 (interface) of the default IPv4 route, or None."""
    gateways: Any = netifaces.gateways()
    default = gateways.get("default", {}).get(netifaces.AF_INET)
    return str(default[field]) if default else None


def read_platform(
    env: Mapping[str, str] | None = None,
    osrelease: Path = Path("/proc/sys/kernel/osrelease"),
    resolv_conf: Path = Path("/etc/resolv.conf"),
    system: str | None = None,
    gateway: str | None = None,
) -> PlatformInfo:
    """Platform facts; every source is a parameter so tests can point at their own files."""
    env = os.environ if env is None else env
    system = system or _platform.system()
    try:
        release = osrelease.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        release = ""
    wsl = system == "Linux" and ("microsoft" in release or bool(env.get("WSL_DISTRO_NAME")))
    windows_host = None
    if wsl:
        windows_host = _nameserver(resolv_conf)
        if windows_host in (None, WSL_DNS_TUNNEL) or is_loopback_host(windows_host or ""):
            windows_host = gateway
    return PlatformInfo(system=system, wsl=wsl, windows_host=windows_host, default_gateway=gateway)


def _nameserver(path: Path) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                return str(ipaddress.IPv4Address(parts[1]))
            except ValueError:
                continue
    return None


def lookup_env(settings_env: Mapping[str, str]) -> dict[str, str]:
    """Override variables: the process environment wins over .env (dotenv's convention)."""
    merged = {k: v for k, v in settings_env.items() if k in OVERRIDE_VARS and v}
    merged.update({k: os.environ[k] for k in OVERRIDE_VARS if os.environ.get(k)})
    return merged


def detect_lan(
    settings_env: Mapping[str, str],
    host_override: str | None = None,
    *,
    api_port: int = 5000,
    metro_port: int = 8081,
) -> LanChoice:
    """Read the machine and choose (see `choose_lan`). Cheap: a few ms, safe to poll."""
    interfaces, default_iface = read_interfaces()
    info = read_platform(gateway=default_gateway())
    return choose_lan(
        interfaces,
        default_iface,
        lookup_env(settings_env),
        info,
        host_override=host_override,
        api_port=api_port,
        metro_port=metro_port,
    )
