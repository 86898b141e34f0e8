"""LAN choice over injected interface tables: the machines that fool other tools."""

from __future__ import annotations

import pytest

from devkit.errors import ConfigError
from devkit.reach.lan import Interface, PlatformInfo, choose_lan, classify

LO = Interface("lo", ("127.0.0.1",), ("::1",))


def kept(choice, name):
    return [c for c in choice.candidates if c.name == name and c.kept]


def skipped_reason(choice, name):
    [cand] = [c for c in choice.candidates if c.name == name]
    assert not cand.kept
    return cand.reason


def test_wifi_default_route_is_chosen():
    table = [LO, Interface("en0", ("192.168.1.23",), ("fe80::1",))]
    choice = choose_lan(table, "en0", {})
    assert (choice.host, choice.interface, choice.source) == ("192.168.1.23", "en0", "detected")
    assert "default route" in choice.reason
    assert choice.warnings == ()
    assert choice.phones_can_reach
    assert skipped_reason(choice, "lo").startswith("loopback")


def test_docker_and_vpn_present_falls_back_to_physical_lan_with_warning():
    table = [
        LO,
        Interface("docker0", ("172.17.0.1",)),
        Interface("br-3f2a9c1d", ("172.18.0.1",)),
        Interface("veth12ab", ("169.254.3.3",)),
        Interface("wlan0", ("10.1.4.20",)),
        Interface("tun0", ("10.8.0.6",)),
    ]
    choice = choose_lan(table, "tun0", {})
    assert (choice.host, choice.interface) == ("10.1.4.20", "wlan0")
    assert any("VPN tun0" in w and "wlan0" in w for w in choice.warnings)
    assert "Docker" in skipped_reason(choice, "docker0")
    assert "Docker" in skipped_reason(choice, "br-3f2a9c1d")
    assert skipped_reason(choice, "tun0") == "VPN tunnel"
    assert "169.254" in skipped_reason(choice, "veth12ab") or "link-local" in skipped_reason(
        choice, "veth12ab"
    )


@pytest.mark.parametrize("vpn", ["utun3", "wg0", "tailscale0", "ztabcdef", "ipsec0", "tap1"])
def test_every_vpn_kind_is_skipped(vpn):
    table = [Interface("en0", ("192.168.0.5",)), Interface(vpn, ("10.99.0.2",))]
    choice = choose_lan(table, vpn, {})
    assert choice.host == "192.168.0.5"
    assert any("VPN" in w for w in choice.warnings)


def test_virtualbox_host_only_adapter_is_skipped_even_when_listed_first():
    table = [
        Interface("vboxnet0", ("192.168.56.1",)),
        Interface("eth1", ("192.168.56.10",)),
        Interface("eth0", ("172.20.10.4",)),
    ]
    choice = choose_lan(table, "eth0", {})
    assert choice.host == "172.20.10.4"
    assert "VirtualBox" in skipped_reason(choice, "vboxnet0")
    assert "VirtualBox" in skipped_reason(choice, "eth1")  # by the 192.168.56.0/24 range


def test_wsl2_nat_gives_portproxy_and_firewall_commands():
    table = [LO, Interface("eth0", ("172.28.144.7",))]
    info = PlatformInfo(system="Linux", wsl=True, windows_host="172.28.144.1")
    choice = choose_lan(table, "eth0", {}, info, api_port=5001, metro_port=8082)
    assert choice.host == "172.28.144.7"
    assert choice.wsl is not None
    assert choice.wsl.commands[:2] == (
        "netsh interface portproxy add v4tov4 listenport=5001 listenaddress=0.0.0.0 "
        "connectport=5001 connectaddress=172.28.144.7",
        "netsh interface portproxy add v4tov4 listenport=8082 listenaddress=0.0.0.0 "
        "connectport=8082 connectaddress=172.28.144.7",
    )
    assert any("New-NetFirewallRule" in c and "-LocalPort 5001" in c for c in choice.wsl.commands)
    assert any("-LocalPort 8082" in c for c in choice.wsl.commands)
    assert "phones cannot reach the WSL address 172.28.144.7" in choice.wsl.note
    assert "172.28.144.1" in choice.wsl.note
    assert choice.wsl.note in choice.warnings


def test_wsl2_vethernet_is_skipped_on_the_windows_side_name():
    table = [Interface("vEthernet (WSL)", ("172.28.144.1",)), Interface("Wi-Fi", ("192.168.8.4",))]
    choice = choose_lan(table, None, {}, PlatformInfo(system="Windows"))
    assert choice.host == "192.168.8.4"
    assert "vEthernet" in skipped_reason(choice, "vEthernet (WSL)")


def test_wsl2_mirrored_networking_needs_only_firewall_rules():
    info = PlatformInfo(system="Linux", wsl=True, windows_host=None)
    choice = choose_lan([Interface("eth1", ("192.168.1.40",))], "eth1", {}, info)
    assert choice.wsl is not None
    assert not any(c.startswith("netsh interface portproxy") for c in choice.wsl.commands)
    assert any("New-NetFirewallRule" in c for c in choice.wsl.commands)


def test_only_loopback_falls_back_to_127_with_clear_warning():
    choice = choose_lan([LO], None, {})
    assert choice.host == "127.0.0.1"
    assert choice.source == "fallback"
    assert not choice.phones_can_reach
    [warning] = choice.warnings
    assert "phones cannot reach 127.0.0.1" in warning
    assert "10.0.2.2" in warning  # emulators still can, and how


def test_only_virtual_adapters_names_what_was_skipped():
    choice = choose_lan([LO, Interface("docker0", ("172.17.0.1",))], None, {})
    assert choice.host == "127.0.0.1"
    assert "docker0 (Docker bridge" in choice.warnings[0]


def test_ipv6_only_explains_why_phones_cannot_connect():
    table = [LO, Interface("en0", (), ("fe80::1", "2001:db8::23"))]
    choice = choose_lan(table, None, {})
    assert choice.host == "127.0.0.1"
    assert choice.reason == "no IPv4 LAN address (IPv6 only)"
    assert "only IPv6" in choice.warnings[0] and "2001:db8::23" in choice.warnings[0]


def test_many_candidates_prefer_default_route_then_private_ranges():
    table = [
        Interface("eth2", ("10.0.0.9",)),
        Interface("eth3", ("172.16.5.5",)),
        Interface("eth4", ("203.0.113.8",)),
        Interface("eth5", ("192.168.10.2",)),
        Interface("virbr0", ("192.168.122.1",)),
        Interface("vmnet8", ("192.168.200.1",)),
        Interface("eth6", ("169.254.9.9",)),
    ]
    assert choose_lan(table, None, {}).host == "192.168.10.2"
    assert choose_lan(table, "eth2", {}).host == "10.0.0.9"  # default route wins
    no_192 = [i for i in table if i.name != "eth5"]
    assert choose_lan(no_192, None, {}).host == "172.16.5.5"
    only_10_and_public = [table[0], table[2]]
    assert choose_lan(only_10_and_public, None, {}).host == "10.0.0.9"
    choice = choose_lan(table, None, {})
    assert len(choice.candidates) == 7
    assert sum(c.kept for c in choice.candidates) == 4
    assert any("other LAN addresses" in w and "10.0.0.9" in w for w in choice.warnings)


def test_physical_name_breaks_ties_within_a_range():
    table = [Interface("foo0", ("192.168.3.3",)), Interface("wlp2s0", ("192.168.4.4",))]
    assert choose_lan(table, None, {}).interface == "wlp2s0"


def test_overrides_in_order_host_flag_then_env_vars():
    table = [Interface("en0", ("192.168.1.23",))]
    env = {"DEVKIT_LAN_HOST": "192.168.9.9", "REACT_NATIVE_PACKAGER_HOSTNAME": "10.9.9.9"}
    assert choose_lan(table, "en0", env, host_override="10.1.1.1").host == "10.1.1.1"
    choice = choose_lan(table, "en0", env)
    assert (choice.host, choice.source) == ("192.168.9.9", "DEVKIT_LAN_HOST")
    assert choice.candidates  # still listed for --all
    rn = choose_lan(table, "en0", {"REACT_NATIVE_PACKAGER_HOSTNAME": "mac.local"})
    assert (rn.host, rn.source) == ("mac.local", "REACT_NATIVE_PACKAGER_HOSTNAME")
    loop = choose_lan(table, "en0", {}, host_override="127.0.0.1")
    assert "phones cannot reach it" in loop.warnings[0]


@pytest.mark.parametrize("bad", ["http://192.168.1.2", "192.168.1.2:8081", "a b"])
def test_override_that_is_not_a_host_is_a_config_error(bad):
    with pytest.raises(ConfigError) as info:
        choose_lan([], None, {"DEVKIT_LAN_HOST": bad})
    assert "DEVKIT_LAN_HOST" in info.value.message and "no scheme or port" in info.value.hint


def test_classify_ranks():
    assert classify("en0", "192.168.1.1")[2] > classify("en0", "172.31.1.1")[2]
    assert classify("en0", "172.31.1.1")[2] > classify("en0", "10.1.1.1")[2]
    assert classify("en0", "172.32.0.1")[1].startswith("not a private range")
    assert (
        classify("en0", "100.100.1.1")[0] and "100.64.0.0/10" in classify("en0", "100.100.1.1")[1]
    )


def test_as_dict_is_json_ready():
    import json

    choice = choose_lan([LO, Interface("en0", ("192.168.1.23",))], "en0", {})
    data = json.loads(json.dumps(choice.as_dict()))
    assert data["host"] == "192.168.1.23"
    assert {
        "name": "lo",
        "address": "127.0.0.1",
        "kept": False,
        "reason": "loopback: only this computer can use it",
    } in data["candidates"]


def test_every_docker_made_bridge_is_skipped_as_the_readme_promises():
    """docker0, docker_gwbridge (after `docker swarm init`) and br-* user networks: containers
    only, never what a phone reaches; the Wi-Fi address wins without a 'kept' bridge."""
    table = [
        LO,
        Interface("docker0", ("172.17.0.1",)),
        Interface("docker_gwbridge", ("172.18.0.1",)),
        Interface("br-0123456789ab", ("172.19.0.1",)),
        Interface("wlan0", ("192.168.1.23",)),
    ]
    choice = choose_lan(table, "wlan0", {})
    assert choice.host == "192.168.1.23"
    for name in ("docker0", "docker_gwbridge", "br-0123456789ab"):
        assert "Docker" in skipped_reason(choice, name), name
    kept = [c.name for c in choice.candidates if c.kept]
    assert kept == ["wlan0"]
    assert not any("other LAN addresses" in w for w in choice.warnings)
