"""Registers, counters and meters with BMv2's semantics, time given explicitly."""

from __future__ import annotations

import pytest

from softswitch.engine.stateful import (
    GREEN,
    RED,
    YELLOW,
    Counter,
    CounterArray,
    Meter,
    MeterArray,
    MeterRates,
    RegisterArray,
)

# ----------------------------------------------------------------------------- registers


def test_register_cells_start_at_zero_and_keep_the_low_bits():
    reg = RegisterArray(4, 8)
    assert [reg.read(i) for i in range(4)] == [0, 0, 0, 0]
    assert reg.write(2, 0x1AB)
    assert reg.read(2) == 0xAB
    assert reg.get(2) == 0xAB
    assert reg.values() == [0, 0, 0xAB, 0]


def test_signed_register_reads_twos_complement_and_stores_bits():
    reg = RegisterArray(2, 8, signed=True)
    reg.write(0, -1)
    reg.write(1, 0x7F)
    assert reg.read(0) == -1
    assert reg.get(0) == 0xFF  # what the control plane sees
    assert reg.read(1) == 127


def test_data_plane_access_out_of_range_changes_nothing():
    reg = RegisterArray(2, 16)
    reg.write(1, 5)
    assert reg.read(2) is None  # dst is left as it was
    assert reg.read(-1) is None
    assert reg.write(2, 9) is False
    assert reg.values() == [0, 5]


def test_control_plane_access_out_of_range_raises():
    reg = RegisterArray(2, 16)
    with pytest.raises(IndexError):
        reg.get(2)
    with pytest.raises(IndexError):
        reg.set(5, 1)


def test_register_reset_and_write_range():
    reg = RegisterArray(5, 32)
    reg.set_range(1, 3, 0x1_0000_0007)
    assert reg.values() == [0, 7, 7, 7, 0]
    reg.set(4, 9)
    reg.reset()
    assert reg.values() == [0] * 5


# ----------------------------------------------------------------------------- counters


@pytest.mark.parametrize("kind", ["packets", "bytes", "packets_and_bytes"])
def test_counters_count_packets_and_bytes_whatever_their_type(kind):
    ctr = CounterArray(3, kind)
    assert ctr.count(1, 64)
    assert ctr.count(1, 1500)
    assert ctr.read(1) == (2, 1564)
    assert ctr.read(0) == (0, 0)
    assert ctr.kind == kind


def test_counter_out_of_range_count_is_dropped_and_reads_raise():
    ctr = CounterArray(2, "packets")
    assert ctr.count(2, 100) is False
    assert [ctr.read(i) for i in range(2)] == [(0, 0), (0, 0)]
    with pytest.raises(IndexError):
        ctr.read(2)


def test_counter_write_reset_and_wrap():
    ctr = CounterArray(2, "packets_and_bytes")
    ctr.write(0, 10, 640)
    assert ctr.read(0) == (10, 640)
    ctr.write(1, (1 << 64) - 1, (1 << 64) - 10)
    ctr.count(1, 20)
    assert ctr.read(1) == (0, 10)  # uint64 wraps
    ctr.reset()
    assert ctr.read(0) == (0, 0) and ctr.read(1) == (0, 0)
    with pytest.raises(ValueError):
        CounterArray(1, "octets")  # type: ignore[arg-type]


def test_direct_counter_is_one_cell():
    c = Counter()
    c.count(100)
    c.count(50)
    assert c.read() == (2, 150)
    c.reset()
    assert c.read() == (0, 0)


# ----------------------------------------------------------------------------- meters


def test_unconfigured_meter_is_green():
    m = MeterArray(2, "packets")
    assert [m.execute(0, 1500, t) for t in (0, 0, 0, 10)] == [GREEN] * 4
    assert m.get_rates(0) is None


def test_packet_meter_colour_sequence():
    # 1000 pkt/s committed (burst 2), 2000 pkt/s peak (burst 4), as
    # ``meter_set_rates m 0 0.001:2 0.002:4``; both buckets start full.
    m = MeterArray(1, "packets")
    m.set_rates(0, MeterRates(cir=0.001, cburst=2, pir=0.002, pburst=4))
    burst = [m.execute(0, 64, 0) for _ in range(6)]
    assert burst == [GREEN, GREEN, YELLOW, YELLOW, RED, RED]
    # after 500 us the peak bucket has one token, the committed bucket none
    assert m.execute(0, 64, 500) == YELLOW
    # after 1000 us each bucket has gained one more token
    assert m.execute(0, 64, 1000) == GREEN
    assert m.execute(0, 64, 1000) == RED


def test_byte_meter_charges_the_packet_length():
    # 1 Mbit/s committed = 0.125 B/us (burst 1500 B), 2 Mbit/s peak (burst 3000 B)
    m = Meter("bytes")
    m.set_rates(MeterRates(0.125, 1500, 0.25, 3000))
    assert [m.execute(1000, 0) for _ in range(4)] == [GREEN, YELLOW, YELLOW, RED]
    # 4 ms later: +1000 B peak (capped 3000), +500 B committed
    assert m.execute(1000, 4000) == GREEN
    assert m.execute(100, 4000) == RED  # peak bucket empty: nothing passes
    # 8 us more: +2 B peak, +1 B committed, enough for a 1-byte packet in both
    assert m.execute(1, 4008) == GREEN


def test_tokens_are_counted_from_the_origin_so_rounding_never_accumulates():
    # 1.5 tokens per ms with one-token buckets. Refilling per interval would floor 0.9 to 0
    # at every 600 us step and never pass a packet; counting from the origin does not.
    m = Meter("packets")
    m.set_rates(MeterRates(0.0015, 1, 0.0015, 1))
    colours = [m.execute(64, t) for t in (0, 600, 1200, 1800, 2000, 2100)]
    assert colours == [GREEN, RED, GREEN, GREEN, GREEN, RED]


def test_time_is_truncated_to_whole_microseconds():
    m = Meter("packets")
    m.set_rates(MeterRates(1.0, 1, 1.0, 1))
    assert m.execute(1, 0) == GREEN
    assert m.execute(1, 0.9) == RED  # still microsecond 0
    assert m.execute(1, 1.2) == GREEN


def test_meter_rates_are_validated_and_can_be_reset():
    m = Meter("packets")
    with pytest.raises(ValueError, match="exceeds peak"):
        m.set_rates(MeterRates(0.002, 1, 0.001, 1))
    assert not m.configured
    m.set_rates(MeterRates(0.0, 0, 0.0, 0))
    assert m.execute(1, 0) == RED  # empty buckets, no refill
    m.reset_rates()
    assert m.execute(1, 0) == GREEN
    late = Meter("packets", time_origin_us=10)
    late.set_rates(MeterRates(1, 1, 1, 1))
    with pytest.raises(ValueError, match="before its origin"):
        late.execute(1, 5)


def test_meter_array_indexing_and_array_wide_rates():
    m = MeterArray(3, "bytes")
    rates = MeterRates(0.125, 1500, 0.25, 3000)
    m.set_all_rates(rates)
    assert [m.get_rates(i) for i in range(3)] == [rates] * 3
    assert m.execute(3, 100, 0) is None  # out of range: colour left as is
    with pytest.raises(IndexError):
        m.set_rates(3, rates)
    m.reset()
    assert m.get_rates(0) is None


def test_p4runtime_rates_convert_per_second_as_bmv2_pi_does():
    rates = MeterRates.from_per_second(1000, 10, 2000, 20)
    assert rates == MeterRates(0.001, 10, 0.002, 20)
    assert rates.per_second() == (1000, 10, 2000, 20)


def test_per_second_rates_survive_the_float_round_trip():
    # 249 / 1e6 * 1e6 is 248.99999999999997: truncation would read back 248
    for cir, pir in [(249, 249), (1, 3), (123_456_789, 987_654_321), (0, 7)]:
        rates = MeterRates.from_per_second(cir, 5, pir, 9)
        assert rates.per_second() == (cir, 5, pir, 9)
