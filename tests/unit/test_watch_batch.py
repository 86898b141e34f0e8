"""The inotify watcher's batch timing (devkit/host/watch_batch.py) over injected times."""

from __future__ import annotations

from pathlib import Path

from devkit.host.watch_batch import Batch, Kind

A = Path("/p/a.py")
B = Path("/p/b.py")
TMP = Path("/p/.a.py.tmp")


def batch() -> Batch:
    return Batch(settle=0.002, debounce=0.050, open_settle=0.030)


def test_an_empty_batch_is_never_due() -> None:
    b = batch()
    assert not b and b.due() is None and b.take() == []


def test_a_closed_write_is_due_one_settle_after_the_last_event() -> None:
    b = batch()
    b.add(A, Kind.WRITING, 1.000)
    b.add(A, Kind.WRITTEN, 1.001)
    assert b.due() == 1.001 + 0.002
    b.add(B, Kind.WRITTEN, 1.002)
    assert b.due() == 1.002 + 0.002
    assert b.take() == [A, B]
    assert not b


def test_a_file_still_open_waits_for_the_longer_quiet_and_a_close_brings_it_back() -> None:
    b = batch()
    b.add(A, Kind.WRITING, 1.000)
    assert b.due() == 1.000 + 0.030
    b.add(A, Kind.WRITTEN, 1.010)
    assert b.due() == 1.010 + 0.002


def test_a_long_burst_is_due_at_the_debounce_after_its_first_event() -> None:
    b = batch()
    for i in range(100):
        b.add(Path(f"/p/{i}.py"), Kind.WRITTEN, 1.0 + i * 0.001)
    assert b.due() == 1.0 + 0.050


def test_metadata_alone_is_a_change_and_does_not_close_an_open_write() -> None:
    b = batch()
    b.add(A, Kind.TOUCHED, 1.0)
    assert b.due() == 1.0 + 0.002
    b.add(B, Kind.WRITING, 1.0)
    b.add(B, Kind.TOUCHED, 1.0)
    assert b.due() == 1.0 + 0.030


def test_a_new_file_counts_once_closed() -> None:
    b = batch()
    b.add(A, Kind.CREATED, 1.0)
    assert b.due() == 1.0 + 0.030
    b.add(A, Kind.WRITTEN, 1.0)
    assert b.due() == 1.0 + 0.002


def test_an_atomic_replace_reports_the_target_not_the_temporary_file() -> None:
    b = batch()
    for kind in (Kind.CREATED, Kind.WRITING, Kind.WRITTEN, Kind.GONE):  # moved away onto A
        b.add(TMP, kind, 1.0)
    b.add(A, Kind.WRITTEN, 1.0)
    assert b.take() == [A]


def test_a_file_deleted_or_recreated_is_a_change() -> None:
    b = batch()
    b.add(A, Kind.GONE, 1.0)
    b.add(B, Kind.CREATED, 1.0)
    b.add(B, Kind.GONE, 1.0)
    b.add(B, Kind.CREATED, 1.0)
    b.add(B, Kind.WRITTEN, 1.0)
    assert b.take() == [A, B]


def test_a_debounce_shorter_than_the_settle_caps_it() -> None:
    b = Batch(settle=0.5, debounce=0.2, open_settle=0.05)
    assert b.open_settle == 0.5  # never shorter than the settle
    b.add(A, Kind.WRITTEN, 3.0)
    assert b.due() == 3.2


def test_a_burst_of_many_paths_waits_for_the_burst_quiet() -> None:
    b = Batch(settle=0.002, debounce=0.050, open_settle=0.030, burst_settle=0.010)
    for i in range(3):  # a save with an editor's backup and swap files: still a save
        b.add(Path(f"/p/{i}.py"), Kind.WRITTEN, 1.0)
    assert b.due() == 1.0 + 0.002
    b.add(Path("/p/3.py"), Kind.WRITTEN, 1.001)
    assert b.due() == 1.001 + 0.010
