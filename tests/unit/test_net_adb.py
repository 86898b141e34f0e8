"""AdbReverser against a stand-in `adb` executable (no Android device can exist here).

The stand-in is a real child process: it lists the devices written in a file and records
every `reverse` call, so connect / disconnect / reconnect are driven by editing that file.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from devkit.reach.adb import AdbReverser, find_adb, parse_devices

FAKE_ADB = """#!{python}
import sys, pathlib
here = pathlib.Path({folder!r})
args = sys.argv[1:]
if args == ["devices"]:
    print("List of devices attached")
    print((here / "devices.txt").read_text(), end="")
    sys.exit(0)
if args[0] == "-s" and args[2:4] == ["reverse", "--remove"]:
    with open(here / "calls.txt", "a") as f:
        f.write(" ".join(args) + "\\n")
    sys.exit(0)
if args[0] == "-s" and args[2] == "reverse":
    if args[1] in (here / "refuse.txt").read_text().split():
        print("adb: error: device unauthorized")
        sys.exit(1)
    with open(here / "calls.txt", "a") as f:
        f.write(" ".join(args) + "\\n")
    print(args[3].split(":")[1])
    sys.exit(0)
sys.exit(2)
"""


class FakeAdb:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "adb"
        self.path.write_text(FAKE_ADB.format(python=sys.executable, folder=str(folder)))
        self.path.chmod(0o755)
        for name in ("devices.txt", "refuse.txt", "calls.txt"):
            (folder / name).write_text("")

    def devices(self, *lines: str) -> None:
        (self.folder / "devices.txt").write_text("".join(f"{line}\n" for line in lines))

    def refuse(self, *serials: str) -> None:
        (self.folder / "refuse.txt").write_text(" ".join(serials))

    def calls(self) -> list[str]:
        return (self.folder / "calls.txt").read_text().splitlines()


@pytest.fixture
def fake_adb(tmp_path) -> FakeAdb:
    return FakeAdb(tmp_path)


def test_parse_devices_keeps_only_ready_ones():
    out = (
        "List of devices attached\nemulator-5554\tdevice\nR58M\tunauthorized\n"
        "192.168.1.5:5555\tdevice product:x model:Pixel\nZX1\toffline\n\n"
    )
    assert parse_devices(out) == ["emulator-5554", "192.168.1.5:5555"]


def test_find_adb_on_path_or_in_android_home(tmp_path, fake_adb):
    assert find_adb({"PATH": str(tmp_path)}) == str(fake_adb.path)
    sdk = tmp_path / "sdk"
    (sdk / "platform-tools").mkdir(parents=True)
    tool = sdk / "platform-tools" / "adb"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_adb({"PATH": str(empty), "ANDROID_HOME": str(sdk)}) == str(tool)
    assert find_adb({"PATH": str(empty)}) is None


async def test_without_adb_run_returns_at_once_and_says_nothing():
    lines: list[str] = []
    reverser = AdbReverser([5000, 8081], lines.append, adb=None)
    reverser.adb = None  # as on a machine without platform-tools
    await asyncio.wait_for(reverser.run(asyncio.Event()), 2)
    assert lines == [] and not reverser.available


async def test_new_device_gets_both_ports_once_and_again_after_reconnect(fake_adb):
    lines: list[str] = []
    reverser = AdbReverser([5001, 8082], lines.append, adb=str(fake_adb.path))
    fake_adb.devices("emulator-5554\tdevice", "R58M\tunauthorized")
    assert await reverser.sync_once() == ["emulator-5554"]
    assert fake_adb.calls() == [
        "-s emulator-5554 reverse tcp:5001 tcp:5001",
        "-s emulator-5554 reverse tcp:8082 tcp:8082",
    ]
    assert await reverser.sync_once() == []  # already applied: no new calls
    assert len(fake_adb.calls()) == 2
    assert "applied on emulator-5554" in lines[0]

    fake_adb.devices()  # unplugged
    assert await reverser.sync_once() == []
    fake_adb.devices("emulator-5554\tdevice")  # plugged back: rules are gone on the device
    assert await reverser.sync_once() == ["emulator-5554"]
    assert len(fake_adb.calls()) == 4


async def test_refused_device_is_logged_once_and_retried(fake_adb):
    lines: list[str] = []
    reverser = AdbReverser([5000], lines.append, adb=str(fake_adb.path))
    fake_adb.devices("R58M\tdevice")
    fake_adb.refuse("R58M")
    assert await reverser.sync_once() == []
    assert await reverser.sync_once() == []
    assert len(lines) == 1 and "unauthorized" in lines[0]
    fake_adb.refuse()
    assert await reverser.sync_once() == ["R58M"]


async def test_run_applies_to_a_device_that_appears_while_running(fake_adb):
    lines: list[str] = []
    reverser = AdbReverser([5000, 8081], lines.append, adb=str(fake_adb.path), interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(reverser.run(stop))
    try:
        fake_adb.devices("0123456789ABCDEF\tdevice")
        async with asyncio.timeout(10):
            while len(fake_adb.calls()) < 2:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert fake_adb.calls() == [
        "-s 0123456789ABCDEF reverse tcp:5000 tcp:5000",
        "-s 0123456789ABCDEF reverse tcp:8081 tcp:8081",
        "-s 0123456789ABCDEF reverse --remove tcp:5000",  # undone on stop
        "-s 0123456789ABCDEF reverse --remove tcp:8081",
    ]
    assert reverser.applied == set()
    assert any("applied on 0123456789ABCDEF" in line for line in lines)
