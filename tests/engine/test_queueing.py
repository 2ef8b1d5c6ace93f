"""Traffic manager: strict priority, rates, line rate, tail drop, metadata, pause, determinism.

Everything runs on a VirtualClock; times are asserted exactly, in microseconds.
"""

from __future__ import annotations

import random

import pytest

from softswitch.engine.clock import VirtualClock
from softswitch.engine.queueing import Departure, QueueStats, TrafficManager


def drain(tm: TrafficManager, clock: VirtualClock, until: int | None = None) -> list[Departure]:
    """Run the engine's loop: jump to each next departure and collect what leaves."""
    out: list[Departure] = []
    while (t := tm.next_departure_us()) is not None and (until is None or t <= until):
        clock.advance_to(max(t, clock.now_us()))
        ready = tm.dequeue_ready()
        assert ready, "next_departure_us() promised a departure"
        out += ready
    if until is not None:
        clock.advance_to(max(until, clock.now_us()))
        out += tm.dequeue_ready()
    return out


def items(deps: list[Departure]) -> list[object]:
    return [d.item for d in deps]


def times(deps: list[Departure]) -> list[int]:
    return [d.deq_timestamp for d in deps]


def fill(tm: TrafficManager, port: int, prio: int, names: list[str], nbytes: int = 100) -> None:
    for name in names:
        assert tm.enqueue(port, prio, name, nbytes)


# -- strict priority ---------------------------------------------------------------------------


def test_highest_priority_index_drains_first_unlimited() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=3)
    fill(tm, 1, 0, ["lo0", "lo1"])
    fill(tm, 1, 1, ["mid0"])
    fill(tm, 1, 2, ["hi0", "hi1"])
    assert tm.next_departure_us() == 0  # unlimited: everything can leave now
    deps = tm.dequeue_ready()
    assert items(deps) == ["hi0", "hi1", "mid0", "lo0", "lo1"]
    assert times(deps) == [0] * 5
    assert [d.priority for d in deps] == [2, 2, 1, 0, 0]
    assert tm.next_departure_us() is None


def test_strict_priority_on_a_busy_line() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=8)
    tm.set_port_rate(1, 12_000_000)  # 1500 B = 1000 us on the wire
    fill(tm, 1, 0, ["lo0", "lo1", "lo2"], 1500)
    fill(tm, 1, 7, ["hi0", "hi1"], 1500)
    deps = drain(tm, clock)
    assert items(deps) == ["hi0", "hi1", "lo0", "lo1", "lo2"]
    assert times(deps) == [0, 1000, 2000, 3000, 4000]


def test_higher_priority_arrival_takes_the_next_slot_not_the_current_one() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_port_rate(1, 12_000_000)
    fill(tm, 1, 0, ["lo0", "lo1", "lo2"], 1500)
    out = drain(tm, clock, until=500)  # lo0 is on the wire until 1000
    assert items(out) == ["lo0"]
    fill(tm, 1, 1, ["hi0"], 1500)
    out += drain(tm, clock)
    assert items(out) == ["lo0", "hi0", "lo1", "lo2"]
    assert times(out) == [0, 1000, 2000, 3000]
    assert out[1].deq_timedelta == 500


def test_ports_are_independent() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_port_rate(1, 12_000_000)
    fill(tm, 1, 0, ["a0", "a1"], 1500)
    fill(tm, 2, 0, ["b0", "b1"], 1500)
    deps = drain(tm, clock)
    # Port 2 has no line rate; ties in time are ordered by port.
    assert [(d.port, d.item, d.deq_timestamp) for d in deps] == [
        (1, "a0", 0),
        (2, "b0", 0),
        (2, "b1", 0),
        (1, "a1", 1000),
    ]


# -- rates -------------------------------------------------------------------------------------


def test_queue_rate_spaces_departures_exactly() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(3, 1000)
    fill(tm, 3, 0, [f"p{i}" for i in range(5)])
    deps = drain(tm, clock)
    assert times(deps) == [0, 1000, 2000, 3000, 4000]
    assert [d.deq_timedelta for d in deps] == [0, 1000, 2000, 3000, 4000]


def test_fractional_rate_is_exact_in_the_long_run() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 3)  # 333333.33 us apart
    fill(tm, 0, 0, ["a", "b", "c", "d"])
    assert times(drain(tm, clock)) == [0, 333_333, 666_666, 1_000_000]


def test_rate_does_not_bank_credit_while_idle() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 1000)
    fill(tm, 0, 0, ["a"])
    out = drain(tm, clock)
    clock.advance_to(10_000)  # long idle: the next packet leaves at once, then the rate holds
    fill(tm, 0, 0, ["b", "c"])
    out += drain(tm, clock)
    assert times(out) == [0, 10_000, 11_000]


def test_rate_limited_queue_lets_lower_priority_through() -> None:
    # BMv2: "once a given priority queue reaches its maximum rate, the next queue is served".
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_queue_rate(0, 1000, priority=1)
    fill(tm, 0, 1, ["h0", "h1", "h2"])
    fill(tm, 0, 0, ["l0", "l1"])
    deps = drain(tm, clock)
    assert [(d.item, d.deq_timestamp) for d in deps] == [
        ("h0", 0),
        ("l0", 0),
        ("l1", 0),
        ("h1", 1000),
        ("h2", 2000),
    ]


def test_rate_change_applies_to_the_backlog() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 1)  # one per second
    fill(tm, 0, 0, ["a", "b", "c"])
    out = drain(tm, clock, until=100)
    tm.set_queue_rate(0, 10_000)  # 100 us
    out += drain(tm, clock)
    assert times(out) == [0, 100, 200]
    tm.set_queue_rate(0, 0)  # unlimited again
    fill(tm, 0, 0, ["d", "e"])
    assert times(drain(tm, clock)) == [200, 200]


def test_line_rate_serialisation() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_port_rate(2, 12_000_000)
    fill(tm, 2, 0, ["a", "b", "c"], 1500)
    fill(tm, 2, 0, ["d"], 750)
    fill(tm, 2, 0, ["e"], 1500)
    assert times(drain(tm, clock)) == [0, 1000, 2000, 3000, 3500]


def test_line_rate_below_a_microsecond_per_packet_is_exact() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, default_depth=1000)
    tm.set_port_rate(0, 1_000_000_000)  # 64 B = 0.512 us
    fill(tm, 0, 0, [str(i) for i in range(1000)], 64)
    deps = drain(tm, clock)
    assert times(deps) == [k * 512 // 1000 for k in range(1000)]


def test_queue_rate_and_line_rate_combine() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_port_rate(0, 12_000_000)  # 1000 us per 1500 B
    tm.set_queue_rate(0, 250, priority=1)  # 4000 us
    fill(tm, 0, 1, ["h0", "h1"], 1500)
    fill(tm, 0, 0, ["l0", "l1", "l2", "l3", "l4"], 1500)
    deps = drain(tm, clock)
    assert [(d.item, d.deq_timestamp) for d in deps] == [
        ("h0", 0),
        ("l0", 1000),
        ("l1", 2000),
        ("l2", 3000),
        ("h1", 4000),
        ("l3", 5000),
        ("l4", 6000),
    ]


def test_default_line_rate_for_all_ports() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_port_rate(None, 12_000_000)
    fill(tm, 5, 0, ["a", "b"], 1500)
    assert times(drain(tm, clock)) == [0, 1000]


# -- depth limits and counters -----------------------------------------------------------------


def test_tail_drop_and_counters() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2, default_depth=3)
    results = [tm.enqueue(1, 0, i, 100) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert tm.enqueue(1, 1, "other queue", 100)  # the limit is per queue
    assert tm.depth(1, 0) == 3
    stats = tm.stats()[(1, 0)]
    assert stats == QueueStats(enqueued=3, dequeued=0, dropped=2, depth=3, max_depth=3)
    deps = drain(tm, clock)
    assert items(deps) == ["other queue", 0, 1, 2]  # the dropped tail never shows up
    assert tm.stats()[(1, 0)] == QueueStats(3, 3, 2, 0, 3)
    assert tm.stats()[(1, 1)] == QueueStats(1, 1, 0, 0, 1)


def test_default_depth_is_bmv2s_64() -> None:
    tm = TrafficManager(VirtualClock())
    assert sum(tm.enqueue(0, 0, i, 64) for i in range(100)) == 64
    assert tm.stats()[(0, 0)].dropped == 36


def test_set_queue_depth_scopes() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_queue_depth(1, 2)  # both queues of port 1
    tm.set_queue_depth(1, 1, priority=1)
    tm.set_queue_depth(None, 4)  # every port, including ports not seen yet
    tm.set_queue_depth(None, 2, priority=1)
    accepted = {
        (port, prio): sum(tm.enqueue(port, prio, i, 64) for i in range(10))
        for port in (1, 9)
        for prio in (0, 1)
    }
    assert accepted == {(1, 0): 4, (1, 1): 2, (9, 0): 4, (9, 1): 2}


def test_lowering_depth_keeps_queued_packets() -> None:
    tm = TrafficManager(VirtualClock())
    for i in range(5):
        tm.enqueue(0, 0, i, 64)
    tm.set_queue_depth(0, 2)
    assert tm.depth(0, 0) == 5
    assert not tm.enqueue(0, 0, "x", 64)


def test_out_of_range_priority_is_dropped_like_bmv2() -> None:
    tm = TrafficManager(VirtualClock(), priority_queues=4)
    assert not tm.enqueue(0, 4, "x", 64)
    assert not tm.enqueue(0, 7, "y", 64)
    assert tm.invalid_priority_drops == 2
    assert tm.next_departure_us() is None


# -- metadata ----------------------------------------------------------------------------------


def test_queueing_metadata_values() -> None:
    clock = VirtualClock(start_us=100)
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_port_rate(4, 8_000_000)  # 1000 B = 1000 us
    assert tm.enqueue(4, 0, "a", 1000)
    clock.advance(10)
    assert tm.enqueue(4, 0, "b", 1000)
    assert tm.enqueue(4, 1, "hi", 1000)  # other queue: does not count in a/b's depths
    clock.advance(10)
    assert tm.enqueue(4, 0, "c", 1000)
    deps = {d.item: d for d in drain(tm, clock)}
    a, b, c, hi = deps["a"], deps["b"], deps["c"], deps["hi"]
    # a left at once, before b and hi arrived (the departure at 100 was due before 110).
    assert (a.enq_timestamp, a.enq_qdepth, a.deq_timestamp, a.deq_timedelta, a.deq_qdepth) == (
        100,
        0,
        100,
        0,
        0,
    )
    assert (hi.enq_timestamp, hi.enq_qdepth, hi.deq_timestamp, hi.deq_qdepth) == (110, 0, 1100, 0)
    assert (b.enq_timestamp, b.enq_qdepth, b.deq_timestamp, b.deq_timedelta, b.deq_qdepth) == (
        110,
        0,
        2100,
        1990,
        1,
    )
    assert (c.enq_timestamp, c.enq_qdepth, c.deq_timedelta, c.deq_qdepth) == (120, 1, 2980, 0)
    assert (a.port, a.priority, a.nbytes, hi.priority) == (4, 0, 1000, 1)


def test_enq_qdepth_excludes_the_packet_itself() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 1000)
    for i in range(4):
        tm.enqueue(0, 0, i, 64)
    deps = drain(tm, clock)
    assert [d.enq_qdepth for d in deps] == [0, 1, 2, 3]
    assert [d.deq_qdepth for d in deps] == [3, 2, 1, 0]


# -- pause and resume --------------------------------------------------------------------------


def test_pause_holds_a_queue_while_others_flow() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=2)
    tm.set_port_rate(0, 12_000_000)
    tm.pause(0, 1)  # the *higher* queue is paused: it must not block the lower one
    assert tm.is_paused(0, 1)
    fill(tm, 0, 1, ["h0", "h1", "h2"], 1500)
    fill(tm, 0, 0, ["l0", "l1"], 1500)
    out = drain(tm, clock)
    assert [(d.item, d.deq_timestamp) for d in out] == [("l0", 0), ("l1", 1000)]
    assert tm.next_departure_us() is None  # only paused packets left
    assert tm.depth(0, 1) == 3
    clock.advance_to(5000)
    tm.resume(0, 1)
    assert not tm.is_paused(0, 1)
    out = drain(tm, clock)
    assert [(d.item, d.deq_timestamp, d.deq_timedelta) for d in out] == [
        ("h0", 5000, 5000),
        ("h1", 6000, 6000),
        ("h2", 7000, 7000),
    ]


def test_resumed_queue_keeps_its_rate_instead_of_bursting() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 1000)
    fill(tm, 0, 0, ["a", "b", "c", "d"])
    out = drain(tm, clock, until=1000)  # a at 0, b at 1000
    tm.pause(0, 0)
    clock.advance_to(50_000)
    tm.resume(0, 0)
    out += drain(tm, clock)
    assert times(out) == [0, 1000, 50_000, 51_000]


def test_pause_takes_effect_for_departures_due_at_the_same_instant() -> None:
    clock = VirtualClock()
    tm = TrafficManager(clock)
    tm.set_queue_rate(0, 1000)
    fill(tm, 0, 0, ["a", "b"])
    out = drain(tm, clock, until=999)
    clock.advance_to(1000)  # b is due now, but the pause arrives first
    tm.pause(0, 0)
    assert tm.dequeue_ready() == []
    tm.resume(0, 0)
    out += drain(tm, clock)
    assert [(d.item, d.deq_timestamp) for d in out] == [("a", 0), ("b", 1000)]


def test_paused_queue_still_tail_drops() -> None:
    tm = TrafficManager(VirtualClock(), default_depth=2)
    tm.pause(3, 0)
    assert [tm.enqueue(3, 0, i, 64) for i in range(3)] == [True, True, False]
    assert tm.stats()[(3, 0)].dropped == 1


# -- determinism and scheduled time ------------------------------------------------------------


def _random_run(poll_every: int | None) -> list[tuple[object, ...]]:
    """Seeded mixed traffic; ``poll_every`` polls on a fixed grid instead of jumping."""
    rng = random.Random(7)
    clock = VirtualClock()
    tm = TrafficManager(clock, priority_queues=4, default_depth=16)
    tm.set_port_rate(0, 100_000_000)
    tm.set_port_rate(1, 10_000_000)
    tm.set_queue_rate(1, 2000, priority=2)
    arrivals = sorted(
        (rng.randrange(20_000), rng.randrange(3), rng.randrange(4), rng.randrange(64, 1519), n)
        for n in range(600)
    )
    events: list[tuple[object, ...]] = []
    pauses = {5_000: ("pause", 0, 3), 9_000: ("resume", 0, 3)}
    i = 0
    while True:
        nxt_dep = tm.next_departure_us()
        nxt_arr = arrivals[i][0] if i < len(arrivals) else None
        nxt_ctl = min(pauses) if pauses else None
        candidates = [t for t in (nxt_dep, nxt_arr, nxt_ctl) if t is not None]
        if not candidates:
            break
        t = min(candidates)
        if poll_every is not None and t == nxt_dep and t != nxt_arr and t != nxt_ctl:
            t = -(-t // poll_every) * poll_every  # wake late, on the polling grid
            if nxt_arr is not None:
                t = min(t, nxt_arr)
            if nxt_ctl is not None:
                t = min(t, nxt_ctl)
        clock.advance_to(max(t, clock.now_us()))
        now = clock.now_us()
        while i < len(arrivals) and arrivals[i][0] == now:
            _, port, prio, nbytes, n = arrivals[i]
            events.append(("enq", n, tm.enqueue(port, prio, n, nbytes)))
            i += 1
        if now in pauses:
            op, port, prio = pauses.pop(now)
            getattr(tm, op)(port, prio)
        events += [tuple(d) for d in tm.dequeue_ready()]
    return events


def test_same_input_same_departures() -> None:
    first = _random_run(None)
    assert first == _random_run(None)
    accepted = sum(1 for e in first if e[0] == "enq" and e[2])
    assert accepted == sum(1 for e in first if e[0] != "enq")


def test_departure_times_do_not_depend_on_how_late_the_owner_polls() -> None:
    exact = [e for e in _random_run(None) if e[0] != "enq"]
    late = [e for e in _random_run(37) if e[0] != "enq"]
    assert late == exact


# -- contract details --------------------------------------------------------------------------


def test_next_departure_is_none_when_empty_and_now_when_unlimited() -> None:
    clock = VirtualClock(start_us=42)
    tm = TrafficManager(clock)
    assert tm.next_departure_us() is None
    assert tm.dequeue_ready() == []
    tm.enqueue(0, 0, "x", 64)
    assert tm.next_departure_us() == 42
    assert items(tm.dequeue_ready()) == ["x"]


def test_bad_arguments() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="priority_queues"):
        TrafficManager(clock, priority_queues=0)
    with pytest.raises(ValueError, match="priority_queues"):
        TrafficManager(clock, priority_queues=9)
    tm = TrafficManager(clock, priority_queues=2)
    with pytest.raises(ValueError, match="priority must be 0..1"):
        tm.set_queue_depth(0, 10, priority=2)
    with pytest.raises(ValueError, match="priority"):
        tm.pause(0, 5)
    with pytest.raises(ValueError, match="priority"):
        tm.depth(0, -1)
    with pytest.raises(ValueError, match="port"):
        tm.enqueue(-1, 0, "x", 64)
    with pytest.raises(ValueError, match="depth"):
        tm.set_queue_depth(0, -1)
    with pytest.raises(ValueError, match="pps"):
        tm.set_queue_rate(0, -5)
    with pytest.raises(ValueError, match="bps"):
        tm.set_port_rate(0, 1.5)  # type: ignore[arg-type]
    assert tm.depth(99, 1) == 0  # an unused port is empty, not an error
