"""`adb reverse` for Android devices on USB (or Wi-Fi debugging): localhost on the device
reaches this computer's API and Metro ports.

`AdbReverser.run` polls `adb devices`; every device that appears (first time or after a
reconnect, when the device forgets its reverse rules) gets `adb -s SERIAL reverse tcp:P tcp:P`
for each port. Without adb on this machine it returns at once and says nothing: most people
have no Android tooling and need no noise about it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

Log = Callable[[str], None]


def find_adb(env: Mapping[str, str] | None = None) -> str | None:
    """adb on PATH, else in $ANDROID_HOME / $ANDROID_SDK_ROOT platform-tools."""
    env = os.environ if env is None else env
    found = shutil.which("adb", path=env.get("PATH"))
    if found:
        return found
    for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        if env.get(var):
            candidate = Path(env[var]) / "platform-tools" / "adb"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def parse_devices(output: str) -> list[str]:
    """Serials in state `device` from `adb devices` (skips offline/unauthorized)."""
    serials = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "device" and not line.startswith("List of"):
            serials.append(parts[0])
    return serials


class AdbReverser:
    """Keeps `adb reverse` applied for `ports` on every connected device."""

    def __init__(
        self,
        ports: Iterable[int],
        log: Log,
        *,
        adb: str | None = None,
        interval: float = 2.0,
        command_timeout: float = 10.0,
    ) -> None:
        self.ports = tuple(dict.fromkeys(ports))
        self.log = log
        self.adb = adb if adb is not None else find_adb()
        self.interval = interval
        self.command_timeout = command_timeout
        self.applied: set[str] = set()  # serials whose reverse rules are in place
        self._warned: set[str] = set()

    @property
    def available(self) -> bool:
        return self.adb is not None

    async def _adb(self, *args: str) -> tuple[int, str]:
        assert self.adb is not None
        proc = await asyncio.create_subprocess_exec(
            self.adb,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.command_timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return -1, f"adb {' '.join(args)} timed out after {self.command_timeout}s"
        return proc.returncode or 0, out.decode("utf-8", "replace").strip()

    async def sync_once(self) -> list[str]:
        """Apply the rules to devices that are new since the last call; returns them."""
        if self.adb is None:
            return []
        code, out = await self._adb("devices")
        if code != 0:
            if "devices" not in self._warned:
                self._warned.add("devices")
                self.log(f"adb devices failed: {out[:200]}")
            return []
        present = set(parse_devices(out))
        self.applied &= present  # a device that left must get its rules again when back
        done = []
        for serial in sorted(present - self.applied):
            failures = []
            for port in self.ports:
                code, out = await self._adb("-s", serial, "reverse", f"tcp:{port}", f"tcp:{port}")
                if code != 0:
                    failures.append(f"tcp:{port}: {out[:200]}")
            if failures:
                if serial not in self._warned:
                    self._warned.add(serial)
                    self.log(f"adb reverse failed on {serial}: {'; '.join(failures)}")
                continue
            self._warned.discard(serial)
            self.applied.add(serial)
            done.append(serial)
            ports = ", ".join(f"tcp:{p}" for p in self.ports)
            self.log(
                f"adb reverse {ports} applied on {serial}: localhost on the device "
                "reaches this computer"
            )
        return done

    async def remove_all(self) -> None:
        """Undo our rules on the devices still connected (on shutdown), best effort."""
        for serial in sorted(self.applied):
            for port in self.ports:
                await self._adb("-s", serial, "reverse", "--remove", f"tcp:{port}")
        self.applied.clear()

    async def run(self, stop_event: asyncio.Event) -> None:
        """Poll until `stop_event` is set, then remove the rules. Returns at once, quietly,
        when adb is absent. (adb's own server daemon is shared with Android Studio and is
        left running, as every adb client does.)"""
        if self.adb is None:
            return
        try:
            while not stop_event.is_set():
                try:
                    await self.sync_once()
                except OSError as exc:  # adb removed or not executable any more
                    self.log(f"adb could not run: {exc}")
                    return
                try:
                    await asyncio.wait_for(stop_event.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            try:
                await self.remove_all()
            except OSError:
                pass
