"""Time for the engine: a real clock for live runs, a virtual clock for deterministic ones.

Both count from 0 when created, in integer microseconds (``now_us``, the unit of BMv2's
``enq_timestamp`` and ``ingress_global_timestamp``) and nanoseconds (``now_ns``). Under a
:class:`VirtualClock` time moves only when the owner moves it, so a run is a pure function of its
inputs and the engine can jump straight to the next event (the traffic manager's
``next_departure_us()`` or the next packet arrival) instead of waiting for it.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the engine and the traffic manager read time from."""

    def now_us(self) -> int:
        """Microseconds since the clock was created."""
        ...

    def now_ns(self) -> int:
        """Nanoseconds since the clock was created."""
        ...


class RealClock:
    """Monotonic wall time, starting at 0 when the clock is created."""

    __slots__ = ("_origin_ns",)

    def __init__(self) -> None:
        self._origin_ns = time.monotonic_ns()

    def now_ns(self) -> int:
        """Nanoseconds since creation."""
        return time.monotonic_ns() - self._origin_ns

    def now_us(self) -> int:
        """Microseconds since creation (truncated, as BMv2 truncates its timestamps)."""
        return (time.monotonic_ns() - self._origin_ns) // 1000

    def __repr__(self) -> str:
        return f"RealClock(now_us={self.now_us()})"


class VirtualClock:
    """Time that moves only when told to; starts at ``start_us`` (default 0).

    Times given to :meth:`advance_to` and :meth:`advance` are microseconds, the grid the traffic
    manager schedules on. Moving backwards is an error: every component assumes time never
    decreases.
    """

    __slots__ = ("_ns",)

    def __init__(self, start_us: int = 0) -> None:
        if start_us < 0:
            raise ValueError(f"start time must be >= 0, got {start_us}")
        self._ns = int(start_us) * 1000

    def now_ns(self) -> int:
        """Current virtual time in nanoseconds."""
        return self._ns

    def now_us(self) -> int:
        """Current virtual time in microseconds."""
        return self._ns // 1000

    def advance_to(self, t_us: int) -> None:
        """Jump to absolute time ``t_us``; a no-op if already there, an error if in the past."""
        t_ns = int(t_us) * 1000
        if t_ns < self._ns:
            raise ValueError(
                f"virtual clock cannot go backwards: now {self._ns // 1000} us, asked for {t_us} us"
            )
        self._ns = t_ns

    def advance(self, dt_us: int) -> None:
        """Move forward by ``dt_us`` microseconds (must be >= 0)."""
        if dt_us < 0:
            raise ValueError(f"cannot advance by a negative time ({dt_us} us)")
        self._ns += int(dt_us) * 1000

    def __repr__(self) -> str:
        return f"VirtualClock(now_us={self.now_us()})"
