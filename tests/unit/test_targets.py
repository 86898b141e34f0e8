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
        assert "expo_public_api_url" not in t.as_dict()  # per device, it never reaches the app
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


def test_the_app_gets_the_lan_address_and_serves_every_device_on_it():
    """One bundle: EXPO_PUBLIC_API_URL and the packager host are the LAN address for every
    device; a USB device without Wi-Fi is told how (--host localhost)."""
    from devkit.reach.targets import app_config

    app = app_config("192.168.1.23", 5001, 8082, {})
    assert app.packager_host == "192.168.1.23"
    assert app.api_url == "http://192.168.1.23:5001" and not app.api_url_from_env
    assert app.expo_url == "exp://192.168.1.23:8082"
    assert app.serves == (
        "iOS simulator",
        "Android emulator",
        "Genymotion",
        "phones on the same Wi-Fi",
    )
    ((device, how),) = app.others
    assert device == "USB device without Wi-Fi" and "devkit up --host localhost" in how
    assert "adb reverse then forwards tcp:5001 and tcp:8082" in how
    text = "\n".join(app.lines())
    assert "the app calls EXPO_PUBLIC_API_URL=http://192.168.1.23:5001" in text
    assert "10.0.2.2" not in text and "localhost:5001" not in text


def test_the_app_on_localhost_serves_simulators_and_adb_reverse_not_wifi_phones():
    from devkit.reach.targets import app_config

    app = app_config("localhost", 5000, 8081, {}, adb_available=False)
    assert app.api_url == "http://localhost:5000"
    assert app.serves[0] == "iOS simulator"
    assert "adb reverse once adb (Android platform-tools) is installed" in app.serves[1]
    assert app.others[0][0] == "phones on Wi-Fi"


def test_an_expo_public_api_url_from_env_is_what_the_app_gets():
    from devkit.reach.targets import app_config

    app = app_config("192.168.1.23", 5000, 8081, {"EXPO_PUBLIC_API_URL": "https://api.test"})
    assert app.api_url == "https://api.test" and app.api_url_from_env
    assert ".env sets EXPO_PUBLIC_API_URL=https://api.test" in app.lines()
    assert app.as_dict()["REACT_NATIVE_PACKAGER_HOSTNAME"] == "192.168.1.23"
