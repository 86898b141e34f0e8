"""Firewall hints per OS and the live checks against real local servers."""

from __future__ import annotations

import pytest

from devkit.reach.lan import PlatformInfo
from devkit.reach.lancheck import check_lan_reach, firewall_hint, probe_local
from tests.support.netns import StatusServer
from tests.support.ports import free_port

LINUX = PlatformInfo(system="Linux")


def only(*tools):
    return lambda name: f"/usr/sbin/{name}" if name in tools else None


def test_linux_hint_follows_the_installed_firewall():
    assert firewall_hint(LINUX, [5000, 8081], only("ufw")) == (
        "ufw: sudo ufw allow 5000/tcp && sudo ufw allow 8081/tcp"
    )
    firewalld = firewall_hint(LINUX, [5000, 8081], only("firewall-cmd"))
    assert "sudo firewall-cmd --add-port=5000/tcp --add-port=8081/tcp" in firewalld
    assert "iptables -I INPUT -p tcp --dport 5000" in firewall_hint(LINUX, [5000], only())


def test_macos_and_windows_and_wsl_hints():
    mac = firewall_hint(PlatformInfo(system="Darwin"), [5000], only())
    assert "Application Firewall" in mac and "socketfilterfw" in mac
    for info in (PlatformInfo(system="Windows"), PlatformInfo(system="Linux", wsl=True)):
        hint = firewall_hint(info, [5001, 8082, 5001], only("ufw"))
        assert "New-NetFirewallRule" in hint and "-LocalPort 5001" in hint
        assert "-LocalPort 8082" in hint and "netsh advfirewall" in hint
        assert hint.count("-LocalPort 5001") == 1  # duplicates removed


@pytest.fixture
def api_and_metro():
    api_port, metro_port = free_port(), free_port()
    servers = [
        StatusServer("127.0.0.1", api_port, "api"),
        StatusServer("127.0.0.1", metro_port, "metro"),
    ]
    yield api_port, metro_port
    for server in servers:
        server.stop()


def test_probe_local_sees_running_api_and_metro(api_and_metro):
    api_port, metro_port = api_and_metro
    health = probe_local(api_port, metro_port)
    assert (health.api, health.metro) == ("ok", "ok")
    assert health.api_ok


def test_probe_local_reports_down_and_a_non_metro_answer(api_and_metro):
    api_port, _ = api_and_metro
    down = free_port()
    health = probe_local(down, api_port)  # the API stand-in sits on the "Metro" port
    assert health.api == "down"
    assert health.metro.startswith("answering but not Metro")


def test_check_reach_on_loopback_ok_and_not_running(api_and_metro):
    api_port, _ = api_and_metro
    ok = check_lan_reach("127.0.0.1", api_port, LINUX)
    assert ok.ok and ok.url == f"http://127.0.0.1:{api_port}/status"
    missing = check_lan_reach("127.0.0.1", free_port(), LINUX, timeout=0.5)
    assert not missing.ok and "does not answer" in missing.detail
    assert missing.hint == "start it with devkit up"
