"""A temp project for control-socket tests: a TCP server (`web`) and a `speaker` that prints
whatever a test drops into its folder (so a test decides when a line is produced), run by a
real `python -m devkit up --headless`."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.devkit_proc import Output, devkit, kill_everything_recorded
from tests.support.ports import free_port
from tests.support.standins import make_project, py_command

SERVE = (
    "import socket, sys, time; s = socket.socket(); "
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('listening', flush=True); "
    "time.sleep(600)"
)
# prints the lines of every file dropped into argv[1] (then deletes it); polls every 5 ms
SPEAKER = (
    "import os, sys, time\n"
    "d = sys.argv[1]\n"
    "print('speaker ready', flush=True)\n"
    "while True:\n"
    "    for name in sorted(os.listdir(d)):\n"
    "        if name.startswith('.'):\n"
    "            continue\n"
    "        path = os.path.join(d, name)\n"
    "        text = open(path).read()\n"
    "        os.unlink(path)\n"
    "        for line in text.splitlines():\n"
    "            print(line, flush=True)\n"
    "    time.sleep(0.005)\n"
)


@dataclass(frozen=True)
class ControlProject:
    root: Path
    say_dir: Path

    @property
    def state_dir(self) -> Path:
        return self.root / ".devkit"

    @property
    def socket(self) -> Path:
        return self.state_dir / "control.sock"

    def say(self, *lines: str) -> None:
        """Make the speaker print these lines (written atomically: tmp name, then rename)."""
        name = uuid.uuid4().hex
        tmp = self.say_dir / f".{name}"
        tmp.write_text("".join(line + "\n" for line in lines))
        os.replace(tmp, self.say_dir / name)


def make_control_project(root: Path, extra: dict[str, dict[str, object]] | None = None):
    web_port = free_port()
    say_dir = root / "say"
    processes: dict[str, dict[str, object]] = {
        "web": {
            "command": py_command(SERVE) + f" {web_port}",
            "readiness": {"tcp": f"127.0.0.1:{web_port}"},
            "required": True,
        },
        "speaker": {
            "command": py_command(SPEAKER) + f" {say_dir}",
            "readiness": {"log": "speaker ready"},
        },
    }
    processes.update(extra or {})
    make_project(root, processes, components=())
    say_dir.mkdir()
    return ControlProject(root, say_dir)


@contextmanager
def running(project: ControlProject) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """`devkit up --headless` until all is healthy; stopped (and anything left killed) after."""
    proc = devkit(project.root, "up", "--headless")
    out = Output(proc)
    try:
        out.wait("all components healthy", 30)
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        kill_everything_recorded(project.root)
