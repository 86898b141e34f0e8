"""Each kind of device, the address it must use to reach this computer, and its URLs.

A simulator shares the Mac's network (localhost); the Android emulator reaches the host's
loopback through its alias 10.0.2.2 (Genymotion: 10.0.3.2); a phone on Wi-Fi needs the LAN
address; an Android device over USB can use localhost once `adb reverse` forwards the ports.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass

ANDROID_EMULATOR_HOST = "10.0.2.2"
GENYMOTION_HOST = "10.0.3.2"


@dataclass(frozen=True)
class Target:
    kind: str  # ios-simulator | android-emulator | genymotion | phone | adb-reverse
    label: str
    host: str
    api_url: str  # http://HOST:PORT (the API base URL)
    metro_url: str  # exp://HOST:METRO_PORT (what Expo Go opens)
    expo_public_api_url: str  # the EXPO_PUBLIC_API_URL value for this device
    note: str

    @property
    def api_status_url(self) -> str:
        return f"{self.api_url}/status"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "api_status_url": self.api_status_url}


def url_host(host: str) -> str:
    """A host as it goes into a URL: IPv6 addresses in brackets."""
    try:
        if isinstance(ipaddress.ip_address(host.strip("[]")), ipaddress.IPv6Address):
            return f"[{host.strip('[]')}]"
    except ValueError:
        pass
    return host


def api_url(host: str, api_port: int) -> str:
    return f"http://{url_host(host)}:{api_port}"


def expo_url(host: str, metro_port: int) -> str:
    """The URL Expo Go opens: exp://HOST:8081."""
    return f"exp://{url_host(host)}:{metro_port}"


def device_targets(
    lan_host: str, api_port: int, metro_port: int, adb_available: bool = False
) -> list[Target]:
    """One row per device kind, in the order a person usually looks for them."""

    def target(kind: str, label: str, host: str, note: str) -> Target:
        base = api_url(host, api_port)
        return Target(kind, label, host, base, expo_url(host, metro_port), base, note)

    if adb_available:
        adb_note = (
            f"devkit runs adb reverse tcp:{api_port} and tcp:{metro_port} "
            "for each connected device (re-applied on reconnect)"
        )
    else:
        adb_note = "needs adb (Android platform-tools) and a USB/Wi-Fi debugging device"
    return [
        target("ios-simulator", "iOS simulator", "localhost", "shares the Mac's network"),
        target(
            "android-emulator",
            "Android emulator (AVD)",
            ANDROID_EMULATOR_HOST,
            "the emulator's alias for this computer's loopback",
        ),
        target("genymotion", "Genymotion", GENYMOTION_HOST, "Genymotion's alias for this computer"),
        target(
            "phone",
            "Phone on the same Wi-Fi",
            lan_host,
            "the LAN address; the phone must be on the same network"
            if lan_host not in ("127.0.0.1", "localhost")
            else "no LAN address found: phones cannot reach this computer",
        ),
        target("adb-reverse", "Android device with adb reverse", "localhost", adb_note),
    ]


def metro_env(
    lan_host: str, api_port: int, settings_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for Metro (Expo CLI): the host it advertises in exp:// URLs and the API URL
    the app is built with. An EXPO_PUBLIC_API_URL set in .env wins over the computed one."""
    explicit = (settings_env or {}).get("EXPO_PUBLIC_API_URL", "")
    return {
        "REACT_NATIVE_PACKAGER_HOSTNAME": lan_host,
        "EXPO_PUBLIC_API_URL": explicit or api_url(lan_host, api_port),
    }
