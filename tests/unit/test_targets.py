"""Device targets: the host each device kind uses and the URLs built from it."""

from __future__ import annotations

from devkit.reach.targets import device_targets, expo_url


def by_kind(targets):
    return {t.kind: t for t in targets}


def test_every_device_kind_with_its_host_and_urls():
    targets = by_kind(device_targets("192.168.1.23", 5001, 8082))
    assert list(targets) == [
        "ios-simulator",
        "android-emulator",
        "genymotion",
        "phone",
        "adb-reverse",
    ]
    expected_hosts = {
        "ios-simulator": "localhost",
        "android-emulator": "10.0.2.2",
        "genymotion": "10.0.3.2",
        "phone": "192.168.1.23",
        "adb-reverse": "localhost",
    }
    for kind, host in expected_hosts.items():
        t = targets[kind]
        assert t.host == host
        assert t.api_url == f"http://{host}:5001"
        assert t.metro_url == f"exp://{host}:8082"
        assert t.expo_public_api_url == t.api_url
        assert t.api_status_url == f"http://{host}:5001/status"
        assert t.label and t.note


def test_adb_note_depends_on_adb():
    with_adb = by_kind(device_targets("192.168.1.23", 5000, 8081, adb_available=True))
    without = by_kind(device_targets("192.168.1.23", 5000, 8081, adb_available=False))
    assert "adb reverse tcp:5000 and tcp:8081" in with_adb["adb-reverse"].note
    assert "needs adb" in without["adb-reverse"].note


def test_loopback_lan_host_says_phones_cannot_reach():
    phone = by_kind(device_targets("127.0.0.1", 5000, 8081))["phone"]
    assert "cannot reach" in phone.note


def test_expo_url_and_ipv6_brackets():
    assert expo_url("192.168.1.23", 8081) == "exp://192.168.1.23:8081"
    assert expo_url("fd00::2", 8081) == "exp://[fd00::2]:8081"
    phone = by_kind(device_targets("fd00::2", 5000, 8081))["phone"]
    assert phone.api_url == "http://[fd00::2]:5000"
    assert phone.as_dict()["api_status_url"] == "http://[fd00::2]:5000/status"


def test_metro_env_advertises_the_lan_host_and_keeps_an_explicit_api_url():
    from devkit.reach.targets import metro_env

    assert metro_env("192.168.1.23", 5001) == {
        "REACT_NATIVE_PACKAGER_HOSTNAME": "192.168.1.23",
        "EXPO_PUBLIC_API_URL": "http://192.168.1.23:5001",
    }
    kept = metro_env("192.168.1.23", 5001, {"EXPO_PUBLIC_API_URL": "https://api.example.test"})
    assert kept["EXPO_PUBLIC_API_URL"] == "https://api.example.test"
    assert (
        metro_env("192.168.1.23", 5001, {"EXPO_PUBLIC_API_URL": ""})["EXPO_PUBLIC_API_URL"]
        == "http://192.168.1.23:5001"
    )
