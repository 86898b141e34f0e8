"""`devkit urls` and `devkit qr` as a person runs them (real subprocesses, a temp project)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.netns import StatusServer
from tests.support.ports import free_port


@pytest.fixture
def project(tmp_path):
    api_port, metro_port = free_port(), free_port()
    (tmp_path / "pyproject.toml").write_text("[tool.devkit]\n")
    (tmp_path / ".env").write_text(f"PORT={api_port}\nMETRO_PORT={metro_port}\n")
    return tmp_path, api_port, metro_port


def devkit(root, *args, env_extra=None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEVKIT_LAN_HOST", "REACT_NATIVE_PACKAGER_HOSTNAME", "DEVKIT_ROOT")
    }
    env.update(env_extra or {}, COLUMNS="120")
    result = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_urls_json_with_host_override_lists_targets_and_candidates(project):
    root, api_port, metro_port = project
    data = json.loads(devkit(root, "urls", "--json", "--all", "--host", "192.168.50.5"))
    assert data["lan"]["host"] == "192.168.50.5" and data["lan"]["source"] == "--host"
    phone = next(t for t in data["targets"] if t["kind"] == "phone")
    assert phone["api_url"] == f"http://192.168.50.5:{api_port}"
    assert phone["metro_url"] == f"exp://192.168.50.5:{metro_port}"
    emulator = next(t for t in data["targets"] if t["kind"] == "android-emulator")
    assert emulator["api_url"] == f"http://10.0.2.2:{api_port}"
    assert "expo_public_api_url" not in emulator  # per device, it never reaches the app
    # what the app gets: one bundle, the LAN address, for every device it serves
    assert data["app"]["EXPO_PUBLIC_API_URL"] == f"http://192.168.50.5:{api_port}"
    assert data["app"]["REACT_NATIVE_PACKAGER_HOSTNAME"] == "192.168.50.5"
    assert data["app"]["expo_url"] == f"exp://192.168.50.5:{metro_port}"
    assert "Android emulator" in data["app"]["serves"]
    assert "--host localhost" in data["app"]["others"][0]["how"]
    assert any(c["name"] == "lo" and not c["kept"] for c in data["lan"]["candidates"])
    assert data["health"]["api"] == "down" and data["health"]["metro"] == "down"
    assert data["lan_reach"] is None
    plain = json.loads(devkit(root, "urls", "--json"))
    assert "candidates" not in plain["lan"]


def test_urls_env_file_override_and_live_health_in_text(project):
    root, api_port, metro_port = project
    with open(root / ".env", "a") as env_file:
        env_file.write("DEVKIT_LAN_HOST=127.0.0.1\n")
    servers = [
        StatusServer("127.0.0.1", api_port, "api"),
        StatusServer("127.0.0.1", metro_port, "metro"),
    ]
    try:
        out = devkit(root, "urls", "--all")
    finally:
        for server in servers:
            server.stop()
    assert "LAN address: 127.0.0.1 (set by DEVKIT_LAN_HOST)" in out
    assert "phones cannot reach it" in out
    assert f"API   http://127.0.0.1:{api_port}/status: ok" in out
    assert f"Metro http://127.0.0.1:{metro_port}/status: ok" in out
    assert f"http://10.0.2.2:{api_port}" in out
    assert f"exp://10.0.3.2:{metro_port}" not in out  # the app never uses per-device URLs
    assert f"the app calls EXPO_PUBLIC_API_URL=http://127.0.0.1:{api_port}" in out
    assert "The API from a device's browser or other tools (not what the app uses):" in out
    assert "phones on Wi-Fi: cannot reach localhost" in out
    assert "Interface addresses considered:" in out and "skipped  lo" in out


def test_bad_host_is_an_error_with_a_fix(project):
    root, _, _ = project
    result = subprocess.run(
        [sys.executable, "-m", "devkit", "--root", str(root), "urls", "--host", "http://x:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "error: --host='http://x:1' is not an address" in result.stderr
    assert "fix:" in result.stderr


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not installed (zbar-tools)")
def test_qr_prints_codes_and_writes_decodable_pngs(project, tmp_path):
    root, api_port, metro_port = project
    png = tmp_path / "out" / "expo.png"
    out = devkit(root, "qr", "--host", "192.168.50.5", "--png", str(png))
    assert f"exp://192.168.50.5:{metro_port}" in out
    assert f"http://192.168.50.5:{api_port}/status" in out
    assert "\u2588" in out and "\u2584" in out
    decoded = [
        subprocess.run(
            ["zbarimg", "--raw", "-q", str(p)], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        for p in (png, tmp_path / "out" / "expo-api.png")
    ]
    assert decoded == [f"exp://192.168.50.5:{metro_port}", f"http://192.168.50.5:{api_port}/status"]
    inverted = devkit(root, "qr", "--host", "192.168.50.5", "--invert")
    assert inverted != out.split("wrote")[0]


@pytest.mark.slow
def test_urls_shows_the_host_a_running_devkit_up_uses(project):
    from devkit.core.runstate import RunLock, RunState

    root, api_port, _ = project
    state_dir = root / ".devkit"
    lock = RunLock(state_dir)
    lock.acquire()  # as `devkit up` does; the subprocess sees it held
    try:
        RunState(state_dir, extra={"lan_host": "192.168.60.7"}).write()
        data = json.loads(devkit(root, "urls", "--json"))
        assert (data["lan"]["host"], data["lan"]["source"]) == ("192.168.60.7", "devkit up")
        assert data["lan"]["warnings"][0].startswith("detected now:")
        phone = next(t for t in data["targets"] if t["kind"] == "phone")
        assert phone["api_url"] == f"http://192.168.60.7:{api_port}"
        flagged = json.loads(devkit(root, "urls", "--json", "--host", "10.1.2.3"))
        assert flagged["lan"]["host"] == "10.1.2.3"  # an explicit --host still wins
    finally:
        lock.release()
    after = json.loads(devkit(root, "urls", "--json"))
    assert after["lan"]["source"] != "devkit up"  # lock released: stale state is ignored
