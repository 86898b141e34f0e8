"""What the Expo app gets, and the address each kind of device uses to reach this computer.

The app: Metro builds ONE bundle for every device, with REACT_NATIVE_PACKAGER_HOSTNAME (where
Expo Go fetches the bundle) and EXPO_PUBLIC_API_URL (inlined into the code) both set to the
LAN address, which simulators, emulators and phones on the same Wi-Fi all reach. `app_config`
says so, which devices that serves and how to serve the others (a USB device without Wi-Fi:
`--host localhost` with adb reverse).

Per device (`device_targets`), for the device's browser or other tools (curl, a WebView): a
simulator shares the Mac's network (localhost); the Android emulator reaches the host's
loopback through its alias 10.0.2.2 (Genymotion: 10.0.3.2); a phone on Wi-Fi needs the LAN
address; an Android device over USB can use localhost once `adb reverse` forwards the ports.
These per-device addresses never reach the app's bundle.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from devkit.reach.lan import is_loopback_host

ANDROID_EMULATOR_HOST = "10.0.2.2"
GENYMOTION_HOST = "10.0.3.2"


@dataclass(frozen=True)
class Target:
    kind: str  # ios-simulator | android-emulator | genymotion | phone | adb-reverse
    label: str
    host: str
    api_url: str  # http://HOST:PORT: the API from this device's browser or tools
    metro_url: str  # exp://HOST:METRO_PORT: Metro from this device (the app uses AppConfig's)
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
        return Target(kind, label, host, base, expo_url(host, metro_port), note)

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


@dataclass(frozen=True)
class AppConfig:
    """What the app gets (one bundle for every device) and which devices that serves."""

    packager_host: str  # REACT_NATIVE_PACKAGER_HOSTNAME
    expo_url: str  # exp://HOST:METRO_PORT: the QR code, what Expo Go opens
    api_url: str  # EXPO_PUBLIC_API_URL, inlined into the bundle
    api_url_from_env: bool  # set in .env: devkit passes it through unchanged
    serves: tuple[str, ...]  # device kinds the app works on as configured
    others: tuple[tuple[str, str], ...] = field(default=())  # (device kind, how to serve it)

    def as_dict(self) -> dict[str, object]:
        return {
            "REACT_NATIVE_PACKAGER_HOSTNAME": self.packager_host,
            "EXPO_PUBLIC_API_URL": self.api_url,
            "api_url_from_env": self.api_url_from_env,
            "expo_url": self.expo_url,
            "serves": list(self.serves),
            "others": [{"device": device, "how": how} for device, how in self.others],
        }

    def lines(self, metro: bool = True, api: bool = True) -> list[str]:
        """The same few lines for `devkit urls`, the headless summary and the devices panel."""
        out = []
        if metro:
            out.append(f"Expo Go opens {self.expo_url} (the QR code)")
        if api:
            where = ".env sets" if self.api_url_from_env else "the app calls"
            out.append(f"{where} EXPO_PUBLIC_API_URL={self.api_url}")
        out.append("works on: " + ", ".join(self.serves))
        out += [f"{device}: {how}" for device, how in self.others]
        return out


def app_config(
    lan_host: str,
    api_port: int,
    metro_port: int,
    settings_env: Mapping[str, str] | None = None,
    adb_available: bool = True,
) -> AppConfig:
    """What Metro is started with (metro_env) and who can use it."""
    env = metro_env(lan_host, api_port, settings_env)
    from_env = bool((settings_env or {}).get("EXPO_PUBLIC_API_URL"))
    expo = expo_url(lan_host, metro_port)
    adb = "" if adb_available else " once adb (Android platform-tools) is installed"
    serves: tuple[str, ...]
    if is_loopback_host(lan_host.strip("[]")):
        serves = (
            "iOS simulator",
            f"Android emulator and USB devices through adb reverse{adb}",
        )
        others = (
            (
                "phones on Wi-Fi",
                "cannot reach localhost; connect this computer to their network and run "
                "devkit up without --host (or --host LAN_ADDRESS)",
            ),
        )
    else:
        serves = (
            "iOS simulator",
            "Android emulator",
            "Genymotion",
            "phones on the same Wi-Fi",
        )
        others = (
            (
                "USB device without Wi-Fi",
                f"run devkit up --host localhost; adb reverse then forwards tcp:{api_port} and "
                f"tcp:{metro_port}{adb}, and phones on Wi-Fi cannot connect",
            ),
        )
    return AppConfig(
        packager_host=env["REACT_NATIVE_PACKAGER_HOSTNAME"],
        expo_url=expo,
        api_url=env["EXPO_PUBLIC_API_URL"],
        api_url_from_env=from_env,
        serves=serves,
        others=others,
    )
