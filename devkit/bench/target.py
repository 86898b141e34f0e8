"""Where the load goes: the running dev API by default, any URL on this machine otherwise,
and a remote one only when the user says so (--allow-remote)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

from devkit.errors import DevkitError
from devkit.settings.config import Settings


def running_api_url(state_dir: Path) -> str | None:
    """The API URL a running `devkit up` recorded in .devkit/runstate.json."""
    from devkit.core.runstate import lock_is_held, read_state

    try:
        if not lock_is_held(state_dir):
            return None
        state = read_state(state_dir) or {}
    except OSError:
        return None
    api = (state.get("components") or {}).get("api") or {}
    url = api.get("url") if isinstance(api, dict) else None
    return url if isinstance(url, str) and url.startswith("http") else None


def default_base_url(settings: Settings) -> str:
    """The dev API: from the run state when devkit up runs, else PORT from .env."""
    return running_api_url(settings.state_dir) or f"http://127.0.0.1:{settings.api_port}"


def split_base(url: str) -> tuple[str, str]:
    """'http://h:1/api/notes' -> ('http://h:1', '/api/notes'); a bare base gives path ''."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DevkitError(
            f"{url!r} is not an http(s) URL",
            "give the API's base URL, e.g. http://127.0.0.1:5000 (or nothing: the dev API)",
        )
    path = parts.path.rstrip("/")
    if parts.query:
        path += "?" + parts.query
    return f"{parts.scheme}://{parts.netloc}", path


def own_addresses() -> set[str]:
    """Every address of this machine's interfaces (scope suffixes removed)."""
    import psutil

    found: set[str] = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                found.add(addr.address.split("%", 1)[0])
    return found


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise DevkitError(
            f"cannot resolve {host!r}: {exc.strerror}", "check the host name in the URL"
        ) from None
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def is_local(host: str, mine: set[str] | None = None) -> tuple[bool, list[str]]:
    """(every address `host` resolves to is loopback or this machine's, those addresses)."""
    addresses = resolve(host)
    mine = own_addresses() if mine is None else mine
    local = bool(addresses) and all(
        ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_unspecified or a in mine
        for a in addresses
    )
    return local, addresses


def check_local(url: str, allow_remote: bool) -> None:
    """Refuse a load test against another machine unless the user allowed it."""
    host = urlsplit(url).hostname or ""
    local, addresses = is_local(host)
    if not local and not allow_remote:
        raise DevkitError(
            f"{host} ({', '.join(addresses)}) is not this machine: devkit bench loads only "
            "local servers by default",
            "add --allow-remote if you mean to load that server (staging, your Swarm stack)",
        )
