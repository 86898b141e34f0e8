from __future__ import annotations

from devkit.core.backoff import Backoff, CrashLoopDetector, restart_decision


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=0.25, cap=1.5)
    assert [backoff.next_delay() for _ in range(5)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    backoff.reset()
    assert backoff.next_delay() == 0.25


def test_crash_loop_needs_limit_crashes_inside_the_window() -> None:
    now = [0.0]
    detector = CrashLoopDetector(limit=3, window=10.0, clock=lambda: now[0])
    assert not detector.record()
    now[0] = 5
    assert not detector.record()
    now[0] = 16  # the first crash left the window
    assert not detector.record()
    now[0] = 20  # 5 left the window too
    assert not detector.record()
    now[0] = 21  # 16, 20, 21
    assert detector.record()
    detector.reset()
    assert not detector.record()


def test_zero_limit_never_detects_a_loop() -> None:
    detector = CrashLoopDetector(limit=0, window=10.0, clock=lambda: 0.0)
    assert not any(detector.record() for _ in range(20))


def test_restart_policies() -> None:
    assert restart_decision("always", 0) and restart_decision("always", 1)
    assert not restart_decision("on-failure", 0) and restart_decision("on-failure", 1)
    assert restart_decision("on-failure", -9) and restart_decision("on-failure", None)
    assert not restart_decision("never", 1)
