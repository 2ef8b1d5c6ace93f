"""More v1model externs and table features through real programs: packets in, packets out."""

from __future__ import annotations

import logging

import pytest

from softswitch.engine.clock import VirtualClock
from softswitch.engine.stateful import MeterRates
from softswitch.engine.switch import Switch
from softswitch.engine.tables import Exact, Optional
from tests.engine.test_pipeline import build, eth, run, v1switch

FWD = "action fwd(bit<9> p) { standard_metadata.egress_spec = p; }"


# -- optional match kind ---------------------------------------------------------------------


def test_optional_match_with_a_value_and_a_wildcard() -> None:
    sw = build(v1switch(
        ingress_locals=FWD + """
          table acl {
            key = { hdr.ethernet.dst: optional; hdr.ethernet.etherType: exact; }
            actions = { fwd; NoAction; }
            default_action = fwd(9);
          }
        """,
        ingress="acl.apply();",
    ))
    sw.add_entry("I.acl", [Optional(0x0A0B0C0D0E0F), Exact(0x0800)], "I.fwd", [3], priority=20)
    sw.add_entry("I.acl", [Optional(None), Exact(0x0800)], "I.fwd", [4], priority=10)
    assert [p for p, _ in run(sw, 0, eth(dst=0x0A0B0C0D0E0F, etype=0x0800))] == [3]
    assert [p for p, _ in run(sw, 0, eth(dst=0x0A0B0C0D0E01, etype=0x0800))] == [4]  # wildcard
    assert [p for p, _ in run(sw, 0, eth(dst=0x0A0B0C0D0E0F, etype=0x86DD))] == [9]  # miss


def test_optional_match_in_const_entries() -> None:
    sw = build(v1switch(
        ingress_locals=FWD + """
          table acl {
            key = { hdr.ethernet.dst: optional; hdr.ethernet.etherType: optional; }
            actions = { fwd; }
            const entries = {
              (0x0A0B0C0D0E0F, 0x0800) : fwd(1);
              (_, 0x0800) : fwd(2);
              (0x0A0B0C0D0E0F, _) : fwd(3);
            }
            default_action = fwd(9);
          }
        """,
        ingress="acl.apply();",
    ))
    assert [p for p, _ in run(sw, 0, eth(dst=0x0A0B0C0D0E0F, etype=0x0800))] == [1]
    assert [p for p, _ in run(sw, 0, eth(dst=0x111111111111, etype=0x0800))] == [2]
    assert [p for p, _ in run(sw, 0, eth(dst=0x0A0B0C0D0E0F, etype=0x1234))] == [3]
    assert [p for p, _ in run(sw, 0, eth(dst=0x111111111111, etype=0x1234))] == [9]


# -- assume ----------------------------------------------------------------------------------


def test_assume_failure_is_logged_and_drops_the_packet(caplog: pytest.LogCaptureFixture) -> None:
    # BMv2 aborts the switch on a failed assert/assume; the engine logs an error and drops
    sw = build(v1switch(
        ingress="standard_metadata.egress_spec = 2; assume(hdr.ethernet.etherType != 0);",
        egress="assume(hdr.ethernet.src != 0);",
    ))
    assert [p for p, _ in run(sw, 0, eth())] == [2]
    with caplog.at_level(logging.ERROR, logger="softswitch.engine.v1model"):
        assert run(sw, 1, eth(etype=0)) == []
        assert run(sw, 1, eth(src=0)) == []
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == [
        "assertion failed in ingress (port 1); packet dropped",
        "assertion failed in egress (port 2); packet dropped",
    ]
    assert sw.dropped == 2
    assert [p for p, _ in run(sw, 0, eth())] == [2]  # the switch keeps running


# -- idle timeout ----------------------------------------------------------------------------


def test_idle_timeout_expires_unhit_entries_and_a_hit_refreshes() -> None:
    sw = build(v1switch(
        ingress_locals=FWD + """
          table flows {
            key = { hdr.ethernet.src: exact; }
            actions = { fwd; NoAction; }
            default_action = NoAction();
            support_timeout = true;
          }
        """,
        ingress="flows.apply();",
    ))
    table = sw.tables["I.flows"]
    for src in (0xA, 0xB):
        sw.add_entry("I.flows", [Exact(src)], "I.fwd", [src - 9], idle_timeout_ns=5_000_000)
    sw.add_entry("I.flows", [Exact(0xC)], "I.fwd", [3])  # no timeout: never reported

    def at(t_us: int, src: int | None = None) -> list[int]:
        sw.advance_to(t_us)
        if src is not None:
            assert [p for p, _ in run(sw, 0, eth(src=src))] == [src - 9]
        return [e.match[0].value for e in table.expired(sw.clock.now_ns())]

    assert at(3_000, src=0xA) == []  # a hit at 3 ms restarts a's timer
    assert at(4_999) == []
    assert at(5_000) == [0xB]  # b: idle since insertion at 0
    assert at(7_000) == []  # not again within a TTL of the notification
    assert at(8_000) == [0xA]
    assert at(9_000, src=0xB) == []  # a hit restarts a notified entry's timer
    assert at(12_999) == []
    assert at(13_000) == [0xA]  # a TTL after its notification at 8 ms, still no hit
    assert at(14_000) == [0xB]
    assert run(sw, 0, eth(src=0xD)) == [(0, eth(src=0xD))]  # a miss refreshes nothing
    assert at(18_000) == [0xA]
    assert table.expired(sw.clock.now_ns(), report=False) == []


# -- random ----------------------------------------------------------------------------------


RANDOM = v1switch(
    ingress="""
      bit<16> r;
      random(r, 16w100, 16w107);
      hdr.ethernet.etherType = r;
      bit<8> same;
      random(same, 8w42, 8w42);
      hdr.ethernet.src[7:0] = same;
      standard_metadata.egress_spec = 1;
    """,
)


def draws(sw: Switch, n: int) -> list[tuple[int, int]]:
    out = []
    for _ in range(n):
        (_, d), = run(sw, 0, eth())
        out.append((int.from_bytes(d[12:14], "big"), d[11]))
    return out


def test_random_is_within_bounds_and_deterministic_for_a_seed() -> None:
    first = draws(build(RANDOM, seed=7), 200)
    assert first == draws(build(RANDOM, seed=7), 200)
    assert first != draws(build(RANDOM, seed=8), 200)
    values = [v for v, _ in first]
    assert set(values) == set(range(100, 108))  # every value in [lo, hi] and nothing else
    assert {s for _, s in first} == {42}  # lo == hi


# -- direct meter ----------------------------------------------------------------------------


def test_direct_meter_colour_follows_the_configured_rates() -> None:
    sw = build(v1switch(
        ingress_locals="""
          direct_meter<bit<2>>(MeterType.packets) dm;
          action colour() {
            dm.read(hdr.ethernet.etherType[1:0]);
            standard_metadata.egress_spec = 1;
          }
          table metered {
            key = { hdr.ethernet.src: exact; }
            actions = { colour; NoAction; }
            default_action = NoAction();
            meters = dm;
          }
        """,
        ingress="metered.apply();",
    ))
    e = sw.add_entry("I.metered", [Exact(0x010203040506)], "I.colour")
    # committed 1000 packets/s (burst 1), peak 2000 packets/s (burst 2)
    e.meter.set_rates(MeterRates.from_per_second(1000, 1, 2000, 2))

    def burst(t_us: int, n: int) -> list[int]:
        sw.advance_to(t_us)
        out = []
        for _ in range(n):
            (_, d), = run(sw, 0, eth(etype=0xFFF0))
            out.append(d[13] & 3)
        return out

    green, yellow, red = 0, 1, 2
    assert burst(0, 4) == [green, yellow, red, red]
    assert burst(500, 2) == [yellow, red]  # half a ms: one peak token, no committed token
    assert burst(2_000, 3) == [green, yellow, red]  # refilled (to the bursts)
    assert burst(3_000, 1) == [green]


def test_entry_meter_cells_start_their_clock_when_the_entry_arrives() -> None:
    clock = VirtualClock(start_us=7_000_000)  # the program loads 7 s into the run
    sw = build(v1switch(
        ingress_locals="""
          direct_meter<bit<2>>(MeterType.packets) dm;
          action colour() { dm.read(hdr.ethernet.etherType[1:0]); }
          table metered {
            key = { hdr.ethernet.src: exact; }
            actions = { colour; NoAction; }
            meters = dm;
            entries = { 0x010203040506 : colour(); }
          }
        """,
        ingress="metered.apply();",
    ), clock=clock)
    table = sw.tables["I.metered"]
    (initial,) = table.entries()
    assert initial.meter.time_origin_us == 7_000_000  # load time, not 0
    assert initial.last_hit_ns == 7_000_000_000
    sw.advance_to(7_500_000)
    added = sw.add_entry("I.metered", [Exact(0x0A)], "I.colour")
    assert added.meter.time_origin_us == 7_500_000  # the table makes the cell on insertion
    assert added.meter.unit == "packets"


# -- log_msg ---------------------------------------------------------------------------------


def test_log_msg_reaches_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    sw = build(v1switch(
        ingress="""
          log_msg("ingress");
          log_msg("port {} type {} dst {}", { standard_metadata.ingress_port,
                                             hdr.ethernet.etherType, hdr.ethernet.dst });
          standard_metadata.egress_spec = 1;
        """,
        egress='log_msg("egress port {}", { standard_metadata.egress_port });',
    ))
    with caplog.at_level(logging.INFO, logger="softswitch.p4.log_msg"):
        out = run(sw, 5, eth(dst=0x0A, etype=0x0800))
    assert [p for p, _ in out] == [1]
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("softswitch.p4.log_msg", "INFO", "ingress"),
        ("softswitch.p4.log_msg", "INFO", "port 5 type 2048 dst 10"),
        ("softswitch.p4.log_msg", "INFO", "egress port 1"),
    ]
