"""The warm parent's message framing and the API's stop outcomes (pure: no processes)."""

from __future__ import annotations

import pytest

from devkit.core.service import StopReason
from devkit.services.api_runners import Outcome, outcome_for
from devkit.warmfork import protocol


def test_line_reader_joins_split_lines_and_skips_bad_ones() -> None:
    reader = protocol.LineReader()
    assert reader.feed(b'{"ev": "child", "pid": 4') == []
    assert reader.feed(b'2}\nnot json\n[1]\n\n{"ev": "exit"}') == [{"ev": "child", "pid": 42}]
    assert reader.feed(b"", final=True) == [{"ev": "exit"}]


def test_encode_is_one_json_line() -> None:
    assert protocol.encode(cmd=protocol.START, drain=10.0) == b'{"cmd": "start", "drain": 10.0}\n'


@pytest.mark.parametrize(
    ("reason", "cold", "outcome"),
    [
        (StopReason.RELOAD, False, Outcome.RELOAD),  # swap children, the old one drains
        (StopReason.RELOAD, True, Outcome.EXIT),  # new dependencies: a new warm parent
        (StopReason.REAP, False, Outcome.WAIT),  # crashed: keep the parent for the fix
        (StopReason.RESTART, False, Outcome.EXIT),
        (StopReason.COMMAND, False, Outcome.EXIT),
        (StopReason.SHUTDOWN, False, Outcome.EXIT),
    ],
)
def test_stop_reasons_map_to_outcomes(reason: StopReason, cold: bool, outcome: Outcome) -> None:
    assert outcome_for(reason, cold) is outcome
