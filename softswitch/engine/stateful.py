"""Stateful externs of v1model: registers, counters and two-rate three-colour meters.

Each behaves as BMv2's ``simple_switch`` does (``bm_sim/stateful.cpp``, ``counters.h``,
``meters.cpp`` and the ``register_read``/``count``/``execute_meter`` primitives):

- Data-plane access at an index past the end changes nothing: a register read leaves the
  destination as it was, a write, a ``count`` or a meter ``execute`` is dropped (BMv2 logs an
  error). The data-plane methods return ``None``/``False`` so the caller can do the same. The
  control-plane methods raise :class:`IndexError` instead (BMv2 answers ``INVALID_INDEX``).
- Counters always count both packets and bytes, whatever the declared type; the type only says
  which of the two the control plane reports.
- Bytes, for counters and byte meters, are the packet's length when it entered the switch
  (BMv2's ``get_ingress_length()``), not its current length; the caller passes that number.
- Meters take time explicitly, in microseconds, so runs are reproducible.

Direct counters and meters are single :class:`Counter` and :class:`Meter` cells, one per table
entry, held by the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GREEN",
    "RED",
    "YELLOW",
    "Counter",
    "CounterArray",
    "Meter",
    "MeterArray",
    "MeterRates",
    "RegisterArray",
]

_MASK64 = (1 << 64) - 1

CounterKind = Literal["packets", "bytes", "packets_and_bytes"]
MeterUnit = Literal["packets", "bytes"]

GREEN = 0
YELLOW = 1
RED = 2


class RegisterArray:
    """``register<T>(size)``: ``size`` cells of ``bitwidth`` bits, all 0 at start and on reset.

    Cells hold the value's low ``bitwidth`` bits, as BMv2 does; for ``int<W>`` registers
    :meth:`read` gives the two's-complement meaning while :meth:`get` (what the control plane
    sees) gives the stored bits.
    """

    def __init__(self, size: int, bitwidth: int, signed: bool = False) -> None:
        if size < 0 or bitwidth <= 0:
            raise ValueError(f"bad register shape: size {size}, bitwidth {bitwidth}")
        self.size = size
        self.bitwidth = bitwidth
        self.signed = signed
        self._mask = (1 << bitwidth) - 1
        self._values = [0] * size

    def __len__(self) -> int:
        return self.size

    def _signed(self, bits: int) -> int:
        if self.signed and bits >> (self.bitwidth - 1):
            return bits - (1 << self.bitwidth)
        return bits

    # data plane
    def read(self, index: int) -> int | None:
        """``reg.read(dst, index)``; ``None`` when out of range (leave ``dst`` unchanged)."""
        if 0 <= index < self.size:
            return self._signed(self._values[index])
        return None

    def write(self, index: int, value: int) -> bool:
        """``reg.write(index, value)``; ``False`` (and no effect) when out of range."""
        if 0 <= index < self.size:
            self._values[index] = value & self._mask
            return True
        return False

    # control plane
    def get(self, index: int) -> int:
        """The stored bits at ``index`` (``register_read``); raises :class:`IndexError`."""
        self._check(index)
        return self._values[index]

    def set(self, index: int, value: int) -> None:
        """Store ``value`` modulo ``2**bitwidth`` (``register_write``); raises on a bad index."""
        self._check(index)
        self._values[index] = value & self._mask

    def set_range(self, start: int, end: int, value: int) -> None:
        """``register_write_range``: every index in ``start..end`` inclusive."""
        self._check(start)
        self._check(end)
        if start > end:
            raise IndexError(f"empty register range {start}..{end}")
        masked = value & self._mask
        for i in range(start, end + 1):
            self._values[i] = masked

    def values(self) -> list[int]:
        """All stored bits (``register_read`` without an index)."""
        return list(self._values)

    def reset(self) -> None:
        """``register_reset``: every cell back to 0."""
        self._values = [0] * self.size

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"register index {index} out of range (size {self.size})")


class Counter:
    """One packet-and-byte counter cell (an indirect counter's element or a direct counter)."""

    __slots__ = ("packets", "bytes")

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0

    def count(self, nbytes: int) -> None:
        """Count one packet of ``nbytes`` (its ingress length); both values wrap at 2**64."""
        self.packets = (self.packets + 1) & _MASK64
        self.bytes = (self.bytes + nbytes) & _MASK64

    def read(self) -> tuple[int, int]:
        """``(packets, bytes)``."""
        return self.packets, self.bytes

    def write(self, packets: int, nbytes: int) -> None:
        """Set both values (``counter_write``, P4Runtime modify)."""
        self.packets = packets & _MASK64
        self.bytes = nbytes & _MASK64

    def reset(self) -> None:
        """Both values back to 0."""
        self.packets = 0
        self.bytes = 0


class CounterArray:
    """``counter(size, CounterType)``: ``size`` cells, each counting packets and bytes."""

    def __init__(self, size: int, kind: CounterKind) -> None:
        if kind not in ("packets", "bytes", "packets_and_bytes"):
            raise ValueError(f"unknown counter type {kind!r}")
        if size < 0:
            raise ValueError(f"bad counter size {size}")
        self.size = size
        self.kind = kind
        self._cells = [Counter() for _ in range(size)]

    def __len__(self) -> int:
        return self.size

    def count(self, index: int, nbytes: int) -> bool:
        """``c.count(index)`` for a packet of ``nbytes``; ``False`` (no effect) out of range."""
        if 0 <= index < self.size:
            self._cells[index].count(nbytes)
            return True
        return False

    def cell(self, index: int) -> Counter:
        """The cell at ``index``; raises :class:`IndexError`."""
        self._check(index)
        return self._cells[index]

    def read(self, index: int) -> tuple[int, int]:
        """``(packets, bytes)`` at ``index``; raises :class:`IndexError`."""
        return self.cell(index).read()

    def write(self, index: int, packets: int, nbytes: int) -> None:
        """Set both values at ``index``; raises :class:`IndexError`."""
        self.cell(index).write(packets, nbytes)

    def reset(self) -> None:
        """``counter_reset``: every cell back to 0."""
        for c in self._cells:
            c.reset()

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"counter index {index} out of range (size {self.size})")


@dataclass(frozen=True)
class MeterRates:
    """A two-rate configuration in BMv2's units: rates per microsecond, bursts in units.

    Units are packets or bytes, as the meter counts. ``simple_switch_CLI`` writes it as
    ``meter_set_rates <name> <index> <cir>:<cbs> <pir>:<pbs>``.
    """

    cir: float
    cburst: int
    pir: float
    pburst: int

    @classmethod
    def from_per_second(cls, cir: int, cburst: int, pir: int, pburst: int) -> MeterRates:
        """From P4Runtime's ``MeterConfig`` (units per second), divided as BMv2's PI does."""
        return cls(cir / 1_000_000.0, cburst, pir / 1_000_000.0, pburst)

    def per_second(self) -> tuple[int, int, int, int]:
        """``(cir, cburst, pir, pburst)`` back in units per second.

        Rounded to the nearest integer: the division by 1e6 in :meth:`from_per_second` is not
        exact in binary floating point (249 / 1e6 * 1e6 is 248.99999999999997), so truncating
        as BMv2's PI does would read back one less than was written."""
        return (
            round(self.cir * 1_000_000.0),
            self.cburst,
            round(self.pir * 1_000_000.0),
            self.pburst,
        )


class _Bucket:
    __slots__ = ("rate", "burst", "tokens", "tokens_last", "color")

    def __init__(self, rate: float, burst: int, color: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst  # a freshly configured bucket is full
        self.tokens_last = 0
        self.color = color


class Meter:
    """One two-rate three-colour meter cell (RFC 2698 trTCM, colour-blind), as BMv2 runs it.

    Tokens are not accrued per interval: each bucket counts ``floor(us * rate)`` tokens since the
    meter's time origin and adds the increase since its last update, capped at its burst, so
    rounding never accumulates. A packet is RED if the peak bucket lacks tokens for it (neither
    bucket is charged), YELLOW if only the committed bucket lacks them (the peak bucket is
    charged), else GREEN (both are). An unconfigured meter returns GREEN.
    """

    __slots__ = ("unit", "time_origin_us", "_buckets")

    def __init__(self, unit: MeterUnit, time_origin_us: int = 0) -> None:
        if unit not in ("packets", "bytes"):
            raise ValueError(f"unknown meter unit {unit!r}")
        self.unit = unit
        self.time_origin_us = time_origin_us
        # peak bucket first: it is checked first and its failure means RED
        self._buckets: tuple[_Bucket, _Bucket] | None = None

    @property
    def configured(self) -> bool:
        """Whether rates are set; an unconfigured meter marks everything GREEN."""
        return self._buckets is not None

    def set_rates(self, rates: MeterRates) -> None:
        """Configure (and refill) both buckets; the committed rate may not exceed the peak rate.

        BMv2 answers ``INVALID_INFO_RATE_VALUE`` when CIR > PIR (and may leave the meter half
        set); here the meter is left unchanged and :class:`ValueError` raised.
        """
        if rates.cir > rates.pir:
            raise ValueError(f"committed rate {rates.cir} exceeds peak rate {rates.pir}")
        if min(rates.cir, rates.pir) < 0 or min(rates.cburst, rates.pburst) < 0:
            raise ValueError(f"negative meter rate or burst: {rates}")
        self._buckets = (
            _Bucket(rates.pir, rates.pburst, RED),
            _Bucket(rates.cir, rates.cburst, YELLOW),
        )

    def get_rates(self) -> MeterRates | None:
        """The configured rates, or ``None`` when unconfigured."""
        if self._buckets is None:
            return None
        peak, committed = self._buckets
        return MeterRates(committed.rate, committed.burst, peak.rate, peak.burst)

    def reset_rates(self) -> None:
        """Back to unconfigured (P4Runtime's empty ``MeterConfig``)."""
        self._buckets = None

    def reset_time_origin(self, now_us: int) -> None:
        """Count token time from ``now_us`` (BMv2 counts from the meter's creation)."""
        self.time_origin_us = now_us
        if self._buckets is not None:
            for bucket in self._buckets:
                bucket.tokens_last = 0

    def execute(self, nbytes: int, now_us: int) -> int:
        """Colour a packet of ``nbytes`` (ingress length) arriving at ``now_us`` microseconds."""
        if self._buckets is None:
            return GREEN
        elapsed = int(now_us - self.time_origin_us)  # BMv2 truncates to whole microseconds
        if elapsed < 0:
            raise ValueError(f"meter time {now_us} is before its origin {self.time_origin_us}")
        size = 1 if self.unit == "packets" else nbytes
        for bucket in self._buckets:
            since_origin = int(elapsed * bucket.rate)
            if since_origin < bucket.tokens_last:
                raise ValueError(f"meter time went backwards to {now_us}")
            bucket.tokens = min(bucket.tokens + since_origin - bucket.tokens_last, bucket.burst)
            bucket.tokens_last = since_origin
            if bucket.tokens < size:
                # BMv2 stops here: the committed bucket is neither charged nor refilled yet,
                # which loses nothing because its refill is computed from the origin.
                return bucket.color
            bucket.tokens -= size
        return GREEN


class MeterArray:
    """``meter(size, MeterType)``: ``size`` independent :class:`Meter` cells."""

    def __init__(self, size: int, unit: MeterUnit, time_origin_us: int = 0) -> None:
        if size < 0:
            raise ValueError(f"bad meter size {size}")
        self.size = size
        self.unit = unit
        self._cells = [Meter(unit, time_origin_us) for _ in range(size)]

    def __len__(self) -> int:
        return self.size

    def execute(self, index: int, nbytes: int, now_us: int) -> int | None:
        """``m.execute_meter(index, colour)``; ``None`` out of range (leave ``colour`` as is)."""
        if 0 <= index < self.size:
            return self._cells[index].execute(nbytes, now_us)
        return None

    def cell(self, index: int) -> Meter:
        """The cell at ``index``; raises :class:`IndexError`."""
        if not 0 <= index < self.size:
            raise IndexError(f"meter index {index} out of range (size {self.size})")
        return self._cells[index]

    def set_rates(self, index: int, rates: MeterRates) -> None:
        """``meter_set_rates``: configure one cell."""
        self.cell(index).set_rates(rates)

    def set_all_rates(self, rates: MeterRates) -> None:
        """``meter_array_set_rates``: configure every cell."""
        for m in self._cells:
            m.set_rates(rates)

    def get_rates(self, index: int) -> MeterRates | None:
        """``meter_get_rates``: one cell's rates, ``None`` when unconfigured."""
        return self.cell(index).get_rates()

    def reset(self) -> None:
        """Every cell back to unconfigured (BMv2's ``reset_state``)."""
        for m in self._cells:
            m.reset_rates()
