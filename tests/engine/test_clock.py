"""Real and virtual clocks."""

from __future__ import annotations

import pytest

from softswitch.engine.clock import Clock, RealClock, VirtualClock


def test_virtual_clock_moves_only_when_told() -> None:
    c = VirtualClock()
    assert (c.now_us(), c.now_ns()) == (0, 0)
    assert c.now_us() == 0  # reading does not move it
    c.advance(250)
    assert (c.now_us(), c.now_ns()) == (250, 250_000)
    c.advance_to(1_000)
    assert c.now_us() == 1_000
    c.advance_to(1_000)  # staying put is fine
    c.advance(0)
    assert c.now_us() == 1_000


def test_virtual_clock_start_and_backwards() -> None:
    c = VirtualClock(start_us=500)
    assert c.now_us() == 500
    with pytest.raises(ValueError, match="backwards"):
        c.advance_to(499)
    with pytest.raises(ValueError, match="negative"):
        c.advance(-1)
    with pytest.raises(ValueError):
        VirtualClock(start_us=-1)
    assert c.now_us() == 500


def test_real_clock_starts_at_zero_and_is_monotonic() -> None:
    c = RealClock()
    readings = [c.now_ns() for _ in range(100)]
    assert readings[0] >= 0
    assert readings == sorted(readings)
    assert c.now_us() >= readings[-1] // 1000
    # Counted from its own creation, not from the process's monotonic origin.
    assert RealClock().now_ns() <= c.now_ns()


def test_both_satisfy_the_protocol() -> None:
    assert isinstance(RealClock(), Clock)
    assert isinstance(VirtualClock(), Clock)
