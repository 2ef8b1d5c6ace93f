"""The queue allocator's decisions, without a switch: free-first, sharing, weights, reclaim,
reasons, slots and restore."""

from __future__ import annotations

import pytest

from controlplane.apps.allocator import (
    Allocation,
    AllocationError,
    QueueAllocator,
    SlotPool,
    flow_match,
    flow_of_match,
)
from controlplane.policy import parse_policy
from controlplane.protocol import FlowKey

CLASSES = {
    "latency": {"queues": "5-6", "preferred": [6], "weight": 4},
    "bulk": {"queues": "1-2", "weight": 1},
}
RULES = [{"class": "latency", "dport": 5201},
         {"class": "bulk", "dport": 8080, "weight": 3}]


def alloc(sharing: str = "flows", slots: int = 4096) -> QueueAllocator:
    pol = parse_policy({"defaults": {"class": "bulk", "sharing": sharing},
                        "classes": CLASSES, "rules": RULES})
    return QueueAllocator(pol, slots=slots)


def flow(sport: int, dport: int = 80, v: int = 4) -> FlowKey:
    if v == 4:
        return FlowKey(4, 17, "192.0.2.1", "198.51.100.3", sport, dport)
    return FlowKey(6, 6, "2001:db8:1::1", "2001:db8:2::3", sport, dport)


def test_free_preferred_queue_first_then_other_free() -> None:
    a = alloc()
    x = a.allocate("s1", flow(1, 5201), port=2)
    y = a.allocate("s1", flow(2, 5201), port=2)
    assert (x.cls, x.qid, x.slot) == ("latency", 6, 1)
    assert x.reason == "class latency (rule 0: dport 5201): free preferred queue 6 on port 2"
    assert (y.qid, y.slot) == (5, 2)
    assert y.reason.endswith("free queue 5 on port 2")


def test_dscp_rule_uses_the_reported_dscp_and_the_reason_names_it() -> None:
    pol = parse_policy({"defaults": {"class": "bulk"}, "classes": CLASSES,
                        "rules": [{"class": "latency", "dscp": [46, 34]}, *RULES]})
    a = QueueAllocator(pol)
    for v, port in ((4, 2), (6, 3)):
        ef = a.allocate("s1", flow(100, v=v), port=port, dscp=46)
        assert (ef.cls, ef.weight) == ("latency", 4)
        assert ef.reason.startswith("class latency (rule 0: dscp 46,34): free")
        # another DSCP, or none known (no digest), falls through to the next rules
        assert a.allocate("s1", flow(101, v=v), port=port, dscp=0).cls == "bulk"
        assert a.allocate("s1", flow(102, v=v), port=port).cls == "bulk"
        assert a.allocate("s1", flow(103, 5201, v=v), port=port, dscp=10).cls == "latency"
    # the decision is per flow: the same flow with another DSCP later keeps its class
    assert a.allocate("s1", flow(100), port=2, dscp=0).cls == "latency"


def test_queues_are_per_port_and_per_switch() -> None:
    a = alloc()
    assert a.allocate("s1", flow(1, 5201), port=2).qid == 6
    assert a.allocate("s1", flow(2, 5201), port=3).qid == 6
    assert a.allocate("s2", flow(1, 5201), port=2).qid == 6
    assert a.allocate("s2", flow(1, 5201), port=2).slot == 1  # same flow: same answer


def test_default_class_and_sharing_by_fewest_flows() -> None:
    a = alloc()
    got = [a.allocate("s1", flow(p), port=1) for p in range(10, 15)]
    assert {g.cls for g in got} == {"bulk"}
    assert [g.qid for g in got] == [1, 2, 1, 2, 1]
    assert "(default class): free queue 1" in got[0].reason
    assert got[2].reason == ("class bulk (default class): queues 1-2 all busy, shared queue 1 "
                             "on port 1 (least loaded, 1 flow)")
    assert a.load("s1", 1, 1) == (3, 3) and a.load("s1", 1, 2) == (2, 2)


def test_weighted_sharing_follows_flow_weights() -> None:
    a = alloc("weighted")
    heavy = a.allocate("s1", flow(1, 8080), port=1)  # weight 3 (rule)
    light = a.allocate("s1", flow(2), port=1)  # weight 1 (class)
    assert (heavy.qid, heavy.weight, light.qid, light.weight) == (1, 3, 2, 1)
    # by flow count the next would go to 1 (tie, order); by weight it goes to 2 (1 < 3)
    nxt = [a.allocate("s1", flow(p), port=1) for p in (3, 4)]
    assert [n.qid for n in nxt] == [2, 2]
    assert "least weighted load 1, 1 flow" in nxt[0].reason
    assert "least weighted load 2, 2 flows" in nxt[1].reason
    # now 3 vs 3: the tie goes to the class's first queue
    assert a.allocate("s1", flow(5), port=1).qid == 1


def test_release_gives_back_queue_and_slot() -> None:
    a = alloc()
    x = a.allocate("s1", flow(1, 5201), port=2)
    a.allocate("s1", flow(2, 5201), port=2)
    assert a.release("s1", flow(1, 5201)) is x
    assert a.release("s1", flow(1, 5201)) is None
    z = a.allocate("s1", flow(3, 5201), port=2)
    assert (z.qid, z.slot) == (6, 1)  # the freed preferred queue and the lowest slot
    assert "free preferred queue 6" in z.reason
    assert a.queues() == [("s1", 2, 5, 1, 4), ("s1", 2, 6, 1, 4)]


def test_slots_run_out_with_a_clear_error() -> None:
    a = alloc(slots=3)  # slots 1 and 2
    a.allocate("s1", flow(1), port=1)
    a.allocate("s1", flow(2), port=1)
    with pytest.raises(AllocationError, match="all 2 flow slots are in use"):
        a.allocate("s1", flow(3), port=1)
    assert a.get("s1", flow(3)) is None
    a.release("s1", flow(1))
    assert a.allocate("s1", flow(3), port=1).slot == 1


def test_slot_pool_claim_keeps_lowest_first() -> None:
    p = SlotPool(10)
    p.claim(3)
    assert [p.take(), p.take(), p.take()] == [1, 2, 4]
    with pytest.raises(AllocationError):
        p.claim(4)


def test_restore_round_trip() -> None:
    a = alloc()
    x = a.allocate("s1", flow(1, 5201, v=6), port=2)
    b = alloc()
    b.restore(Allocation.from_dict(x.to_dict()))
    assert b.get("s1", flow(1, 5201, v=6)).reason == x.reason
    assert b.allocate("s1", flow(2, 5201), port=2).qid == 5
    assert b.allocate("s1", flow(3), port=2).slot == 3


def test_flow_match_round_trip_v4_and_v6() -> None:
    for f in (flow(1), flow(2, v=6)):
        m = flow_match(f)
        assert set(m) == {"ip_version", "ip_src", "ip_dst", "ip_proto", "l4_sport", "l4_dport"}
        assert flow_of_match(m) == f


def test_allocator_is_fast() -> None:
    a = alloc()
    import time

    t0 = time.perf_counter()
    for i in range(4000):
        a.allocate("s1", FlowKey(4, 17, "192.0.2.1", "198.51.100.3", i, 80), port=1 + i % 4)
    rate = 4000 / (time.perf_counter() - t0)
    assert rate > 10000, f"{rate:.0f} decisions/s"
