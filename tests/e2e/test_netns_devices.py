"""Real devices stood in by network namespaces: an Android emulator and a phone on Wi-Fi.

The API is the real server (`python -m server`, bound to 0.0.0.0 as in development) on a real
PostgreSQL; Metro is the stand-in /status server. Under test: the addresses, URLs and QR codes
devkit produces lead each device to the API, and PostgreSQL stays unreachable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from devkit.reach.lan import PlatformInfo, choose_lan, read_interfaces
from devkit.reach.lancheck import check_lan_reach
from devkit.reach.netwatch import NetworkWatcher
from devkit.reach.targets import device_targets
from tests.support.devkit_proc import Output, kill_everything_recorded
from tests.support.devkit_proc import devkit as devkit_proc
from tests.support.live_server import server_env
from tests.support.netns import (
    CONNECT,
    FETCH,
    Namespace,
    StatusServer,
    free_private_subnet,
    subnet_in_use,
    unavailable_reason,
)
from tests.support.ports import free_port
from tests.support.stack import make_stack_project

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def netns_ok() -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def namespaces(request):
    made: list[Namespace] = []

    def make(role: str, host_ip: str, ns_ip: str) -> Namespace:
        ns = Namespace(role, host_ip, ns_ip)
        made.append(ns)
        request.addfinalizer(ns.delete)
        return ns.create()

    return make


@pytest.fixture
def servers(request):
    def start(host: str, port: int, kind: str = "api") -> StatusServer:
        server = StatusServer(host, port, kind)
        request.addfinalizer(server.stop)
        return server

    return start


@pytest.fixture
def real_api(run_server, pg_url, tmp_path):
    """The AIOS API as a process on 0.0.0.0:PORT with a reachable database."""

    def start(port: int):
        server = run_server(
            server_env(pg_url, tmp_path / "api-logs", PORT=str(port), APP_ENV="development")
        )
        server.wait_listening()
        return server

    return start


@pytest.fixture
def phone_net():
    network = free_private_subnet()
    hosts = list(network.hosts())
    return str(hosts[0]), str(hosts[49])


def fetch(ns: Namespace, url: str, timeout: float = 5.0) -> str:
    result = ns.python(FETCH, url, str(timeout))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def devkit(root, *args) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEVKIT_LAN_HOST", "REACT_NATIVE_PACKAGER_HOSTNAME", "DEVKIT_ROOT")
    }
    env["COLUMNS"] = "120"
    result = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def project(tmp_path, api_port: int, metro_port: int):
    (tmp_path / "pyproject.toml").write_text("[tool.devkit]\n")
    (tmp_path / ".env").write_text(f"PORT={api_port}\nMETRO_PORT={metro_port}\n")
    return tmp_path


def test_android_emulator_reaches_api_and_metro_at_10_0_2_2(
    netns_ok, namespaces, servers, real_api
):
    if subnet_in_use(ipaddress.IPv4Network("10.0.2.0/24")):
        pytest.skip("10.0.2.0/24 is already routed on this host (another emulator test?)")
    api_port, metro_port = free_port(), free_port()
    real_api(api_port)
    servers("0.0.0.0", metro_port, "metro")
    emulator = namespaces("emu", "10.0.2.2", "10.0.2.15")

    targets = {t.kind: t for t in device_targets("192.168.1.23", api_port, metro_port)}
    target = targets["android-emulator"]
    assert target.api_status_url == f"http://10.0.2.2:{api_port}/status"
    answer = fetch(emulator, target.api_status_url)
    assert answer.startswith("200 "), answer
    assert json.loads(answer[4:])["status"] == "ok" and json.loads(answer[4:])["db"] == "ok"
    metro = fetch(emulator, f"http://{target.host}:{metro_port}/status")
    assert metro == "200 packager-status:running"
    # the phone's LAN URL means nothing to the emulator: there is no such network inside it
    assert fetch(emulator, targets["phone"].api_status_url, timeout=1).startswith("ERROR")


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not installed (zbar-tools)")
def test_phone_scans_devkit_qr_reaches_api_but_not_postgres(
    netns_ok, namespaces, real_api, phone_net, pg_cluster, tmp_path
):
    host_ip, phone_ip = phone_net
    api_port, metro_port = free_port(), free_port()
    (tmp_path / "proj").mkdir()
    root = project(tmp_path / "proj", api_port, metro_port)
    real_api(api_port)
    phone = namespaces("phone", host_ip, phone_ip)

    # real detection sees the new interface and keeps it as a LAN candidate
    listing = json.loads(devkit(root, "urls", "--json", "--all"))
    assert {
        "name": phone.host_if,
        "address": host_ip,
        "kept": True,
        "reason": "private network 192.168.0.0/16",
    } in listing["lan"]["candidates"]

    # with that address chosen, devkit checks the API answers on it
    chosen = json.loads(devkit(root, "urls", "--json", "--host", host_ip))
    assert chosen["health"]["api"] == "ok"
    assert chosen["lan_reach"]["ok"] is True

    png = tmp_path / "qr.png"
    devkit(root, "qr", "--host", host_ip, "--png", str(png))
    decode = [
        subprocess.run(
            ["zbarimg", "--raw", "-q", str(p)], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        for p in (png, tmp_path / "qr-api.png")
    ]
    assert decode[0] == f"exp://{host_ip}:{metro_port}"
    api_status_url = decode[1]
    assert api_status_url == f"http://{host_ip}:{api_port}/status"

    answer = fetch(phone, api_status_url)
    assert answer.startswith("200 "), answer
    assert json.loads(answer[4:])["db"] == "ok"

    # PostgreSQL listens on 127.0.0.1 only: from the phone its port is closed, fast
    reach_pg = phone.python(CONNECT, host_ip, str(pg_cluster.port), "3").stdout.strip()
    assert reach_pg.startswith("CLOSED"), reach_pg
    # ...while the same path to the API is open (so the refusal is not a dead link)
    assert phone.python(CONNECT, host_ip, str(api_port), "3").stdout.strip() == "OPEN"
    # ...and PostgreSQL itself is up on loopback
    assert (
        subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", str(pg_cluster.port)],
            capture_output=True,
            timeout=30,
        ).returncode
        == 0
    )


def test_lan_check_names_an_api_bound_to_loopback_only(netns_ok, namespaces, servers, phone_net):
    host_ip, phone_ip = phone_net
    namespaces("lan", host_ip, phone_ip)
    loop_only, everywhere = free_port(), free_port()
    servers("127.0.0.1", loop_only, "api")
    servers("0.0.0.0", everywhere, "api")
    info = PlatformInfo(system="Linux")
    bad = check_lan_reach(
        host_ip,
        loop_only,
        info,
        extra_ports=(8081,),
        timeout=2,
        which=lambda name: "/usr/sbin/ufw" if name == "ufw" else None,
    )
    assert not bad.ok
    assert "listens on 127.0.0.1 only" in bad.detail
    assert "0.0.0.0" in bad.hint and f"sudo ufw allow {loop_only}/tcp" in bad.hint
    good = check_lan_reach(host_ip, everywhere, info, timeout=2)
    assert good.ok and good.url == f"http://{host_ip}:{everywhere}/status"


def lan_of(interface):
    """A detect() for NetworkWatcher that sees only the test's own interface."""

    def detect():
        interfaces, _ = read_interfaces()
        ours = [i for i in interfaces if i.name == interface]
        return choose_lan(ours, interface, {})

    return detect


async def test_watcher_notices_an_address_change_through_netlink(netns_ok, namespaces, phone_net):
    host_ip, phone_ip = phone_net
    ns = namespaces("watch", host_ip, phone_ip)
    new_ip = str(ipaddress.IPv4Address(host_ip) + 1)

    detect = lan_of(ns.host_if)

    seen = []
    changed = asyncio.Event()

    def on_change(choice):
        seen.append(choice.host)
        if choice.host == new_ip:
            changed.set()

    # an hour between polls: only a netlink wake-up can report the change in time
    watcher = NetworkWatcher(detect, on_change, interval=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        async with asyncio.timeout(10):
            while watcher.checks < 1:
                await asyncio.sleep(0.01)
        assert watcher.current.host == host_ip and watcher.netlink_active
        # (deleting the primary address first: it would take secondaries with it)
        for argv in (
            ["ip", "addr", "del", f"{host_ip}/24", "dev", ns.host_if],
            ["ip", "addr", "add", f"{new_ip}/24", "dev", ns.host_if],
        ):
            subprocess.run(argv, check=True, capture_output=True, timeout=10)
        await asyncio.wait_for(changed.wait(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert seen[-1] == new_ip and watcher.current.host == new_ip


async def test_netlink_churn_costs_one_detection_per_min_gap(netns_ok, namespaces, phone_net):
    """Kernel messages without end (containers, namespaces) wake at most one detection per
    netlink_min_gap, and a real change that comes during the churn is still seen."""
    host_ip, phone_ip = phone_net
    ns = namespaces("churn", host_ip, phone_ip)
    spare = str(ipaddress.IPv4Address(host_ip) + 7)
    new_ip = str(ipaddress.IPv4Address(host_ip) + 1)

    detect = lan_of(ns.host_if)

    seen = []
    watcher = NetworkWatcher(detect, lambda c: seen.append(c.host), 3600, netlink_min_gap=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    try:
        async with asyncio.timeout(10):
            while watcher.checks < 1:
                await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        checks_before, began, changed = watcher.checks, loop.time(), False
        while (churn := loop.time() - began) < 4.0:  # an address comes and goes: no change
            await asyncio.to_thread(ip, "addr", "add", f"{spare}/32", "dev", ns.host_if)
            await asyncio.to_thread(ip, "addr", "del", f"{spare}/32", "dev", ns.host_if)
            if churn > 2.5 and not changed:  # the one real change, amid the churn
                await asyncio.to_thread(ip, "addr", "del", f"{host_ip}/24", "dev", ns.host_if)
                await asyncio.to_thread(ip, "addr", "add", f"{new_ip}/24", "dev", ns.host_if)
                changed = True
        async with asyncio.timeout(10):
            while watcher.current.host != new_ip:
                await asyncio.sleep(0.01)
        assert watcher.checks - checks_before <= churn / 1.0 + 2, (watcher.checks, churn)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert seen == [new_ip]


def test_devkit_up_serves_a_phone_on_the_lan(netns_ok, namespaces, phone_net, tmp_path):
    """The whole stack under `devkit up`, a phone on the LAN: devkit checks the API answers on
    the LAN address (and says so), and the phone reaches the API and Metro there."""
    host_ip, phone_ip = phone_net
    phone = namespaces("upphone", host_ip, phone_ip)
    stack = make_stack_project(tmp_path / "aios")
    out = Output(devkit_proc(stack.root, "up", "--headless", "--host", host_ip))
    try:
        out.wait("all components healthy", timeout=60)
        out.wait(f"phones reach the API: the API answers on {host_ip}:{stack.api_port}", timeout=15)
        answer = fetch(phone, f"http://{host_ip}:{stack.api_port}/status")
        assert answer.startswith("200 ") and json.loads(answer[4:])["db"] == "ok", answer
        assert (
            fetch(phone, f"http://{host_ip}:{stack.metro_port}/status")
            == "200 packager-status:running"
        )
        # Metro was told the LAN address, so the bundle URLs it hands out work on the phone
        assert out.has(f"host={host_ip} api=http://{host_ip}:{stack.api_port}")
        # ...and the summary says what the app gets, not a per-device URL it never sees
        assert out.has(f"the app calls EXPO_PUBLIC_API_URL=http://{host_ip}:{stack.api_port}")
        assert not out.has(f"http://10.0.2.2:{stack.api_port}  expo")
    finally:
        out.proc.send_signal(signal.SIGTERM)
        out.proc.wait(timeout=30)
        kill_everything_recorded(stack.root)


def test_the_one_api_url_the_app_gets_serves_the_emulator_and_the_phone(
    netns_ok, namespaces, servers, real_api, phone_net, tmp_path
):
    """devkit builds one bundle with EXPO_PUBLIC_API_URL = the LAN address. `devkit urls`
    says so and claims it serves emulators and phones alike: both reach it. (The emulator's
    namespace routes through its host alias 10.0.2.2, as the emulator's virtual router does.)"""
    if subnet_in_use(ipaddress.IPv4Network("10.0.2.0/24")):
        pytest.skip("10.0.2.0/24 is already routed on this host (another emulator test?)")
    host_ip, phone_ip = phone_net
    api_port, metro_port = free_port(), free_port()
    (tmp_path / "proj").mkdir()
    root = project(tmp_path / "proj", api_port, metro_port)
    real_api(api_port)
    servers("0.0.0.0", metro_port, "metro")
    phone = namespaces("one", host_ip, phone_ip)
    emulator = namespaces("oneemu", "10.0.2.2", "10.0.2.15")
    subprocess.run(
        ["ip", "-n", emulator.name, "route", "add", "default", "via", "10.0.2.2"],
        check=True,
        capture_output=True,
        timeout=10,
    )

    data = json.loads(devkit(root, "urls", "--json", "--host", host_ip))
    app = data["app"]
    assert app["EXPO_PUBLIC_API_URL"] == f"http://{host_ip}:{api_port}"
    assert app["REACT_NATIVE_PACKAGER_HOSTNAME"] == host_ip
    assert {"Android emulator", "phones on the same Wi-Fi"} <= set(app["serves"])
    assert all("expo_public_api_url" not in t for t in data["targets"])
    for device in (emulator, phone):
        answer = fetch(device, app["EXPO_PUBLIC_API_URL"] + "/status")
        assert answer.startswith("200 ") and json.loads(answer[4:])["db"] == "ok", answer
        metro = fetch(device, f"http://{app['REACT_NATIVE_PACKAGER_HOSTNAME']}:{metro_port}/status")
        assert metro == "200 packager-status:running"
    text = devkit(root, "urls", "--host", host_ip)
    assert f"the app calls EXPO_PUBLIC_API_URL=http://{host_ip}:{api_port}" in text
    assert "USB device without Wi-Fi: run devkit up --host localhost" in text
