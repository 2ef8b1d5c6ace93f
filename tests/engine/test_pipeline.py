"""Code generation and language semantics: programs written here, real packets in and out."""

from __future__ import annotations

import struct

import pytest

from softswitch.engine.switch import Switch
from softswitch.engine.tables import Exact
from softswitch.frontend.compiler import compile_text

PRELUDE = "#include <core.p4>\n#include <v1model.p4>\n"

ETH = """
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
"""

EMPTY_CONTROLS = """
control NoVerify(inout headers hdr, inout metadata meta) { apply { } }
control NoCompute(inout headers hdr, inout metadata meta) { apply { } }
"""


def build(text: str, **kw: object) -> Switch:
    """A switch running the P4 program ``text`` (the v1model prelude is added)."""
    result = compile_text(PRELUDE + text, "test.p4", p4info=False)
    return Switch.from_program(result, **kw)  # type: ignore[arg-type]


def v1switch(
    *,
    decls: str = "",
    meta: str = "bit<8> unused;",
    headers: str = "ethernet_t ethernet;",
    parser: str = "state start { pkt.extract(hdr.ethernet); transition accept; }",
    ingress: str = "",
    ingress_locals: str = "",
    egress: str = "",
    egress_locals: str = "",
    deparser: str = "pkt.emit(hdr);",
    verify: str = "",
    compute: str = "",
) -> str:
    """A whole v1model program from its parts."""
    return f"""
{ETH}
{decls}
struct headers {{ {headers} }}
struct metadata {{ {meta} }}
parser P(packet_in pkt, out headers hdr, inout metadata meta,
         inout standard_metadata_t standard_metadata) {{
  {parser}
}}
control VC(inout headers hdr, inout metadata meta) {{ apply {{ {verify} }} }}
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {{
  {ingress_locals}
  apply {{ {ingress} }}
}}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {{
  {egress_locals}
  apply {{ {egress} }}
}}
control CC(inout headers hdr, inout metadata meta) {{ apply {{ {compute} }} }}
control D(packet_out pkt, in headers hdr) {{ apply {{ {deparser} }} }}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def eth(dst: int = 0x0A0B0C0D0E0F, src: int = 0x010203040506, etype: int = 0x1234) -> bytes:
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + etype.to_bytes(2, "big")


def run(sw: Switch, port: int, data: bytes) -> list[tuple[int, bytes]]:
    sw.inject(port, data)
    sw.run_until_idle()
    return sw.outputs()


# -- basic forwarding ------------------------------------------------------------------------


def test_egress_spec_defaults_to_port_0_and_payload_is_kept() -> None:
    sw = build(v1switch())
    assert run(sw, 3, eth() + b"payload") == [(0, eth() + b"payload")]


def test_port_511_drops() -> None:
    sw = build(v1switch(ingress="standard_metadata.egress_spec = 511;"))
    assert run(sw, 1, eth()) == []
    assert sw.dropped == 1
    sw = build(v1switch(ingress="mark_to_drop(standard_metadata);"))
    assert run(sw, 1, eth()) == []


def test_exact_table_forwarding_hit_miss_and_default_action() -> None:
    sw = build(v1switch(
        ingress_locals="""
          action fwd(bit<9> port) { standard_metadata.egress_spec = port; }
          action mark() { hdr.ethernet.etherType = 0xdead; standard_metadata.egress_spec = 7; }
          table t { key = { hdr.ethernet.dst: exact; } actions = { fwd; mark; }
                    default_action = mark(); }
        """,
        ingress="""
          if (t.apply().hit) { hdr.ethernet.src = 1; } else { hdr.ethernet.src = 2; }
        """,
    ))
    sw.add_entry("I.t", [Exact(0x0A0B0C0D0E0F)], "I.fwd", [5])
    (port, data), = run(sw, 1, eth())
    assert port == 5 and data[6:12] == (1).to_bytes(6, "big")
    (port, data), = run(sw, 1, eth(dst=1))
    assert port == 7 and data[6:12] == (2).to_bytes(6, "big") and data[12:14] == b"\xde\xad"
    sw.set_default_action("I.t", "I.fwd", [9])
    (port, _), = run(sw, 1, eth(dst=1))
    assert port == 9


def test_parser_error_reaches_ingress_with_payload_unparsed() -> None:
    sw = build(v1switch(
        decls="header big_t { bit<128> x; }",
        headers="ethernet_t ethernet; big_t big;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.big); transition accept; }",
        ingress="""
          if (standard_metadata.parser_error == error.PacketTooShort) {
            hdr.ethernet.etherType = 0xEEEE;
          }
          standard_metadata.egress_spec = 2;
        """,
    ))
    out = run(sw, 1, eth() + b"short")
    assert out == [(2, eth(etype=0xEEEE) + b"short")]
    out = run(sw, 1, eth() + bytes(16) + b"rest")
    assert out == [(2, eth() + bytes(16) + b"rest")]


def test_select_masks_ranges_default_and_noMatch() -> None:
    sw = build(v1switch(
        decls="header b_t { bit<8> v; }",
        headers="ethernet_t ethernet; b_t b;",
        parser="""
          state start { pkt.extract(hdr.ethernet);
            transition select(hdr.ethernet.etherType) {
              0x0800 &&& 0xFF00: one; 0x1000 .. 0x10FF: two; 0x2000: reject_it; default: accept; } }
          state one { pkt.extract(hdr.b); hdr.b.v = 1; transition accept; }
          state two { pkt.extract(hdr.b); hdr.b.v = 2; transition accept; }
          state reject_it { transition select(hdr.ethernet.src[7:0]) { 0: accept; } }
        """,
        ingress="""
          if (standard_metadata.parser_error == error.NoMatch) { hdr.ethernet.dst = 0xBAD; }
        """,
    ))
    assert run(sw, 0, eth(etype=0x08AA) + b"\x55")[0][1] == eth(etype=0x08AA) + b"\x01"
    assert run(sw, 0, eth(etype=0x1050) + b"\x55")[0][1] == eth(etype=0x1050) + b"\x02"
    assert run(sw, 0, eth(etype=0x3000) + b"\x55")[0][1] == eth(etype=0x3000) + b"\x55"
    assert run(sw, 0, eth(etype=0x2000) + b"\x55")[0][1] == eth(dst=0xBAD, etype=0x2000) + b"\x55"


# -- expressions -----------------------------------------------------------------------------

ARITH_DECLS = """
header r_t { bit<8> a; bit<8> b; int<8> s; int<8> t; bit<8> o1; bit<8> o2; bit<8> o3; bit<8> o4;
             bit<8> o5; bit<8> o6; bit<8> o7; bit<8> o8; bit<16> cat; int<8> so1; int<8> so2;
             bit<8> o9; bit<8> o10; bit<8> o11; bit<8> o12; }
"""


def test_bit_and_int_arithmetic_wraps_saturates_shifts_slices_casts() -> None:
    sw = build(v1switch(
        decls=ARITH_DECLS,
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress="""
          hdr.r.o1 = hdr.r.a + hdr.r.b;            // wraps
          hdr.r.o2 = hdr.r.a |+| hdr.r.b;          // saturates
          hdr.r.o3 = hdr.r.b |-| hdr.r.a;          // saturates at 0
          hdr.r.o4 = hdr.r.a << 4;
          hdr.r.o5 = hdr.r.a >> 3;
          hdr.r.o6 = hdr.r.a[7:4] ++ hdr.r.b[3:0];
          hdr.r.o7 = (bit<8>)hdr.r.s;              // two's complement bits
          hdr.r.o8 = -hdr.r.a;
          hdr.r.cat = hdr.r.a ++ hdr.r.b;
          hdr.r.so1 = hdr.r.s |+| hdr.r.t;         // signed saturation
          hdr.r.so2 = hdr.r.s >> 1;                // arithmetic shift
          hdr.r.o9 = (bit<8>)(hdr.r.s < hdr.r.t ? 8w1 : 8w0);
          hdr.r.o10 = ~hdr.r.a;
          hdr.r.o11 = hdr.r.a << (hdr.r.b & 15);
          hdr.r.o12[3:0] = 4w0xF;
        """,
    ))
    a, b, s, t = 0xF0, 0x31, -100, -100
    r = struct.pack("BBbb", a, b, s, t) + bytes(8) + bytes(2) + bytes(2) + bytes(4)
    (_, data), = run(sw, 0, eth() + r)
    o = data[14:]
    assert o[4] == (a + b) & 0xFF
    assert o[5] == 0xFF
    assert o[6] == 0
    assert o[7] == (a << 4) & 0xFF
    assert o[8] == a >> 3
    assert o[9] == 0xF1
    assert o[10] == (-100) & 0xFF
    assert o[11] == (-a) & 0xFF
    assert o[12:14] == bytes([a, b])
    assert struct.unpack("b", o[14:15])[0] == -128
    assert struct.unpack("b", o[15:16])[0] == -50
    assert o[16] == 0  # -100 < -100 is false
    assert o[17] == (~a) & 0xFF
    assert o[18] == 0xE0  # b & 15 == 1
    assert o[19] == 0x0F


def test_shift_by_field_amount() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; bit<8> n; bit<8> o; bit<8> p; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress="hdr.r.o = hdr.r.a << hdr.r.n; hdr.r.p = hdr.r.a >> hdr.r.n;",
    ))
    for n in (0, 1, 7, 8, 200):
        (_, data), = run(sw, 0, eth() + bytes([0x81, n, 0, 0]))
        assert data[16] == (0x81 << n) & 0xFF
        assert data[17] == 0x81 >> n


# -- statements, calls, tables ---------------------------------------------------------------

CALLS = """
header r_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
bit<8> twice(in bit<8> x) { return x + x; }
void swap(inout bit<8> x, inout bit<8> y) { bit<8> t = x; x = y; y = t; }
void split(in bit<8> v, out bit<8> hi, out bit<8> lo) { hi = v >> 4; lo = v & 0xF; }
"""


def test_functions_copy_in_copy_out_actions_and_exit() -> None:
    sw = build(v1switch(
        decls=CALLS,
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="""
          bit<8> local_v;
          action add_to(inout bit<8> x, bit<8> k) { x = x + k; }
          action set_c(bit<8> v) { hdr.r.c = v; local_v = v; }
        """,
        ingress="""
          swap(hdr.r.a, hdr.r.b);
          hdr.r.c = twice(hdr.r.c);
          split(hdr.r.d, hdr.r.d, _);
          add_to(hdr.r.a, 3);
          if (hdr.r.a == 0x13) { set_c(0x77); hdr.r.b = local_v; exit; }
          hdr.r.b = 0xEE;
        """,
    ))
    (_, data), = run(sw, 0, eth() + bytes([1, 0x10, 5, 0xAB]))
    assert list(data[14:]) == [0x13, 0x77, 0x77, 0x0A]
    (_, data), = run(sw, 0, eth() + bytes([1, 0x20, 5, 0xAB]))
    assert list(data[14:]) == [0x23, 0xEE, 10, 0x0A]


def test_switch_on_action_run_and_on_values() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; bit<8> b; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="""
          action a1() { } action a2() { }
          table t { key = { hdr.r.a: exact; } actions = { a1; a2; NoAction; }
                    const entries = { 1 : a1(); 2 : a2(); } }
        """,
        ingress="""
          switch (t.apply().action_run) {
            a1: { hdr.r.b = 0x11; }
            a2: { hdr.r.b = 0x22; }
            default: { hdr.r.b = 0x33; }
          }
          switch (hdr.r.a) {
            4: { hdr.r.b = 0x44; }
            5:
            6: { hdr.r.b = 0x56; }
          }
        """,
    ))
    assert [run(sw, 0, eth() + bytes([a, 0]))[0][1][15] for a in (1, 2, 3, 4, 5, 6)] == [
        0x11, 0x22, 0x33, 0x44, 0x56, 0x56]


def test_ternary_and_lpm_const_entries_with_priorities() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; bit<8> b; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="""
          action set(bit<8> v) { hdr.r.b = v; }
          table t { key = { hdr.r.a: ternary; } actions = { set; }
                    const entries = { 0x10 &&& 0xF0 : set(1); 0x12 : set(2); _ : set(3); } }
        """,
        ingress="t.apply();",
    ))
    # earlier entries win when no priority is written
    assert [run(sw, 0, eth() + bytes([a, 0]))[0][1][15] for a in (0x12, 0x15, 0x20)] == [1, 1, 3]


# -- headers: stacks, unions, validity, varbit, struct initializers ---------------------------

STACK = """
header mpls_t { bit<20> label; bit<3> tc; bit<1> bos; bit<8> ttl; }
"""


def test_header_stack_parse_loop_push_pop_and_overflow() -> None:
    sw = build(v1switch(
        decls=STACK,
        headers="ethernet_t ethernet; mpls_t[3] mpls;",
        parser="""
          state start { pkt.extract(hdr.ethernet); transition parse_mpls; }
          state parse_mpls { pkt.extract(hdr.mpls.next);
            transition select(hdr.mpls.last.bos) { 0: parse_mpls; 1: accept; } }
        """,
        ingress="""
          if (standard_metadata.parser_error == error.StackOutOfBounds) {
            hdr.ethernet.etherType = 0x5555;
          } else if (hdr.mpls[1].isValid()) {
            hdr.mpls.pop_front(1);
          } else {
            hdr.mpls.push_front(1);
            hdr.mpls[0].setValid();
            hdr.mpls[0] = { 99, 0, 0, 64 };
          }
        """,
    ))

    def mpls(label: int, bos: int, ttl: int = 1) -> bytes:
        return ((label << 12) | (bos << 8) | ttl).to_bytes(4, "big")

    (_, d), = run(sw, 0, eth() + mpls(1, 0) + mpls(2, 1) + b"x")
    assert d == eth() + mpls(2, 1) + b"x"
    (_, d), = run(sw, 0, eth() + mpls(7, 1) + b"x")
    assert d == eth() + mpls(99, 0, 64) + mpls(7, 1) + b"x"
    four = mpls(1, 0) + mpls(2, 0) + mpls(3, 0) + mpls(4, 1)
    (_, d), = run(sw, 0, eth() + four)
    assert d == eth(etype=0x5555) + four


def test_header_union_and_invalid_header_assignment() -> None:
    sw = build(v1switch(
        decls="""
          header a_t { bit<8> x; } header b_t { bit<16> y; }
          header_union u_t { a_t a; b_t b; }
        """,
        headers="ethernet_t ethernet; u_t u;",
        parser="""
          state start { pkt.extract(hdr.ethernet);
            transition select(hdr.ethernet.etherType) { 1: pa; 2: pb; default: accept; } }
          state pa { pkt.extract(hdr.u.a); transition accept; }
          state pb { pkt.extract(hdr.u.b); transition accept; }
        """,
        ingress="""
          if (hdr.u.a.isValid()) { hdr.u.b.setValid(); hdr.u.b.y = 0xBEEF; }
          else if (hdr.u.b.isValid()) { hdr.u.b = (b_t){#}; }
        """,
    ))
    assert run(sw, 0, eth(etype=1) + b"\x07Z")[0][1] == eth(etype=1) + b"\xbe\xefZ"
    assert run(sw, 0, eth(etype=2) + b"\x07\x08Z")[0][1] == eth(etype=2) + b"Z"


def test_varbit_extract_and_emit() -> None:
    sw = build(v1switch(
        decls="header opt_t { bit<8> len; varbit<64> data; }",
        headers="ethernet_t ethernet; opt_t opt;",
        parser="""
          state start { pkt.extract(hdr.ethernet);
            pkt.extract(hdr.opt, (bit<32>)(pkt.lookahead<bit<8>>() * 8)); transition accept; }
        """,
        ingress="""
          if (standard_metadata.parser_error == error.HeaderTooShort) { hdr.ethernet.etherType = 9; }
          hdr.opt.len = hdr.opt.len + 1;
        """,
    ))
    # lookahead sees len=3 -> data is 3 bytes (the len byte is part of the fixed header)
    assert run(sw, 0, eth() + b"\x03abcZ")[0][1] == eth() + b"\x04abcZ"
    assert run(sw, 0, eth() + b"\x09abcdefghiZ")[0][1] == eth(etype=9) + b"\x09abcdefghiZ"


def test_lookahead_advance_verify() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<16> v; } error { BadValue }",
        headers="ethernet_t ethernet; r_t r;",
        parser="""
          state start { pkt.extract(hdr.ethernet);
            transition select(pkt.lookahead<bit<8>>()) { 0xFF: skip; default: parse_r; } }
          state skip { pkt.advance(8); transition parse_r; }
          state parse_r { pkt.extract(hdr.r); verify(hdr.r.v != 0, error.BadValue);
                          transition accept; }
        """,
        ingress="""
          if (standard_metadata.parser_error == error.BadValue) { hdr.ethernet.etherType = 0xBAD; }
        """,
    ))
    assert run(sw, 0, eth() + b"\xff\x12\x34")[0][1] == eth() + b"\x12\x34"
    assert run(sw, 0, eth() + b"\x12\x34")[0][1] == eth() + b"\x12\x34"
    assert run(sw, 0, eth() + b"\x00\x00!")[0][1] == eth(etype=0xBAD) + b"\x00\x00!"


def test_enums_errors_structs_tuples_and_initializers() -> None:
    sw = build(v1switch(
        decls="""
          enum Color { RED, GREEN, BLUE }
          enum bit<8> Kind { A = 10, B = 20 }
          header r_t { bit<8> k; bit<8> out1; bit<8> out2; bit<8> out3; }
          struct pair_t { bit<8> x; bit<8> y; }
        """,
        headers="ethernet_t ethernet; r_t r;",
        meta="Color c; pair_t p;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress="""
          meta.c = Color.GREEN;
          meta.p = { x = 3, y = 4 };
          pair_t q = meta.p;
          q.x = 9;
          tuple<bit<8>, bit<8>> tu = { 5, 6 };
          if (meta.c == Color.GREEN && (Kind)hdr.r.k == Kind.B) { hdr.r.out1 = (bit<8>)Kind.A; }
          hdr.r.out2 = meta.p.x + q.x + tu[1];
          if (meta.p == { 8w3, 8w4 }) { hdr.r.out3 = 1; }
        """,
    ))
    (_, d), = run(sw, 0, eth() + bytes([20, 0, 0, 0]))
    assert list(d[14:]) == [20, 10, 3 + 9 + 6, 1]


# -- evaluation order, copy-in/copy-out, exit --------------------------------------------------

SIDE = """
header r_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; }
bit<8> bump(inout bit<8> x) { x = x + 1; return x; }
bool yes(inout bit<8> x) { x = x + 1; return true; }
"""


def test_short_circuit_ternary_and_left_to_right_order_with_side_effects() -> None:
    sw = build(v1switch(
        decls=SIDE,
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress="""
          bool x = hdr.r.a == 0 || yes(hdr.r.b);      // short-circuits: b unchanged
          bool y = hdr.r.a == 1 && yes(hdr.r.c);      // short-circuits: c unchanged
          hdr.r.d = hdr.r.d == bump(hdr.r.d) ? 8w0x11 : 8w0x22;  // left read before the call
          hdr.r.a = x && !y ? hdr.r.a : bump(hdr.r.a);
        """,
    ))
    (_, d), = run(sw, 0, eth() + bytes([0, 5, 6, 7]))
    assert list(d[14:]) == [0, 5, 6, 0x22]


def test_exit_in_an_action_still_copies_out_inout_arguments() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; bit<8> b; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="""
          action set_and_exit(inout bit<8> v) { v = 0x42; exit; }
          table t { key = { hdr.r.a: exact; } actions = { set_and_exit(hdr.r.b); NoAction; } }
        """,
        ingress="""
          if (hdr.r.a == 0) { set_and_exit(hdr.r.a); }
          t.apply();
          hdr.r.b = 0xEE;
        """,
    ))
    sw.add_entry("I.t", [Exact(1)], "I.set_and_exit")
    assert list(run(sw, 0, eth() + bytes([0, 0]))[0][1][14:]) == [0x42, 0]
    assert list(run(sw, 0, eth() + bytes([1, 0]))[0][1][14:]) == [1, 0x42]
    assert list(run(sw, 0, eth() + bytes([2, 0]))[0][1][14:]) == [2, 0xEE]


def test_copy_in_copy_out_of_struct_arguments_the_action_also_writes_directly() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="""
          action touch(inout headers h) { hdr.r.a = 2; }   // the copy-out of h undoes it
        """,
        ingress="touch(hdr);",
    ))
    assert run(sw, 0, eth() + b"\x07")[0][1][14] == 7


def test_stack_of_unions_and_out_of_range_index() -> None:
    sw = build(v1switch(
        decls="""
          header o1_t { bit<8> d; } header o2_t { bit<16> d; }
          header_union u_t { o1_t byte; o2_t short; }
          header i_t { bit<8> idx; }
        """,
        headers="ethernet_t ethernet; i_t i; u_t[2] u;",
        parser="""
          state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.i);
            pkt.extract(hdr.u.next.byte); pkt.extract(hdr.u.next.short); transition accept; }
        """,
        ingress="hdr.u[hdr.i.idx].byte.d = 0x99;",  # index 5 is out of range: no effect
    ))
    body = b"\x05" + b"\x01" + b"\x02\x03"
    assert run(sw, 0, eth() + body + b"!")[0][1] == eth() + body + b"!"
    body = b"\x00" + b"\x01" + b"\x02\x03"
    assert run(sw, 0, eth() + body)[0][1] == eth() + b"\x00\x99\x02\x03"


def test_parser_value_set() -> None:
    sw = build(v1switch(
        decls="header r_t { bit<8> a; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="""
          value_set<bit<16>>(4) special;
          state start { pkt.extract(hdr.ethernet);
            transition select(hdr.ethernet.etherType) { special: parse_r; default: accept; } }
          state parse_r { pkt.extract(hdr.r); hdr.r.a = 0xAA; transition accept; }
        """,
    ))
    assert run(sw, 0, eth(etype=0x9999) + b"\x00")[0][1][14] == 0
    sw.value_sets["P.special"].add(0x9999)
    assert run(sw, 0, eth(etype=0x9999) + b"\x00")[0][1][14] == 0xAA
    vs = sw.value_sets["P.special"]
    vs.set_members([(0x8888, None), (0x7700, 0xFF00)])  # replaces 0x9999
    assert run(sw, 0, eth(etype=0x9999) + b"\x00")[0][1][14] == 0
    assert run(sw, 0, eth(etype=0x8888) + b"\x00")[0][1][14] == 0xAA
    assert run(sw, 0, eth(etype=0x77AB) + b"\x00")[0][1][14] == 0xAA
    with pytest.raises(ValueError, match="exceed its size 4"):
        vs.set_members([(i, None) for i in range(5)])
    assert vs.members == [(0x8888, None), (0x7700, 0xFF00)]  # unchanged


def test_device_config_bytes_load_and_random_is_seeded() -> None:
    text = PRELUDE + v1switch(
        decls="header r_t { bit<16> v; }",
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress="random(hdr.r.v, 16w100, 16w200);",
    )
    result = compile_text(text, "rand.p4")
    a = Switch.from_program(result.device_config_bytes(), seed=7)
    b = Switch.from_program(result, seed=7)
    va = [run(a, 0, eth() + b"\x00\x00")[0][1][14:16] for _ in range(5)]
    vb = [run(b, 0, eth() + b"\x00\x00")[0][1][14:16] for _ in range(5)]
    assert va == vb
    assert all(100 <= int.from_bytes(v, "big") <= 200 for v in va)


def test_two_instances_of_a_control_have_their_own_tables_and_state() -> None:
    sw = build(v1switch(
        decls="""
          header r_t { bit<8> a; bit<8> b; }
          control Inc(inout bit<8> x)(bit<8> step) {
            bit<8> seen = 0;
            action add(bit<8> k) { x = x + k + step; seen = seen + 1; }
            table t { key = { x: exact; } actions = { add; NoAction; } default_action = NoAction(); }
            apply { t.apply(); if (seen == 0) { x = x + step; } }
          }
        """,
        headers="ethernet_t ethernet; r_t r;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.r); transition accept; }",
        ingress_locals="Inc(1) c1; Inc(100) c2;",
        ingress="c1.apply(hdr.r.a); c2.apply(hdr.r.b);",
    ))
    assert set(sw.tables) == {"I.c1.t", "I.c2.t"}
    sw.add_entry("I.c1.t", [Exact(5)], "I.c1.add", [10])
    sw.add_entry("I.c2.t", [Exact(5)], "I.c2.add", [20])
    assert list(run(sw, 0, eth() + bytes([5, 5]))[0][1][14:]) == [16, 125]
    assert list(run(sw, 0, eth() + bytes([1, 1]))[0][1][14:]) == [2, 101]


def test_core_error_codes_are_fixed_even_when_the_program_declares_errors_first() -> None:
    text = "error { Mine }\n" + PRELUDE + v1switch(
        parser="""state start { pkt.extract(hdr.ethernet);
                    verify(hdr.ethernet.etherType != 7, error.Mine); transition accept; }""",
        ingress="""
          if (standard_metadata.parser_error == error.NoError) {
            standard_metadata.egress_spec = 1;
          } else if (standard_metadata.parser_error == error.PacketTooShort) {
            standard_metadata.egress_spec = 2;
          } else if (standard_metadata.parser_error == error.Mine) {
            standard_metadata.egress_spec = 3;
          }
        """,
    )
    sw = Switch.from_program(compile_text(text, "errs.p4", p4info=False))
    assert [p for p, _ in run(sw, 0, eth())] == [1]
    assert [p for p, _ in run(sw, 0, b"short")] == [2]
    assert [p for p, _ in run(sw, 0, eth(etype=7))] == [3]


def test_sub_parser_and_nested_control_exit_copy_out() -> None:
    sw = build(v1switch(
        decls="""
          header r_t { bit<8> a; bit<8> b; }
          parser Sub(packet_in p, out r_t r) {
            state start { p.extract(r); transition accept; }
          }
          control Setter(inout bit<8> v) {
            apply { v = 0x5E; if (v == 0x5E) { exit; } v = 1; }
          }
        """,
        headers="ethernet_t ethernet; r_t r;",
        parser="""
          Sub() sub;
          state start { pkt.extract(hdr.ethernet); sub.apply(pkt, hdr.r); transition accept; }
        """,
        ingress_locals="Setter() setter;",
        ingress="setter.apply(hdr.r.b); hdr.r.a = 0xFF;",
    ))
    assert list(run(sw, 0, eth() + b"\x01\x02")[0][1][14:]) == [1, 0x5E]


# -- header codecs ---------------------------------------------------------------------------


def test_odd_header_layouts_parse_and_deparse_bit_exact() -> None:
    import random

    # fields that straddle bytes, a bool, signed fields, 48- and 128-bit fields, a chunk of
    # 3 bytes made of several fields: every shape the struct-based codec splits and joins
    sw = build(v1switch(
        decls="""
          header odd_t { bit<1> a; int<7> b; bool c; bit<3> d; bit<20> e; bit<48> f;
                         bit<128> g; int<16> h; bit<4> i; bit<4> j; bit<24> k; }
        """,
        headers="ethernet_t ethernet; odd_t odd;",
        parser="state start { pkt.extract(hdr.ethernet); pkt.extract(hdr.odd); "
               "transition accept; }",
        ingress="""
          standard_metadata.egress_spec = 1;
          hdr.odd.b = hdr.odd.b + 1;
          hdr.odd.c = !hdr.odd.c;
          hdr.odd.h = hdr.odd.h - 1;
          hdr.odd.e = hdr.odd.e + 1;
          hdr.odd.f = hdr.odd.f + 1;
        """,
    ))
    rng = random.Random(5)
    layout = [1, 7, 1, 3, 20, 48, 128, 16, 4, 4, 24]
    for _ in range(50):
        vals = [rng.getrandbits(w) for w in layout]
        packed = 0
        for v, w in zip(vals, layout):
            packed = (packed << w) | v
        body = packed.to_bytes(sum(layout) // 8, "big")
        (_, out), = run(sw, 0, eth() + body + b"tail")
        want = list(vals)
        want[1] = (vals[1] + 1) & 0x7F
        want[2] = vals[2] ^ 1
        want[7] = (vals[7] - 1) & 0xFFFF
        want[4] = (vals[4] + 1) & 0xFFFFF
        want[5] = (vals[5] + 1) & 0xFFFFFFFFFFFF
        packed = 0
        for v, w in zip(want, layout):
            packed = (packed << w) | v
        assert out == eth() + packed.to_bytes(sum(layout) // 8, "big") + b"tail"
