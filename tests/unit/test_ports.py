from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from devkit.errors import PortInUseError
from devkit.host.ports import Holder, check_ports, conflict_error, find_holder, port_is_free
from tests.support.ports import free_port


@pytest.fixture
def listener() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_free_port_is_free() -> None:
    assert port_is_free(free_port())


def test_taken_port_names_the_holding_process_and_the_fix(listener: int) -> None:
    assert not port_is_free(listener)
    holder = find_holder(listener)
    assert holder.pid == os.getpid()
    with pytest.raises(PortInUseError) as info:
        check_ports([("metro", free_port()), ("api", listener)])
    error = info.value
    assert f"port {listener} (api) is held by" in error.message
    assert f"(pid {os.getpid()})" in error.message and holder.name in error.message
    assert f"PORT={listener + 1}" in error.hint and f"kill {os.getpid()}" in error.hint


def test_port_5000_on_macos_is_explained_as_airplay() -> None:
    error = conflict_error("api", 5000, Holder(412, "ControlCenter"), platform="darwin")
    assert "AirPlay Receiver" in error.message and "ControlCenter (pid 412)" in error.message
    assert "PORT=5001" in error.hint and "AirPlay Receiver off" in error.hint
    linux = conflict_error("api", 5000, Holder(412, "python3"), platform="linux")
    assert "AirPlay" not in str(linux)


def test_unknown_holder_still_gives_a_fix() -> None:
    error = conflict_error("postgres", 5432, Holder(None, None))
    assert "another process" in error.message and "POSTGRES_PORT=5433" in error.hint
