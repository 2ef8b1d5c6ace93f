"""simple_switch semantics: externs, cloning, resubmit/recirculate, multicast, queues, digests."""

from __future__ import annotations

import logging

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from softswitch.engine import hashes
from softswitch.engine.tables import Exact, Lpm
from softswitch.engine.v1model import (
    PKT_INSTANCE_TYPE_EGRESS_CLONE,
    PKT_INSTANCE_TYPE_INGRESS_CLONE,
    PKT_INSTANCE_TYPE_NORMAL,
    PKT_INSTANCE_TYPE_RECIRC,
    PKT_INSTANCE_TYPE_REPLICATION,
    PKT_INSTANCE_TYPE_RESUBMIT,
)
from tests.engine.test_pipeline import build, eth, run, v1switch

IPV4 = """
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen;
  bit<16> identification; bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol;
  bit<16> hdrChecksum; bit<32> srcAddr; bit<32> dstAddr; }
"""

IPV4_FIELDS = """{ hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
  hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl, hdr.ipv4.protocol,
  hdr.ipv4.srcAddr, hdr.ipv4.dstAddr }"""

ROUTER = v1switch(
    decls=IPV4,
    headers="ethernet_t ethernet; ipv4_t ipv4;",
    parser="""
      state start { pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x800: parse_ipv4; default: accept; } }
      state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
    """,
    verify=f"verify_checksum(hdr.ipv4.isValid(), {IPV4_FIELDS}, hdr.ipv4.hdrChecksum,"
    " HashAlgorithm.csum16);",
    ingress_locals="""
      counter(8, CounterType.packets_and_bytes) port_pkts;
      register<bit<32>>(8) seen;
      direct_counter(CounterType.packets) route_hits;
      action drop() { mark_to_drop(standard_metadata); }
      action route(bit<48> dmac, bit<9> port) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.src = hdr.ethernet.dst;
        hdr.ethernet.dst = dmac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
      }
      table lpm { key = { hdr.ipv4.dstAddr: lpm; } actions = { route; drop; }
                  default_action = drop(); counters = route_hits; }
    """,
    ingress="""
      port_pkts.count((bit<32>)standard_metadata.ingress_port);
      if (standard_metadata.checksum_error == 1) { drop(); return; }
      if (hdr.ipv4.isValid()) {
        lpm.apply();
        bit<32> n;
        seen.read(n, (bit<32>)standard_metadata.ingress_port);
        seen.write((bit<32>)standard_metadata.ingress_port, n + 1);
      }
    """,
    compute=f"update_checksum(hdr.ipv4.isValid(), {IPV4_FIELDS}, hdr.ipv4.hdrChecksum,"
    " HashAlgorithm.csum16);",
    deparser="pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4);",
)


def ip_packet(dst: str = "198.51.100.3", ttl: int = 64, payload: bytes = b"hello") -> bytes:
    return bytes(Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
                 / IP(src="192.0.2.1", dst=dst, ttl=ttl) / UDP(sport=1, dport=2) / payload)


def test_l3_routing_checksums_counters_registers_direct_counter() -> None:
    sw = build(ROUTER)
    e = sw.add_entry("I.lpm", [Lpm(0xC6336400, 24)], "I.route", [0x112233445566, 3])
    out = run(sw, 1, ip_packet())
    assert len(out) == 1
    port, data = out[0]
    assert port == 3
    pkt = Ether(data)
    assert pkt.dst == "11:22:33:44:55:66" and pkt.src == "00:00:00:00:00:01"
    assert pkt[IP].ttl == 63
    # the deparsed checksum is the one a fresh computation gives
    assert pkt[IP].chksum == Ether(bytes(pkt.copy().__class__(data)))[IP].chksum
    fixed = IP(bytes(pkt[IP]))
    del fixed.chksum
    assert IP(bytes(fixed)).chksum == pkt[IP].chksum
    assert bytes(pkt[UDP].payload) == b"hello"
    # miss -> default drop; bad checksum -> dropped by the program
    assert run(sw, 2, ip_packet(dst="11.0.0.1")) == []
    bad = bytearray(ip_packet())
    bad[24] ^= 0xFF
    assert run(sw, 1, bytes(bad)) == []
    assert sw.counters["I.port_pkts"].read(1) == (2, 2 * len(ip_packet()))
    assert sw.counters["I.port_pkts"].read(2)[0] == 1
    assert sw.registers["I.seen"].get(1) == 1  # the bad-checksum packet returned before
    assert sw.registers["I.seen"].get(2) == 1
    assert e.packets == 1 and e.bytes == len(ip_packet())


MIRROR = v1switch(
    meta="@field_list(1) bit<8> tag; bit<8> other;",
    ingress="""
      standard_metadata.egress_spec = 1;
      meta.tag = 0x5A; meta.other = 0x77;
      if (hdr.ethernet.etherType == 1) { clone(CloneType.I2E, 5); }
      if (hdr.ethernet.etherType == 2) { clone_preserving_field_list(CloneType.I2E, 5, 1); }
      hdr.ethernet.src = 0xAAAA;
    """,
    egress="""
      hdr.ethernet.dst = (bit<48>)standard_metadata.instance_type;
      hdr.ethernet.src[15:0] = meta.tag ++ meta.other;
      if (hdr.ethernet.etherType == 3 && standard_metadata.instance_type == 0) {
        clone_preserving_field_list(CloneType.E2E, 6, 1);
        hdr.ethernet.etherType = 0x33;
      }
    """,
)


def test_ingress_clone_is_the_received_packet_with_only_preserved_fields() -> None:
    sw = build(MIRROR)
    sw.pre.set_clone_session(5, [4])
    out = run(sw, 2, eth(etype=1) + b"p")
    by_port = dict(out)
    assert set(by_port) == {1, 4}
    # the original: processed headers; instance type NORMAL
    assert by_port[1][:6] == PKT_INSTANCE_TYPE_NORMAL.to_bytes(6, "big")
    assert by_port[1][6:12] == (0x5A77).to_bytes(6, "big")
    # the clone: the packet as received (src unchanged), metadata reset
    assert by_port[4][:6] == PKT_INSTANCE_TYPE_INGRESS_CLONE.to_bytes(6, "big")
    assert by_port[4][6:12] == (0x010203040000).to_bytes(6, "big")
    out = dict(run(sw, 2, eth(etype=2) + b"p"))
    assert out[4][6:12] == (0x010203045A00).to_bytes(6, "big")  # only the field list survives


def test_egress_clone_carries_egress_headers_and_clone_session_truncation() -> None:
    sw = build(MIRROR)
    sw.pre.set_clone_session(6, [7], truncate_bytes=14)
    out = run(sw, 2, eth(etype=3) + b"payload")
    by_port = dict(out)
    assert set(by_port) == {1, 7}
    assert by_port[1][12:14] == b"\x00\x33"
    clone = by_port[7]
    assert len(clone) == 14  # truncated by the session
    assert clone[:6] == PKT_INSTANCE_TYPE_EGRESS_CLONE.to_bytes(6, "big")
    assert clone[12:14] == b"\x00\x33"  # the egress-processed header went into the clone
    assert clone[6:12] == (0x5A00).to_bytes(6, "big")


def test_unconfigured_clone_session_makes_no_copy() -> None:
    sw = build(MIRROR)
    assert [p for p, _ in run(sw, 2, eth(etype=1))] == [1]


RESUBMIT = v1switch(
    meta="@field_list(0) bit<8> rounds; bit<8> lost;",
    ingress="""
      standard_metadata.egress_spec = 1;
      if (standard_metadata.instance_type == 0) {
        meta.rounds = 1; meta.lost = 1;
        resubmit_preserving_field_list(0);
      } else {
        hdr.ethernet.dst = (bit<48>)standard_metadata.instance_type;
        hdr.ethernet.src = (bit<48>)(meta.rounds ++ meta.lost);
      }
    """,
    egress="""
      if (standard_metadata.instance_type == 0 && hdr.ethernet.etherType == 0x1234) {
        hdr.ethernet.etherType = 0x4321;
        recirculate_preserving_field_list(0);
      }
    """,
)


def test_resubmit_and_recirculate_preserve_field_lists() -> None:
    sw = build(RESUBMIT)
    out = run(sw, 3, eth(etype=0x1234) + b"x")
    # resubmitted once (rounds preserved, lost reset), then recirculated from egress; the
    # recirculated pass sees RECIRC and is not recirculated again
    assert len(out) == 1
    port, data = out[0]
    assert port == 1
    assert data[:6] == PKT_INSTANCE_TYPE_RECIRC.to_bytes(6, "big")
    assert data[12:14] == b"\x43\x21"
    sw2 = build(RESUBMIT.replace("recirculate_preserving_field_list(0);", ""))
    (_, data), = run(sw2, 3, eth() + b"x")
    assert data[:6] == PKT_INSTANCE_TYPE_RESUBMIT.to_bytes(6, "big")
    assert data[6:12] == (0x0100).to_bytes(6, "big")


def test_multicast_replicates_with_egress_rid() -> None:
    sw = build(v1switch(
        ingress="standard_metadata.mcast_grp = 9;",
        egress="""
          hdr.ethernet.dst = (bit<48>)standard_metadata.egress_rid;
          hdr.ethernet.etherType = (bit<16>)standard_metadata.instance_type;
          if (standard_metadata.egress_port == 3) { mark_to_drop(standard_metadata); }
        """,
    ))
    sw.pre.set_group(9, [(1, 10), (2, 10), (3, 11), (4, 11)])
    out = run(sw, 0, eth() + b"m")
    assert [p for p, _ in out] == [1, 2, 4]
    assert [int.from_bytes(d[:6], "big") for _, d in out] == [10, 10, 11]
    assert {d[12:14] for _, d in out} == {PKT_INSTANCE_TYPE_REPLICATION.to_bytes(2, "big")}


def test_priority_queues_with_rates_on_the_virtual_clock() -> None:
    sw = build(v1switch(
        ingress="""
          standard_metadata.egress_spec = 1;
          standard_metadata.priority = (bit<3>)hdr.ethernet.etherType;
        """,
        egress="""
          hdr.ethernet.src = (bit<48>)standard_metadata.deq_timedelta;
          hdr.ethernet.dst = (bit<48>)standard_metadata.enq_qdepth;
        """,
    ), priority_queues=2)
    sw.tm.set_queue_rate(1, 1000)  # one packet per ms on every queue of port 1
    for i in range(3):
        sw.inject(0, eth(etype=0) + bytes([i]))
    for i in range(2):
        sw.inject(0, eth(etype=1) + bytes([10 + i]))
    sw.run_until_idle()
    out = sw.outputs()
    # each queue is gated at 1000 pps; at equal times the high queue (index 1) goes first
    assert [d[-1] for _, d in out] == [10, 0, 11, 1, 2]
    assert [int.from_bytes(d[6:12], "big") for _, d in out] == [0, 0, 1000, 1000, 2000]
    assert [int.from_bytes(d[:6], "big") for _, d in out] == [0, 0, 1, 1, 2]  # enq_qdepth
    assert sw.clock.now_us() == 2000


DIGEST = v1switch(
    decls="struct learn_t { bit<48> src; bit<9> port; bit<8> k; }",
    meta="learn_t l;",
    ingress_locals="""
      action learn(bit<8> k) {
        digest<learn_t>(1, { hdr.ethernet.src, standard_metadata.ingress_port, k });
      }
    """,
    ingress="""
      learn(7);
      meta.l.src = 5;
      digest(2, meta.l);
      meta.l.src = 6;                  // BMv2 reads header/metadata fields when ingress ends
      hdr.ethernet.src = 0x123;
      standard_metadata.egress_spec = 1;
    """,
)


def test_digest_emitted_with_field_values_at_the_end_of_ingress() -> None:
    sw = build(DIGEST)
    run(sw, 6, eth(src=0xABCDEF))
    d1, d2 = sw.digests()
    assert d1.name == "learn_t" and d1.receiver == 1 and d1.values == (0x123, 6, 7)
    assert d2.receiver == 2 and d2.values == (6, 0, 0)
    assert sw.digests() == []


def test_hash_values_match_the_algorithms() -> None:
    sw = build(v1switch(
        decls="header h_t { bit<16> crc16; bit<32> crc32; bit<16> csum; bit<8> ident; }",
        headers="ethernet_t ethernet; h_t h;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.h); transition accept; }",
        ingress="""
          hash(hdr.h.crc16, HashAlgorithm.crc16, 16w0, { hdr.ethernet.src, hdr.ethernet.etherType },
               32w65536);
          hash(hdr.h.crc32, HashAlgorithm.crc32, 32w0, { hdr.ethernet.src }, 64w4294967296);
          hash(hdr.h.csum, HashAlgorithm.csum16, 16w0, { hdr.ethernet.dst }, 32w65536);
          hash(hdr.h.ident, HashAlgorithm.identity, 8w100, { hdr.ethernet.etherType }, 16w10);
        """,
    ))
    (_, d), = run(sw, 0, eth(src=0x0102030405FF, dst=0x111111111111, etype=0x1234) + bytes(9))
    src = (0x0102030405FF).to_bytes(6, "big")
    assert int.from_bytes(d[14:16], "big") == hashes.compute("crc16", src + b"\x12\x34")
    assert int.from_bytes(d[16:20], "big") == hashes.compute("crc32", src)
    assert int.from_bytes(d[20:22], "big") == hashes.compute("csum16", b"\x11" * 6)
    assert d[22] == 100 + 0x1234 % 10


def test_meter_colours_and_truncate_and_assert_and_log(caplog: object) -> None:
    sw = build(v1switch(
        ingress_locals="meter(4, MeterType.packets) m;",
        ingress="""
          bit<2> colour;
          m.execute_meter((bit<32>)0, colour);
          hdr.ethernet.etherType = (bit<16>)colour;
          standard_metadata.egress_spec = 1;
          truncate(14);
          log_msg("colour {}", { colour });
          assert(hdr.ethernet.dst != 0);
        """,
    ))
    from softswitch.engine.stateful import MeterRates

    sw.meters["I.m"].set_rates(0, MeterRates(cir=0.0, cburst=1, pir=0.0, pburst=2))
    colours = []
    with caplog.at_level(logging.INFO):  # type: ignore[attr-defined]
        for _ in range(3):
            (_, d), = run(sw, 0, eth() + b"tail")
            assert len(d) == 14
            colours.append(int.from_bytes(d[12:14], "big"))
    assert colours == [0, 1, 2]  # green, yellow (peak has a token), red
    assert "colour 0" in caplog.text  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):  # type: ignore[attr-defined]
        assert run(sw, 0, eth(dst=0)) == []
    assert "assertion failed" in caplog.text  # type: ignore[attr-defined]


def test_exact_key_on_ingress_port_and_instance_type_values() -> None:
    sw = build(v1switch(
        ingress_locals="""
          action fwd(bit<9> p) { standard_metadata.egress_spec = p; }
          table t { key = { standard_metadata.ingress_port: exact; } actions = { fwd; } }
        """,
        ingress="t.apply();",
    ))
    sw.add_entry("I.t", [Exact(4)], "I.fwd", [8])
    assert [p for p, _ in run(sw, 4, eth())] == [8]
    assert [p for p, _ in run(sw, 5, eth())] == [0]
    assert PKT_INSTANCE_TYPE_NORMAL == 0 and PKT_INSTANCE_TYPE_RESUBMIT == 6


def test_direct_meter_and_action_profile() -> None:
    from softswitch.engine.action_profiles import ProfileRef
    from softswitch.engine.stateful import MeterRates
    from softswitch.engine.tables import ActionCall, TableEntry

    sw = build(v1switch(
        ingress_locals="""
          direct_meter<bit<2>>(MeterType.packets) dm;
          action colour() { dm.read(hdr.ethernet.etherType[1:0]); }
          table metered { key = { hdr.ethernet.src: exact; } actions = { colour; }
                          meters = dm; }
          action fwd(bit<9> p) { standard_metadata.egress_spec = p; }
          table prof { key = { hdr.ethernet.dst: exact; } actions = { fwd; }
                       implementation = action_profile(4); }
        """,
        ingress="metered.apply(); prof.apply();",
    ))
    e = sw.add_entry("I.metered", [Exact(0x010203040506)], "I.colour")
    e.meter.set_rates(MeterRates(cir=0.0, cburst=1, pir=0.0, pburst=2))
    t = sw.tables["I.prof"]
    t.profile.add_member(1, ActionCall("I.fwd", (6,)))
    t.add(TableEntry(match=(Exact(0x0A0B0C0D0E0F),), action=ProfileRef(member=1)))
    out = [run(sw, 0, eth(etype=0xFFF0)) for _ in range(3)]
    assert [o[0][0] for o in out] == [6, 6, 6]
    assert [o[0][1][13] & 3 for o in out] == [0, 1, 2]


def test_checksum_with_payload_and_multicast_clone_session() -> None:
    sw = build(v1switch(
        decls="header c_t { bit<16> csum; }",
        headers="ethernet_t ethernet; c_t c;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.c); transition accept; }",
        ingress="standard_metadata.egress_spec = 1; clone(CloneType.I2E, 3);",
        egress="hdr.ethernet.src = (bit<48>)standard_metadata.egress_rid;",
        compute="""update_checksum_with_payload(true, { hdr.ethernet.etherType }, hdr.c.csum,
                                                    HashAlgorithm.csum16);""",
    ))
    sw.pre.set_group(2, [(4, 7), (5, 8)])
    sw.pre.set_clone_session(3, mcast_grp=2)
    out = run(sw, 0, eth(etype=0x0102) + b"\x00\x00" + b"\x10\x20\x30")
    assert [p for p, _ in out] == [1, 4, 5]
    want = hashes.compute("csum16", b"\x01\x02\x10\x20\x30")
    for _, d in out:
        assert int.from_bytes(d[14:16], "big") == want
    assert [int.from_bytes(d[6:12], "big") for _, d in out] == [0, 7, 8]


def test_action_selector_picks_members_by_hash_of_selector_keys() -> None:
    from softswitch.engine.action_profiles import ProfileRef
    from softswitch.engine.tables import ActionCall, TableEntry

    sw = build(v1switch(
        ingress_locals="""
          action fwd(bit<9> p) { standard_metadata.egress_spec = p; }
          table ecmp { key = { hdr.ethernet.dst: exact; hdr.ethernet.src: selector; }
                       actions = { fwd; }
                       implementation = action_selector(HashAlgorithm.crc16, 16, 10); }
        """,
        ingress="ecmp.apply();",
    ))
    t = sw.tables["I.ecmp"]
    for m in range(3):
        t.profile.add_member(m, ActionCall("I.fwd", (10 + m,)))
    t.profile.create_group(1, [0, 1, 2])
    t.add(TableEntry(match=(Exact(0x0A0B0C0D0E0F),), action=ProfileRef(group=1)))
    for src in (1, 2, 3, 0xABCDEF):
        h = hashes.hash_fields("crc16", [(src, 48)])
        (port, _), = run(sw, 0, eth(src=src))
        assert port == 10 + h % 3
    # weights: member 1 counts twice, so the pick is hash % 4 over slots 0, 1, 1, 2
    t.profile.set_group_members(1, {0: 1, 1: 2, 2: 1})
    for src in (1, 2, 3, 0xABCDEF):
        h = hashes.hash_fields("crc16", [(src, 48)])
        (port, _), = run(sw, 0, eth(src=src))
        assert port == 10 + [0, 1, 1, 2][h % 4]


def test_a_miss_counts_in_no_direct_counter_as_in_bmv2() -> None:
    # BMv2 (match_units.cpp, match_tables.cpp) updates the direct counter and runs the direct
    # meter only on a hit; its PI refuses default-entry direct resources
    sw = build(v1switch(
        ingress_locals="""
          direct_counter(CounterType.packets_and_bytes) dc;
          action fwd(bit<9> p) { standard_metadata.egress_spec = p; }
          table counted { key = { hdr.ethernet.src: exact; } actions = { fwd; NoAction; }
                          default_action = fwd(3); counters = dc; }
        """,
        ingress="counted.apply();",
    ))
    e = sw.add_entry("I.counted", [Exact(1)], "I.fwd", [2])
    assert [p for p, _ in run(sw, 0, eth(src=1))] == [2]
    assert [p for p, _ in run(sw, 0, eth(src=5))] == [3]  # a miss: the default action
    assert (e.packets, e.bytes) == (1, 14)


def test_tail_drop_and_real_clock_run() -> None:
    from softswitch.engine.clock import RealClock

    prog = v1switch(ingress="standard_metadata.egress_spec = 2;")
    sw = build(prog)
    sw.tm.set_queue_depth(2, 2)
    sw.tm.set_queue_rate(2, 1000)
    for i in range(5):
        sw.inject(0, eth() + bytes([i]))
    sw.run_until_idle()
    # ingress runs for all five at t=0, before anything departs: two fit, three are dropped
    assert [d[-1] for _, d in sw.outputs()] == [0, 1]
    assert sw.dropped == 3
    live = build(prog, clock=RealClock())
    live.tm.set_queue_rate(2, 2000)
    for i in range(3):
        live.inject(0, eth() + bytes([i]))
    live.run_until_idle()
    assert [d[-1] for _, d in live.outputs()] == [0, 1, 2]


def test_advance_to_interleaves_arrivals_with_departures() -> None:
    sw = build(v1switch(
        ingress="standard_metadata.egress_spec = 2;",
        egress="hdr.ethernet.src = (bit<48>)standard_metadata.enq_timestamp;",
    ))
    sw.tm.set_queue_rate(2, 1000)
    sw.inject(0, eth() + b"a")
    sw.inject(0, eth() + b"b")
    sw.advance_to(500)
    assert [d[-1:] for _, d in sw.outputs()] == [b"a"]
    sw.inject(0, eth() + b"c")  # arrives at 500, behind b
    sw.advance_to(5000)
    out = sw.outputs()
    assert [d[-1:] for _, d in out] == [b"b", b"c"]
    assert [int.from_bytes(d[6:12], "big") for _, d in out] == [0, 500]


def test_deprecated_resubmit_with_data_preserves_those_fields() -> None:
    sw = build(v1switch(meta="bit<8> rounds; bit<8> lost;", ingress="""
      standard_metadata.egress_spec = 1;
      if (standard_metadata.instance_type == 0) {
        meta.rounds = 3; meta.lost = 4; resubmit({ meta.rounds });
      } else {
        hdr.ethernet.src = (bit<48>)(meta.rounds ++ meta.lost);
      }
    """))
    assert run(sw, 1, eth())[0][1][6:12] == (0x0300).to_bytes(6, "big")


# -- drop port ---------------------------------------------------------------------------------

DROP_PORT_PROGRAM = v1switch(
    decls="header r_t { bit<16> spec; }",
    headers="ethernet_t ethernet; r_t r;",
    parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
    ingress="""
      if (hdr.ethernet.etherType == 1) { mark_to_drop(standard_metadata); }
      else { standard_metadata.egress_spec = (bit<9>)hdr.r.spec; }
    """,
    egress="hdr.r.spec = (bit<16>)standard_metadata.egress_spec;",  # what egress starts with
)


def test_drop_port_is_a_switch_option_as_bmv2s_drop_port() -> None:
    default = build(DROP_PORT_PROGRAM)
    assert run(default, 0, eth(etype=1) + b"\x00\x05") == []  # mark_to_drop
    assert run(default, 0, eth(etype=2) + b"\x01\xff") == []  # egress_spec 511
    assert run(default, 0, eth(etype=2) + b"\x00\x07") == [(7, eth(etype=2) + b"\x00\x00")]

    sw = build(DROP_PORT_PROGRAM, drop_port=7)
    assert sw.pipeline.drop_port == 7
    assert run(sw, 0, eth(etype=1) + b"\x00\x05") == []  # mark_to_drop sets 7
    assert run(sw, 0, eth(etype=2) + b"\x00\x07") == []  # egress_spec 7 drops
    # 511 is an ordinary port now; egress starts with egress_spec one past the drop port
    assert run(sw, 0, eth(etype=2) + b"\x01\xff") == [(511, eth(etype=2) + b"\x00\x08")]
    assert sw.dropped == 2
